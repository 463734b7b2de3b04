"""Task 2: rules alone on the held-out layouts, the assembled Extraction, and bad input."""

from __future__ import annotations

import itertools
import time
from types import ModuleType

import pytest
from challenge_09_document_entity_extraction.generator import make_document
from challenge_09_document_entity_extraction.records import Document, Extraction, LineItem
from challenge_09_document_entity_extraction.solution import evaluate

# What the rules reach on clean held-out layouts: key-value patterns carry over to layouts
# they were not written for; a drop below this is a broken rule, not a hard document.
RULES_CLEAN_MICRO_F1 = 0.95


@pytest.mark.task(2)
def test_rules_on_one_document(impl: ModuleType) -> None:
    doc = make_document(7, layout="key_value", locale="de_DE", noise=0)
    found = impl.rule_spans(doc.text)
    assert found == sorted(found), "spans sorted by start"
    assert all(a.end <= b.start for a, b in itertools.pairwise(found)), "no overlaps"
    missing = [(s.label, doc.text[s.start : s.end]) for s in doc.spans if s not in found]
    assert not missing, f"gold spans the rules missed on a training layout: {missing}"


@pytest.mark.task(2)
def test_rules_on_heldout_layouts(impl: ModuleType, heldout_clean: list[Document]) -> None:
    predicted = [impl.rule_spans(d.text) for d in heldout_clean]
    result = evaluate(predicted, [list(d.spans) for d in heldout_clean])
    weak = {k: round(v.f1, 3) for k, v in result.exact.items() if v.f1 < RULES_CLEAN_MICRO_F1}
    assert result.micro_exact.f1 >= RULES_CLEAN_MICRO_F1, (
        f"rules' micro-F1 {result.micro_exact.f1:.3f} on clean held-out layouts; weak: {weak}"
    )


@pytest.mark.task(2)
def test_extract_normalises_the_fields(impl: ModuleType, heldout_clean: list[Document]) -> None:
    right = total = 0
    wrong: list[str] = []
    for doc in heldout_clean[:12]:
        got = impl.extract(doc.text)
        assert isinstance(got, Extraction)
        assert got.text == doc.text
        for key, value in doc.values.items():
            total += 1
            if got.values.get(key) == value:
                right += 1
            elif len(wrong) < 5:
                wrong.append(f"{doc.id} {key}: {got.values.get(key)!r} != {value!r}")
    assert right / total >= 0.97, f"{right}/{total} normalised values right; e.g. {wrong}"


@pytest.mark.task(2)
def test_extract_groups_line_items_and_contacts(impl: ModuleType) -> None:
    doc = make_document(3, layout="pipe_table", locale="en_US", noise=0)
    got = impl.extract(doc.text)
    gold_items = [s for s in doc.spans if s.label.startswith("ITEM_")]
    assert len(got.line_items) == len(gold_items) // 4
    for item in got.line_items:
        assert isinstance(item, LineItem)
        assert None not in (item.description, item.quantity, item.unit_price, item.total)
    assert got.emails
    assert all(e == e.lower() and "@" in e for e in got.emails)
    assert got.phones
    assert all(p.startswith("+") and p[1:].isdigit() for p in got.phones)
    assert got.values["ISSUE_DATE"] == doc.values["ISSUE_DATE"], "US documents: month first"


@pytest.mark.task(2)
def test_extract_bad_input(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="decode"):
        impl.extract(b"INVOICE INV-2026-0001")
    with pytest.raises(TypeError, match="text"):
        impl.extract(None)
    with pytest.raises(ValueError, match=r"NUL|binary"):
        impl.extract("INVOICE\x00\x01\x02")
    big = "Total: 1,234.50\n" * 700_000  # 11 MB: refused before any regex runs
    start = time.perf_counter()
    with pytest.raises(ValueError, match="characters"):
        impl.extract(big)
    assert time.perf_counter() - start < 5.0, "a 10 MB document must be refused at once"
    for empty in ("", "   \n\t "):
        assert impl.extract(empty).spans == []


@pytest.mark.task(2)
def test_extract_unknown_layout_finds_little(impl: ModuleType) -> None:
    prose = (
        "Minutes of the meeting. The committee discussed the roadmap for next quarter and "
        "agreed to revisit the hiring plan after the offsite. Nobody objected.\n"
    )
    got = impl.extract(prose * 3)
    assert got.spans == []
    assert got.values == {}
    assert got.line_items == []

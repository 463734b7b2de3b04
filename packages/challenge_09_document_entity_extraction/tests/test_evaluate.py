"""Task 4: span-level scores per label, micro and macro; nervaluate is the oracle."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest
from challenge_09_document_entity_extraction.records import Scores, Span
from hypothesis import given
from hypothesis import strategies as st
from nervaluate import Evaluator  # type: ignore[import-untyped]

LABELS = ["TOTAL", "TAX", "SELLER"]


def _nervaluate(predicted: list[list[Span]], gold: list[list[Span]]) -> dict[str, Any]:
    """nervaluate's results; it closes spans inclusively, ours are half-open."""

    def dicts(docs: list[list[Span]]) -> list[list[dict[str, Any]]]:
        return [[{"label": s.label, "start": s.start, "end": s.end - 1} for s in d] for d in docs]

    evaluator = Evaluator(dicts(gold), dicts(predicted), tags=LABELS, loader="dict")
    return evaluator.evaluate()["entities"]  # type: ignore[no-any-return]


def _same(ours: Scores, theirs: Any, what: str) -> None:
    assert (ours.correct, ours.predicted, ours.gold) == (
        theirs.correct,
        theirs.actual,
        theirs.possible,
    ), f"{what}: (correct, predicted, gold) differ from nervaluate's (correct, actual, possible)"
    for name in ("precision", "recall", "f1"):
        assert math.isclose(getattr(ours, name), getattr(theirs, name), abs_tol=1e-12), (
            f"{what}: {name} {getattr(ours, name)} != nervaluate's {getattr(theirs, name)}"
        )


@pytest.mark.task(4)
def test_worked_example(impl: ModuleType) -> None:
    gold = [[Span(0, 5, "TOTAL"), Span(10, 14, "TAX")], [Span(0, 3, "TOTAL")]]
    predicted = [[Span(0, 5, "TOTAL"), Span(10, 12, "TAX"), Span(20, 25, "TAX")], []]
    result = impl.evaluate(predicted, gold)
    # TOTAL: 1 of 1 predicted right, 1 of 2 gold found.
    total = result.exact["TOTAL"]
    assert (total.correct, total.predicted, total.gold) == (1, 1, 2)
    assert (total.precision, total.recall) == (1.0, 0.5), "precision = correct / predicted"
    assert math.isclose(total.f1, 2 / 3)
    # TAX: the short span is wrong in exact mode, right in partial mode.
    assert (result.exact["TAX"].correct, result.partial["TAX"].correct) == (0, 1)
    assert (result.exact["TAX"].precision, result.partial["TAX"].precision) == (0.0, 0.5)
    # micro: 1 of 3 predictions exact, 1 of 3 gold; macro: mean of TOTAL's 2/3 and TAX's 0.
    assert (result.micro_exact.correct, result.micro_exact.predicted) == (1, 3)
    assert result.micro_exact.gold == 3
    assert math.isclose(result.micro_exact.f1, 1 / 3)
    assert math.isclose(result.macro_exact_f1, (2 / 3 + 0.0) / 2)
    assert math.isclose(result.micro_partial.f1, 2 / 3)


@pytest.mark.task(4)
def test_an_overlapping_miss_uses_up_the_gold_span(impl: ModuleType) -> None:
    """nervaluate's strict scheme: the first prediction overlaps the gold span and takes it."""
    gold = [[Span(0, 10, "TOTAL")]]
    predicted = [[Span(0, 4, "TOTAL"), Span(0, 10, "TOTAL")]]
    assert impl.evaluate(predicted, gold).exact["TOTAL"].correct == 0
    assert impl.evaluate(predicted, gold).partial["TOTAL"].correct == 1


@pytest.mark.task(4)
def test_empty_and_perfect(impl: ModuleType) -> None:
    empty = impl.evaluate([[], []], [[], []])
    assert empty.exact == {}
    assert empty.micro_exact.f1 == 0.0
    assert empty.macro_exact_f1 == 0.0
    gold = [[Span(0, 3, "TAX"), Span(4, 9, "TOTAL")]]
    perfect = impl.evaluate(gold, gold)
    assert perfect.micro_exact.f1 == 1.0
    assert perfect.macro_partial_f1 == 1.0
    nothing = impl.evaluate([[]], gold)
    assert nothing.exact["TAX"] == Scores(0, 0, 1, 0.0, 0.0, 0.0)


_span = st.builds(
    lambda start, length, label: Span(start, start + length, label),
    st.integers(0, 40),
    st.integers(1, 8),
    st.sampled_from(LABELS),
)
_docs = st.lists(st.lists(_span, max_size=6), min_size=1, max_size=4)


@pytest.mark.task(4)
@given(_docs, st.data())
def test_equals_nervaluate_per_label_and_micro(
    impl: ModuleType, gold: list[list[Span]], data: st.DataObject
) -> None:
    # predictions: some gold spans kept, some moved, some invented, in any order
    predicted = []
    for doc in gold:
        kept = [s for s in doc if data.draw(st.booleans())]
        moved = [Span(s.start, s.end + 1, s.label) for s in doc if data.draw(st.booleans())]
        invented = data.draw(st.lists(_span, max_size=3))
        predicted.append(data.draw(st.permutations(kept + moved + invented)))
    ours = impl.evaluate(predicted, gold)
    theirs = _nervaluate(predicted, gold)
    assert set(ours.exact) == set(ours.partial) == set(theirs), "labels present in either side"
    for label, modes in theirs.items():
        _same(ours.exact[label], modes["strict"], f"exact {label}")
        _same(ours.partial[label], modes["ent_type"], f"partial {label}")
    for mine, scheme in ((ours.micro_exact, "strict"), (ours.micro_partial, "ent_type")):
        summed = [sum(getattr(m[scheme], k) for m in theirs.values()) for k in
                  ("correct", "actual", "possible")]  # fmt: skip
        assert [mine.correct, mine.predicted, mine.gold] == summed, f"micro {scheme} counts"
        p = summed[0] / summed[1] if summed[1] else 0.0
        assert math.isclose(mine.precision, p), f"micro {scheme} precision"
    f1s = [m["strict"].f1 for m in theirs.values()]
    assert math.isclose(ours.macro_exact_f1, sum(f1s) / len(f1s) if f1s else 0.0)


@pytest.mark.task(4)
def test_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="length"):
        impl.evaluate([[]], [[], []])
    with pytest.raises(TypeError, match="predicted"):
        impl.evaluate([["TOTAL"]], [[]])
    with pytest.raises(ValueError, match="gold"):
        impl.evaluate([[]], [[Span(5, 5, "TOTAL")]])

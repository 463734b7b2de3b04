"""Task 3 (decoding): BIO tags to spans, checked against nervaluate's BIO reader."""

from __future__ import annotations

from types import ModuleType

import pytest
from challenge_09_document_entity_extraction.records import Span, Token, tokenize
from hypothesis import given
from hypothesis import strategies as st
from nervaluate.loaders import ListLoader  # type: ignore[import-untyped]

TAGS = ["O", "B-TOTAL", "I-TOTAL", "B-TAX", "I-TAX"]


def _tokens(n: int) -> list[Token]:
    """Token k spans characters [3k, 3k + 2), as in the text "ab ab ab ..."."""
    tokens = tokenize(" ".join(["ab"] * n))
    assert tokens == [Token(3 * k, 3 * k + 2) for k in range(n)]
    return tokens


@pytest.mark.task(3)
def test_adjacent_entities_of_one_type_stay_apart(impl: ModuleType) -> None:
    tokens = _tokens(4)
    spans = impl.decode_bio(tokens, ["B-TAX", "B-TAX", "I-TAX", "O"])
    assert spans == [Span(0, 2, "TAX"), Span(3, 8, "TAX")], (
        "B-X right after an X entity starts a second entity; do not merge them (README task 3)"
    )


@pytest.mark.task(3)
def test_i_tag_after_o_or_another_type_opens_an_entity(impl: ModuleType) -> None:
    tokens = _tokens(4)
    assert impl.decode_bio(tokens, ["O", "I-TAX", "I-TOTAL", "I-TOTAL"]) == [
        Span(3, 5, "TAX"),
        Span(6, 11, "TOTAL"),
    ]


@pytest.mark.task(3)
@given(st.lists(st.sampled_from(TAGS), min_size=1, max_size=30))
def test_decode_bio_equals_nervaluate_bio_reader(impl: ModuleType, tags: list[str]) -> None:
    tokens = _tokens(len(tags))
    (reference,) = ListLoader().load([tags])
    # nervaluate counts tokens and closes spans inclusively: token k is [3k, 3k + 2) here.
    expected = [Span(3 * e.start, 3 * e.end + 2, e.label) for e in reference]
    assert impl.decode_bio(tokens, tags) == expected, f"tags {tags}"


@pytest.mark.task(3)
def test_decode_bio_rejects_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="length"):
        impl.decode_bio(_tokens(2), ["O"])
    with pytest.raises(ValueError, match="tags"):
        impl.decode_bio(_tokens(1), ["TOTAL"])
    assert impl.decode_bio([], []) == []

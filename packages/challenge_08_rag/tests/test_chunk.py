"""Task 1: chunking keeps sentences and code blocks whole, overlaps, and records offsets."""

from __future__ import annotations

import itertools
import re
from types import ModuleType
from typing import Any

import pytest
from challenge_08_rag.minilm import wordpiece
from challenge_08_rag.records import Document
from challenge_08_rag.words import units
from hypothesis import given, settings
from hypothesis import strategies as st

TEXT = (
    "Applies softmax. It rescales the input so the elements lie in [0, 1] and sum to 1.\n\n"
    "Example::\n\n"
    "    >>> m = nn.Softmax(dim=1)\n"
    "    >>> output = m(torch.randn(2, 3))\n\n"
    "Use log_softmax for losses. It is faster and more stable."
)


def _check_invariants(
    text: str, chunks: list[Any], max_tokens: int, overlap: int, task: int = 1
) -> None:
    """Offsets, budget, coverage, order and overlap, for any input."""
    covered = [False] * len(text)
    for c in chunks:
        assert c.text == text[c.start : c.end], (
            f"chunk text != text[start:end] for {c}; revisit README task {task}"
        )
        assert len(c.text.split()) <= max_tokens or len(c.text.split()) == 1, (
            f"chunk of {len(c.text.split())} tokens exceeds max_tokens={max_tokens}"
        )
        for i in range(c.start, c.end):
            covered[i] = True
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"characters {missing[:5]} belong to no chunk"
    for prev, nxt in itertools.pairwise(chunks):
        assert prev.start < nxt.start, "chunks must start in increasing order"
        shared = text[nxt.start : prev.end] if nxt.start < prev.end else ""
        assert len(shared.split()) <= overlap, (
            f"consecutive chunks share {len(shared.split())} tokens > overlap={overlap}"
        )


@pytest.mark.task(1)
def test_worked_example(impl: ModuleType) -> None:
    chunks = impl.chunk(TEXT, max_tokens=20, overlap=6, tokenizer=str.split, source="doc")
    spans = [TEXT[lo:hi] for lo, hi in units(TEXT)]
    # units: 2 sentences (2 + 15 words), "Example::" (1), the doctest block (9), 2 sentences
    assert [len(s.split()) for s in spans] == [2, 15, 1, 9, 4, 6]
    # 2 + 15 + 1 = 18 fit in 20, the block would make 27; "Example::" (1 <= 6) is carried
    # over, and 1 + 9 + 4 + 6 = 20 fills the second chunk exactly.
    assert [c.text for c in chunks] == [
        TEXT[: TEXT.index("Example::") + len("Example::")],
        TEXT[TEXT.index("Example::") :],
    ]
    assert all(c.source == "doc" for c in chunks)
    _check_invariants(TEXT, chunks, 20, 6)


@pytest.mark.task(1)
def test_code_block_is_never_split_when_it_fits(impl: ModuleType) -> None:
    code = "```python\nx = torch.ones(3)\ny = x.softmax(0)\nprint(y)\n```"
    text = f"First sentence here. {code} Last sentence here."
    for max_tokens in (9, 10, 12):
        chunks = impl.chunk(text, max_tokens=max_tokens, overlap=2, tokenizer=str.split)
        assert any(code in c.text for c in chunks), f"max_tokens={max_tokens} split the code block"


@pytest.mark.task(1)
def test_long_sentence_is_cut_at_whitespace(impl: ModuleType) -> None:
    text = " ".join(f"w{i}" for i in range(25)) + "."
    chunks = impl.chunk(text, max_tokens=10, overlap=0, tokenizer=str.split)
    assert [len(c.text.split()) for c in chunks] == [10, 10, 5]
    _check_invariants(text, chunks, 10, 0)


@pytest.mark.task(1)
def test_overlap_carries_whole_sentences(impl: ModuleType) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(8))  # 5 words each
    chunks = impl.chunk(text, max_tokens=15, overlap=5, tokenizer=str.split)
    assert len(chunks) == 4
    for prev, nxt in itertools.pairwise(chunks):
        last = prev.text.split(". ")[-1].rstrip(".")
        assert nxt.text.startswith(last), "the last sentence of a chunk opens the next one"
    no_overlap = impl.chunk(text, max_tokens=15, overlap=0, tokenizer=str.split)
    assert all(a.end < b.start for a, b in itertools.pairwise(no_overlap))


@pytest.mark.task(1)
def test_empty_and_blank_text_give_no_chunks(impl: ModuleType) -> None:
    assert impl.chunk("", max_tokens=5, overlap=0, tokenizer=str.split) == []
    assert impl.chunk(" \n\t ", max_tokens=5, overlap=0, tokenizer=str.split) == []


@pytest.mark.task(1)
def test_real_docstrings_with_wordpiece(impl: ModuleType, functional_docs: list[Document]) -> None:
    tokenize = wordpiece().tokenize
    for doc in functional_docs[:15]:
        chunks = impl.chunk(doc.text, max_tokens=64, overlap=8, tokenizer=tokenize, source=doc.id)
        assert chunks, doc.id
        for c in chunks:
            assert c.text == doc.text[c.start : c.end]
            assert c.source == doc.id
            assert len(tokenize(c.text)) <= 64 or len(c.text.split()) == 1


_sentence = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "x=1", "torch.nn"]), min_size=1, max_size=9
).map(lambda ws: " ".join(ws) + ".")
_block = st.lists(st.sampled_from(["a = 1", "b = a + 2", "print(b)"]), min_size=1, max_size=3).map(
    lambda lines: "```\n" + "\n".join(lines) + "\n```"
)


@pytest.mark.task(1)
@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(st.one_of(_sentence, _sentence, _block), min_size=1, max_size=12),
    seps=st.sampled_from([" ", "\n", "\n\n", "  \n"]),
    max_tokens=st.integers(1, 16),
    data=st.data(),
)
def test_invariants_hold_for_any_text(
    impl: ModuleType, parts: list[str], seps: str, max_tokens: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, max_tokens - 1))
    text = seps.join(parts)
    chunks = impl.chunk(text, max_tokens=max_tokens, overlap=overlap, tokenizer=str.split)
    _check_invariants(text, chunks, max_tokens, overlap)
    for block in re.findall(r"```[\s\S]*?```", text):
        if len(block.split()) <= max_tokens:
            assert any(block in c.text for c in chunks), f"code block {block!r} was split"


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"max_tokens": 0, "overlap": 0}, ValueError, "max_tokens"),
        ({"max_tokens": 5, "overlap": 5}, ValueError, "overlap"),
        ({"max_tokens": 5, "overlap": -1}, ValueError, "overlap"),
        ({"max_tokens": 5, "overlap": 0, "tokenizer": "split"}, TypeError, "tokenizer"),
    ],
)
def test_bad_arguments(
    impl: ModuleType, kwargs: dict[str, object], error: type[Exception], name: str
) -> None:
    args = {"tokenizer": str.split, **kwargs}
    with pytest.raises(error, match=name):
        impl.chunk("Some text.", **args)
    with pytest.raises(TypeError, match="text"):
        impl.chunk(b"bytes", max_tokens=5, overlap=0, tokenizer=str.split)

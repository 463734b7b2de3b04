"""Task 5: cited, deduplicated prompts within a budget; extractive answers that abstain."""

from __future__ import annotations

from types import ModuleType

import pytest
from challenge_08_rag.records import Chunk

HEADER = (
    "Answer the question using only the numbered sources below and cite them as [n]. "
    "If the sources do not contain the answer, say that you do not know."
)
SDPA = "torch.nn.functional.scaled_dot_product_attention"
TRIU = "torch.triu"
CHUNKS = [
    Chunk(SDPA, 0, 61, "Computes attention; is_causal=True masks future positions."),
    Chunk(TRIU, 0, 57, "Returns the upper triangular part of a matrix, zeroing below."),
    Chunk(SDPA, 0, 61, "Computes attention; is_causal=True masks future positions."),  # repeat
    Chunk(SDPA, 10, 30, "attention; is_causal"),  # inside the first chunk's span
    Chunk(SDPA, 200, 260, "The attn_mask argument adds a boolean or float mask to scores."),
]


@pytest.mark.task(5)
def test_layout_numbering_and_deduplication(impl: ModuleType) -> None:
    prompt = impl.build_prompt(
        "  how do I hide future tokens? ", CHUNKS, budget_tokens=1000, tokenizer=str.split
    )
    assert prompt.text == "\n\n".join([
        HEADER,
        f"[1] {SDPA}\n{CHUNKS[0].text}",
        f"[2] {TRIU}\n{CHUNKS[1].text}",
        f"[1] {SDPA}\n{CHUNKS[4].text}",
        "Question: how do I hide future tokens?\nAnswer:",
    ])  # fmt: skip
    assert prompt.sources == (SDPA, TRIU)
    assert prompt.chunks == (CHUNKS[0], CHUNKS[1], CHUNKS[4])
    assert prompt.tokens == len(prompt.text.split())


@pytest.mark.task(5)
@pytest.mark.parametrize("budget", [40, 50, 60, 70, 80])
def test_budget_is_respected_and_chunks_keep_rank_order(impl: ModuleType, budget: int) -> None:
    prompt = impl.build_prompt("q?", CHUNKS, budget_tokens=budget, tokenizer=str.split)
    assert prompt.tokens == len(prompt.text.split()) <= budget
    positions = [CHUNKS.index(c) for c in prompt.chunks]
    assert positions == sorted(positions)


@pytest.mark.task(5)
def test_a_chunk_too_big_is_skipped_not_the_rest(impl: ModuleType) -> None:
    big = Chunk("big", 0, 400, " ".join(["word"] * 200))
    prompt = impl.build_prompt("q?", [big, CHUNKS[1]], budget_tokens=60, tokenizer=str.split)
    assert prompt.chunks == (CHUNKS[1],)
    assert prompt.sources == (TRIU,)


@pytest.mark.task(5)
def test_prompt_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="question"):
        impl.build_prompt("   ", CHUNKS, budget_tokens=100, tokenizer=str.split)
    with pytest.raises(ValueError, match="budget_tokens"):
        impl.build_prompt("q?", CHUNKS, budget_tokens=5, tokenizer=str.split)


@pytest.mark.task(5)
def test_generator_hook_gets_the_prompt_and_citations_are_checked(impl: ModuleType) -> None:
    seen: list[str] = []

    def generator(prompt: str) -> str:
        seen.append(prompt)
        return "Pass is_causal=True [1]; or build a mask with triu [2]. See also [7]."

    result = impl.answer("how do I hide future tokens?", CHUNKS, embedder=None, generator=generator)
    assert seen == [result.prompt.text]
    assert [(c.number, c.source) for c in result.citations] == [
        (1, SDPA),
        (2, TRIU),
    ]  # [7] is no source
    assert not result.abstained


@pytest.fixture(scope="module")
def embedder(impl: ModuleType) -> object:
    return impl.Embedder()


@pytest.mark.task(5)
def test_extractive_answer_cites_the_supporting_sentence(
    impl: ModuleType, embedder: object
) -> None:
    chunks = [
        Chunk(
            TRIU,
            0,
            80,
            "Returns the upper triangular part of a matrix. The other elements are set to 0.",
        ),
        Chunk(
            SDPA,
            0,
            90,
            "Computes scaled dot product attention. Setting is_causal=True masks out future positions.",
        ),
    ]
    result = impl.answer(
        "how do I mask out future positions in attention?",
        chunks,
        embedder=embedder,
        max_sentences=1,
    )
    assert result.text == "Setting is_causal=True masks out future positions. [2]"
    assert [(c.number, c.source) for c in result.citations] == [(2, SDPA)]
    assert "[2]" in result.render()
    assert SDPA in result.render()


@pytest.mark.task(5)
def test_abstains_when_nothing_supports_an_answer(impl: ModuleType, embedder: object) -> None:
    chunks = [Chunk(TRIU, 0, 48, "Returns the upper triangular part of a matrix.")]
    result = impl.answer("what is the capital of France?", chunks, embedder=embedder, min_score=0.5)
    assert result.abstained
    assert result.citations == ()
    assert result.text == "The retrieved documentation does not answer this question."
    with pytest.raises(ValueError, match="max_sentences"):
        impl.answer("q?", chunks, embedder=embedder, max_sentences=0)

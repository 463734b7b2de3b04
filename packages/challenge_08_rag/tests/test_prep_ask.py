"""Task 5 end to end: `prep ask` answers from a small corpus (a few real PyTorch docstrings and
a project README) with hybrid retrieval, MMR and a cited extractive answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from challenge_08_rag import ask
from challenge_08_rag.records import Document

from prep import cli
from prep import impl as impl_switch

PAGES = ("scaled_dot_product_attention", "softmax", "dropout", "cross_entropy")
README = """# infer-prep

Coding challenges for inference interviews.

## Benchmarks

`prep bench` times every implementation of a challenge beside the library it imitates and
prints a table with the median time, the spread over repeats and the ratio to the baseline.
"""


@pytest.fixture(scope="module")
def small_corpus(
    functional_docs: list[Document], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A repository with one README, and four torch.nn.functional pages as the PyTorch docs;
    embeddings are cached in a fresh folder. Built once for the module's tests."""
    pages = [d for d in functional_docs if d.id in {f"torch.nn.functional.{p}" for p in PAGES}]
    assert len(pages) == len(PAGES)
    root = tmp_path_factory.mktemp("repository")
    (root / "README.md").write_text(README, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREP_CACHE_DIR", str(root / "cache"))
        patch.setattr(ask, "torch_documents", lambda: pages)
        patch.setattr(ask, "repo_root", lambda: root)
        ask.pipeline.cache_clear()
        yield root
        ask.pipeline.cache_clear()


@pytest.mark.task(5)
def test_prep_ask_answers_with_cited_sections(
    small_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = ["what", "does", "the", "benchmark", "command", "print?"]
    assert cli.main(["ask", "--impl", impl_switch.selected(), "-k", "2", *question]) == 0
    text, sources = capsys.readouterr().out.split("Sources:")
    assert "ratio to the baseline. [1]" in text, "the README's sentence, quoted and cited"
    assert sources.split() == ["[1]", "README.md"]


@pytest.mark.task(5)
def test_ask_retrieves_the_paraphrased_page_and_abstains_on_nonsense(small_corpus: Path) -> None:
    attention = ask.ask(
        "how do I stop a token from attending to later positions in attention?",
        k=2,
        impl=impl_switch.selected(),
    )
    assert attention.prompt.sources[0] == "torch.nn.functional.scaled_dot_product_attention"
    unrelated = ask.ask("recipe for a sourdough loaf", k=2, impl=impl_switch.selected())
    assert unrelated.abstained, unrelated.render()
    assert unrelated.citations == ()

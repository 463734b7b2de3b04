"""The labelled set is sound, the paired bootstrap equals scipy's, and (slow) hybrid search
wins on the labelled questions end to end."""

from __future__ import annotations

import re
from types import ModuleType

import numpy as np
import pytest
from challenge_08_rag import quality
from challenge_08_rag.corpus import torch_documents
from challenge_08_rag.questions import qrels, questions
from scipy import stats


def test_labelled_set_has_two_halves_and_paraphrased_questions() -> None:
    tune, test, everything = questions("tune"), questions("test"), questions()
    assert len(everything) >= 120
    assert len(tune) + len(test) == len(everything)
    assert abs(len(tune) - len(test)) <= 1
    assert len({q.id for q in everything}) == len(everything)
    for q in everything:
        assert any(g == 2 for g in q.relevant.values()), f"{q.id} has no grade-2 document"
        assert set(q.relevant.values()) <= {1, 2}
        said = set(re.findall(r"[a-z0-9_]+", q.text.lower()))
        for doc, grade in q.relevant.items():
            name = doc.rsplit(".", 1)[-1].lower().strip("_")
            assert not (grade == 2 and len(name) >= 4 and name in said), (
                f"{q.id} names its answer {name!r}: questions must paraphrase"
            )
    assert qrels(tune)[tune[0].id] == tune[0].relevant
    with pytest.raises(ValueError, match="split"):
        questions("train")  # type: ignore[arg-type]


def test_paired_bootstrap_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=40), rng.uniform(size=40) + 0.1
    ours = quality.paired_bootstrap(a, b, n_resamples=2000, confidence=0.9, seed=7)
    ref = stats.bootstrap(
        (b - a,), np.mean, n_resamples=2000, confidence_level=0.9, method="percentile",
        rng=np.random.default_rng(7), vectorized=True,
    )  # fmt: skip
    assert ours.mean == pytest.approx(float(np.mean(b - a)), rel=1e-12)
    assert (ours.low, ours.high) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-12
    )
    with pytest.raises(ValueError, match="length"):
        quality.paired_bootstrap(a, b[:-1])


@pytest.mark.slow
def test_every_labelled_document_is_in_the_corpus() -> None:
    ids = {d.id for d in torch_documents()}
    missing = {doc for q in questions() for doc in q.relevant} - ids
    assert not missing, f"labelled documents missing from this torch's corpus: {sorted(missing)}"


@pytest.mark.slow
def test_hybrid_beats_each_retriever_on_the_tune_half(impl: ModuleType) -> None:
    from challenge_08_rag.corpus import cache_dir

    embedder = impl.Embedder(cache_path=cache_dir() / "embeddings.sqlite")
    pipeline = quality.build(impl, torch_documents(), embedder=embedder, leading=1)
    tune = questions("tune")
    ndcg = {
        m: impl.evaluate(quality.rankings(pipeline, tune, m), qrels(tune), k=10).mean["ndcg@10"]
        for m in quality.METHODS
    }
    assert ndcg["hybrid"] > max(ndcg["bm25"], ndcg["dense"]), ndcg

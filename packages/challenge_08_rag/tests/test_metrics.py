"""Task 6: recall@k, MRR@k and nDCG@k equal trec_eval's (through pytrec_eval)."""

from __future__ import annotations

from types import ModuleType

import pytest
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close


def _trec(
    run: dict[str, list[str]], qrels: dict[str, dict[str, int]], k: int
) -> dict[str, dict[str, float]]:
    """trec_eval's figures. It ranks by score, so give the documents descending scores;
    MRR@k is its reciprocal rank on the run cut to the top k."""
    scored = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in run.items()}
    cut = {q: {d: float(len(docs) - i) for i, d in enumerate(docs[:k])} for q, docs in run.items()}
    full = pytrec_eval.RelevanceEvaluator(qrels, {f"recall_{k}", f"ndcg_cut_{k}"}).evaluate(scored)
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    return {
        q: {
            f"recall@{k}": full[q][f"recall_{k}"],
            f"ndcg@{k}": full[q][f"ndcg_cut_{k}"],
            f"mrr@{k}": rr[q]["recip_rank"] if q in rr else 0.0,
        }
        for q in qrels
    }


@pytest.mark.task(6)
def test_worked_example(impl: ModuleType) -> None:
    qrels = {"q1": {"a": 2, "b": 1, "z": 1}, "q2": {"c": 1}}
    run = {"q1": ["x", "b", "a", "y"], "q2": ["c"]}
    result = impl.evaluate(run, qrels, k=3)
    # q1: ranks 2 (grade 1) and 3 (grade 2); ideal 2, 1, 1.
    dcg = 1 / 1.584962500721156 + 2 / 2.0
    idcg = 2 / 1.0 + 1 / 1.584962500721156 + 1 / 2.0
    assert result.per_query["q1"] == pytest.approx(
        {"recall@3": 2 / 3, "mrr@3": 0.5, "ndcg@3": dcg / idcg}, rel=1e-12
    )
    assert result.per_query["q2"] == {"recall@3": 1.0, "mrr@3": 1.0, "ndcg@3": 1.0}
    assert result.mean["mrr@3"] == pytest.approx(0.75)


_docs = st.sampled_from([f"d{i}" for i in range(12)])


@st.composite
def _run_and_qrels(draw: st.DrawFn) -> tuple[dict[str, list[str]], dict[str, dict[str, int]]]:
    queries = [f"q{i}" for i in range(draw(st.integers(1, 5)))]
    qrels, run = {}, {}
    for q in queries:
        judged = draw(st.dictionaries(_docs, st.integers(0, 2), min_size=1, max_size=8))
        if not any(judged.values()):
            judged[next(iter(judged))] = 1
        qrels[q] = judged
        run[q] = draw(st.lists(_docs, max_size=12, unique=True))
    return run, qrels


@pytest.mark.task(6)
@settings(max_examples=40, deadline=None)
@given(case=_run_and_qrels(), k=st.sampled_from([1, 3, 5, 10]))
def test_equals_trec_eval(
    impl: ModuleType, case: tuple[dict[str, list[str]], dict[str, dict[str, int]]], k: int
) -> None:
    run, qrels = case
    result = impl.evaluate(run, qrels, k=k)
    want = _trec(run, qrels, k)
    for q in qrels:
        for name, value in want[q].items():
            # trec_eval prints-and-parses nothing here, but sums in a different order.
            assert_close(
                result.per_query[q][name],
                value,
                rtol=1e-9,
                atol=1e-12,
                task=6,
                what=f"{name} of {q}",
            )


@pytest.mark.task(6)
def test_ideal_ranking_counts_relevant_documents_not_retrieved(impl: ModuleType) -> None:
    # Only the weaker document is found; a perfect nDCG would mean the ideal was built from
    # the retrieved list instead of the judgements.
    result = impl.evaluate({"q": ["b"]}, {"q": {"a": 2, "b": 1}}, k=10)
    assert result.per_query["q"]["ndcg@10"] == pytest.approx(
        1 / (2 + 1 / 1.584962500721156), rel=1e-12
    )


@pytest.mark.task(6)
def test_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="k"):
        impl.evaluate({"q": ["a"]}, {"q": {"a": 1}}, k=0)
    with pytest.raises(ValueError, match="qrels"):
        impl.evaluate({"q": ["a"]}, {}, k=5)
    with pytest.raises(ValueError, match="no relevant"):
        impl.evaluate({"q": ["a"]}, {"q": {"a": 0}}, k=5)
    with pytest.raises(ValueError, match="run has no ranking"):
        impl.evaluate({}, {"q": {"a": 1}}, k=5)
    with pytest.raises(ValueError, match="more than once"):
        impl.evaluate({"q": ["a", "a"]}, {"q": {"a": 1}}, k=5)
    with pytest.raises(ValueError, match="negative"):
        impl.evaluate({"q": ["a"]}, {"q": {"a": -1}}, k=5)

"""Known wrong: nDCG whose ideal ranking is built from the retrieved documents' grades
instead of every judged document, so a run that misses the best document can still score
1.0 (caught by test_ideal_ranking_counts_relevant_documents_not_retrieved and the
trec_eval equality tests of task 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from challenge_08_rag.records import Evaluation

from prep.impl import patched


def _evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], *, k: int = 10
) -> Evaluation:
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    per_query: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        relevant = {d for d, g in judged.items() if g > 0}
        gains = np.array([judged.get(d, 0) for d in list(run[qid])[:k]], dtype=np.float64)
        hits = np.flatnonzero(gains > 0)
        ideal = np.sort(gains)[::-1]  # the bug: the ideal of what was retrieved
        idcg = float(ideal @ discount[: len(ideal)])
        per_query[qid] = {
            f"recall@{k}": len(hits) / len(relevant),
            f"mrr@{k}": 1.0 / (hits[0] + 1) if len(hits) else 0.0,
            f"ndcg@{k}": float(gains @ discount[: len(gains)]) / idcg if idcg else 0.0,
        }
    names = [f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"]
    mean = {n: float(np.mean([m[n] for m in per_query.values()])) for n in names}
    return Evaluation(k, per_query, mean)


IMPLEMENTATION = patched("challenge_08_rag.solution", evaluate=_evaluate)

TASK = 6  # whose tests reject it: `prep verify` runs them first

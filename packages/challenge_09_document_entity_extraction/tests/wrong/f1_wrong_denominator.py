"""Known wrong: precision divided by the gold count instead of the predicted count (recall's
denominator), so a system that predicts a few spans, all right, scores low precision."""

from __future__ import annotations

from challenge_09_document_entity_extraction.records import Scores

from prep.impl import patched


def _scores(correct: int, predicted: int, gold: int) -> Scores:
    precision = correct / gold if gold else 0.0  # the bug: should be / predicted
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(correct, predicted, gold, precision, recall, f1)


IMPLEMENTATION = patched("challenge_09_document_entity_extraction.solution", _scores=_scores)


TASK = 4  # whose tests reject it: `prep verify` runs them first

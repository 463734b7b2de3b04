"""The labelled question set: 154 questions an engineer asks, with graded relevant documents.

Each question is phrased the way people ask ("how do I hide future positions in
self-attention?"), not with the API's name, and lists the corpus documents that answer it:
grade 2 answers it, grade 1 helps. The set is split in two halves: ``tune`` for choosing
parameters (k, RRF's constant, chunk size) and ``test`` for the figures reported.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from typing import Literal

Split = Literal["tune", "test", "all"]


@dataclass(frozen=True)
class Question:
    """One labelled question."""

    id: str  # "q001"
    text: str
    relevant: dict[str, int]  # document id -> grade (1 or 2)
    split: str  # "tune" or "test"


def questions(split: Split = "all") -> list[Question]:
    """The labelled questions of one half (``"tune"``, ``"test"``) or all of them."""
    if split not in ("tune", "test", "all"):
        raise ValueError(f"split must be 'tune', 'test' or 'all', got {split!r}")
    raw = importlib.resources.files("challenge_08_rag").joinpath("data", "questions.json")
    items = json.loads(raw.read_text(encoding="utf-8"))
    out = [Question(q["id"], q["question"], dict(q["relevant"]), q["split"]) for q in items]
    return [q for q in out if split == "all" or q.split == split]


def qrels(items: list[Question]) -> dict[str, dict[str, int]]:
    """The judgements in the form ``evaluate`` takes: query id -> {document id: grade}."""
    return {q.id: dict(q.relevant) for q in items}

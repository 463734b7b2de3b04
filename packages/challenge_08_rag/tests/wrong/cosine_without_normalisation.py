"""Known wrong: the index stores and queries raw vectors, so it ranks by dot product, not
cosine: a long vector beats a well-aligned short one (caught by the faiss IndexFlatIP
equality tests of task 3, whose vectors have norms from 0.1 to 10)."""

from __future__ import annotations

from typing import Any

import torch

from prep.impl import patched


def _raw_rows(vectors: Any, dim: int, name: str) -> torch.Tensor:
    matrix = torch.as_tensor(vectors).detach().to("cpu", torch.float32)
    matrix = matrix.unsqueeze(0) if matrix.ndim == 1 else matrix
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {tuple(matrix.shape)}")
    if (matrix.norm(dim=1) == 0).any():
        raise ValueError(f"{name} holds a zero vector: its cosine similarity is undefined")
    return matrix  # the bug: never divided by its norms


IMPLEMENTATION = patched("challenge_08_rag.solution", unit_rows=_raw_rows)

TASK = 3  # whose tests reject it: `prep verify` runs them first

"""A small MLP trained on scikit-learn's digits (shipped with scikit-learn: no download).

Shared by the tests and the benchmark; not a TODO. Training takes about a second on a CPU.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class DigitsSplit:
    """The 8x8 digit images as standardised feature vectors, split into train and test."""

    x_train: Tensor  # (N_train, 64) float32
    y_train: Tensor  # (N_train,) int64 in 0..9
    x_test: Tensor  # (N_test, 64) float32
    y_test: Tensor  # (N_test,) int64


def _digits_arrays() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(1797, 64) pixel values in 0..16 and (1797,) labels, as scikit-learn ships them.

    Reads scikit-learn's own ``datasets/data/digits.csv.gz`` directly when it is there (what
    ``load_digits`` reads, without importing scipy: seconds saved in every test run), else
    calls ``sklearn.datasets.load_digits``.
    """
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in locations:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (1797, 65): pixels, label
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.data, dtype=np.float32), np.asarray(digits.target, dtype=np.int64)


def load_digits_split(*, test_fraction: float = 0.25, seed: int = 0) -> DigitsSplit:
    """The 1797 digits, shuffled with ``seed``; features standardised with train statistics."""
    x, y = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0) + 1.0  # +1: some pixels are always 0
    x = (x - mean) / std
    return DigitsSplit(
        torch.from_numpy(x[train]),
        torch.from_numpy(y[train]),
        torch.from_numpy(x[test]),
        torch.from_numpy(y[test]),
    )


class DigitsMLP(nn.Module):
    """64 -> hidden -> ReLU -> LayerNorm -> hidden -> ReLU -> 10. The LayerNorm feeds only the
    next Linear, so SmoothQuant can fold into it (unlike BERT's post-LN residual stream)."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.LayerNorm(hidden),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.layers(x)  # (N, 64) -> (N, 10)
        return logits


def train_digits_mlp(data: DigitsSplit, *, steps: int = 150, seed: int = 0) -> DigitsMLP:
    """Full-batch Adam on the training split; returns the model in eval mode (~97% test acc)."""
    torch.manual_seed(seed)
    model = DigitsMLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(data.x_train), data.y_train)
        loss.backward()
        optimizer.step()
    return model.eval()


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Share of ``x`` whose arg-max logit equals the label ``y``."""
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())

"""A small CNN trained on scikit-learn's 8x8 digits (shipped with scikit-learn: no download).

Shared by the tests and the benchmark; not a task. Training the default model takes a second or
two on one CPU core.
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
    """The digit images, scaled to [0, 1], split into train and test."""

    x_train: Tensor  # (N_train, 1, 8, 8) float32
    y_train: Tensor  # (N_train,) int64 in 0..9
    x_test: Tensor  # (N_test, 1, 8, 8) float32
    y_test: Tensor  # (N_test,) int64


def _digits_arrays() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(1797, 64) pixels in 0..16 and (1797,) labels. Reads scikit-learn's own
    ``datasets/data/digits.csv.gz`` when present (what ``load_digits`` reads, without importing
    scipy: seconds saved per test run), else calls ``sklearn.datasets.load_digits``."""
    spec = importlib.util.find_spec("sklearn")
    for root in list(spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (1797, 65)
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.data, dtype=np.float32), np.asarray(digits.target, dtype=np.int64)


def load_digits_split(*, test_fraction: float = 0.25, seed: int = 0) -> DigitsSplit:
    """The 1797 digits as (N, 1, 8, 8) images in [0, 1], shuffled with ``seed``."""
    x, y = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    images = torch.from_numpy(x / 16.0).reshape(-1, 1, 8, 8)  # (N, 64) -> (N, 1, 8, 8)
    labels = torch.from_numpy(y)
    return DigitsSplit(images[train], labels[train], images[test], labels[test])


class DigitsCNN(nn.Module):
    """conv-BN-ReLU x2, max-pool, conv-BN-ReLU, flatten, two Linears: every Conv and the first
    Linear can lose output channels (task 2); the last Linear's outputs are the 10 classes."""

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 32), hidden: int = 32) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c3 * 4 * 4, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)  # (N, 1, 8, 8) -> (N, c3, 4, 4)
        logits: Tensor = self.classifier(h)  # (N, c3 * 16) -> (N, 10)
        return logits


def train(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int = 3,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> nn.Module:
    """Adam on shuffled mini-batches; returns ``model`` (trained in place) in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for rows in torch.randperm(len(x), generator=generator).split(batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
            optimizer.step()
    return model.eval()


def train_digits_cnn(
    data: DigitsSplit,
    *,
    channels: tuple[int, int, int] = (16, 32, 32),
    hidden: int = 32,
    epochs: int = 3,
    seed: int = 0,
) -> DigitsCNN:
    """A freshly initialised ``DigitsCNN`` (seeded) trained on ``data``: about 98% test
    accuracy with the defaults, in a second or two on one CPU core."""
    torch.manual_seed(seed)
    model = DigitsCNN(channels, hidden)
    train(model, data.x_train, data.y_train, epochs=epochs, seed=seed)
    return model

"""scikit-learn's 8x8 digits (shipped with scikit-learn: no download), split and standardised.

Shared by the tests and the benchmark; not a TODO.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor


@dataclass(frozen=True)
class DigitsSplit:
    """The 1797 images as standardised feature vectors, split into train and test."""

    x_train: Tensor  # (N_train, 64)
    y_train: Tensor  # (N_train,) int64 in 0..9
    x_test: Tensor  # (N_test, 64)
    y_test: Tensor  # (N_test,) int64


def _digits_arrays() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(1797, 64) pixel values in 0..16 and (1797,) labels.

    Reads the ``digits.csv.gz`` scikit-learn ships, without importing scikit-learn (its import
    costs seconds in every test run), else falls back to ``sklearn.datasets.load_digits``.
    """
    spec = importlib.util.find_spec("sklearn")
    for root in spec.submodule_search_locations or [] if spec is not None else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels, then the label
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.data, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)


def load_digits_split(
    *, test_fraction: float = 0.2, seed: int = 0, dtype: torch.dtype = torch.float32
) -> DigitsSplit:
    """The digits shuffled with ``seed``; features standardised with the train statistics."""
    x, y = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0) + 1.0  # +1: some pixels are always 0
    x = (x - mean) / std
    return DigitsSplit(
        torch.from_numpy(x[train]).to(dtype),
        torch.from_numpy(y[train]),
        torch.from_numpy(x[test]).to(dtype),
        torch.from_numpy(y[test]),
    )

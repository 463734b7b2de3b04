"""Fixtures: the digits CNN (trained once per session) and small models with branches."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from challenge_02_pruning_sparsity import digits
from torch import Tensor, nn
from torch.nn import functional


@pytest.fixture(scope="session")
def digits_split() -> digits.DigitsSplit:
    return digits.load_digits_split()


@pytest.fixture(scope="session")
def trained_cnn(digits_split: digits.DigitsSplit) -> digits.DigitsCNN:
    """The trained CNN (about 98% test accuracy). Tests must not modify it: deep-copy first."""
    return digits.train_digits_cnn(digits_split)


@pytest.fixture
def cnn(trained_cnn: digits.DigitsCNN) -> digits.DigitsCNN:
    """A private copy of the trained CNN, free to prune."""
    return copy.deepcopy(trained_cnn)


def make_random_cnn(
    seed: int = 0, channels: tuple[int, int, int] = (8, 16, 16)
) -> digits.DigitsCNN:
    """An untrained DigitsCNN in eval mode with non-trivial BatchNorm statistics and affines,
    so a BatchNorm left unshrunk or shrunk at the wrong entries changes the output."""
    torch.manual_seed(seed)
    model = digits.DigitsCNN(channels, hidden=24)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert module.running_mean is not None
            assert module.running_var is not None
            with torch.no_grad():
                module.running_mean.copy_(torch.randn_like(module.weight))
                module.running_var.copy_(torch.rand_like(module.weight) * 1.5 + 0.5)
                module.weight.normal_()
                module.bias.normal_()
    return model.eval()


@pytest.fixture(scope="session")
def random_cnn() -> Callable[..., digits.DigitsCNN]:
    """``random_cnn(seed, channels=(8, 16, 16))``: see ``make_random_cnn``."""
    return make_random_cnn


class ResidualNet(nn.Module):
    """stem -> [conv1 -> bn1 -> relu -> conv2] + stem's output -> flatten -> head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 12, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(12)
        self.conv2 = nn.Conv2d(12, 8, 3, padding=1)
        self.head = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x: Tensor) -> Tensor:
        h = functional.relu(self.stem(x))  # (N, 8, 8, 8)
        r = functional.relu(self.bn1(self.conv1(h)))  # (N, 12, 8, 8)
        h = h + self.conv2(r)  # the residual add: stem's and conv2's channels are tied
        out: Tensor = self.head(torch.flatten(h, 1))  # (N, 512) -> (N, 10)
        return out


class ConcatNet(nn.Module):
    """Two branches concatenated along channels, then a conv reading both."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Conv2d(1, 6, 3, padding=1)
        self.right = nn.Conv2d(1, 6, 3, padding=1)
        self.merge = nn.Conv2d(12, 4, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        both = torch.cat([self.left(x), self.right(x)], dim=1)  # (N, 12, 8, 8)
        out: Tensor = self.merge(both).mean((2, 3))  # (N, 4)
        return out


class MLP(nn.Module):
    """Linear -> BatchNorm1d -> ReLU -> Linear -> GELU -> Linear, with functional ops."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.norm = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 5)

    def forward(self, x: Tensor) -> Tensor:
        h = functional.relu(self.norm(self.fc1(x)))  # (N, 32)
        h = functional.gelu(self.fc2(h))  # (N, 16)
        out: Tensor = self.fc3(h)  # (N, 5)
        return out


@pytest.fixture
def residual_net() -> ResidualNet:
    torch.manual_seed(0)
    return ResidualNet().eval()


@pytest.fixture
def concat_net() -> ConcatNet:
    return ConcatNet()


@pytest.fixture
def mlp_net() -> MLP:
    torch.manual_seed(1)
    return MLP().eval()

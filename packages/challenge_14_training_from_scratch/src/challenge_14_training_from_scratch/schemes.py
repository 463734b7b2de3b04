"""The enums the three implementations share: initialiser distributions, fan modes and the
weight-initialisation schemes of the vanishing/exploding-gradient demo."""

from __future__ import annotations

from enum import Enum


class Distribution(Enum):
    """Which distribution an initialiser samples from (both have mean 0)."""

    UNIFORM = "uniform"  # U(-bound, bound), bound = sqrt(3) * std
    NORMAL = "normal"  # N(0, std^2)


class FanMode(Enum):
    """Which fan He initialisation divides by."""

    FAN_IN = "fan_in"  # preserves the variance of activations in the forward pass
    FAN_OUT = "fan_out"  # preserves the variance of gradients in the backward pass


class InitScheme(Enum):
    """How ``MLP`` initialises its weight matrices (biases always start at 0)."""

    ZERO = "zero"  # every weight 0: no signal flows, every hidden unit stays identical
    SMALL = "small"  # N(0, 0.01^2): activations and gradients shrink layer after layer
    XAVIER = "xavier"  # xavier_init, normal: variance kept for linear/tanh layers
    HE = "he"  # he_init, normal, fan_in: variance kept through ReLU layers
    LARGE = "large"  # N(0, 1): activations and gradients grow layer after layer


SMALL_STD = 0.01  # InitScheme.SMALL's standard deviation
LARGE_STD = 1.0  # InitScheme.LARGE's standard deviation

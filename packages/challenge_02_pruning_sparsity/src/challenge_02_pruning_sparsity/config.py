"""Options and results the three implementations share (given, not a task)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Scope(enum.StrEnum):
    """Where unstructured magnitude pruning ranks weights (task 1)."""

    LAYER = "layer"  # each layer loses the same fraction of its own weights
    GLOBAL = "global"  # one ranking over every layer: small layers may lose more or less


class Criterion(enum.StrEnum):
    """How channel pruning scores an output channel (task 2); the lowest scores go."""

    L1 = "l1"  # sum of |w| over the channel's weights (torch's ln_structured with n=1)
    L2 = "l2"  # Euclidean norm of the channel's weights (n=2)
    BN_GAMMA = "bn_gamma"  # |gamma| of the BatchNorm after the layer (network slimming)


@dataclass(frozen=True)
class GradualSchedule:
    """Gradual magnitude pruning (Zhu and Gupta, 2017): sparsity rises along a cubic from
    ``initial_sparsity`` to ``final_sparsity`` over ``rounds`` pruning steps, each followed by
    ``finetune_steps`` optimizer steps on mini-batches (task 4)."""

    final_sparsity: float  # fraction of Conv/Linear weights that are zero at the end, in [0, 1)
    rounds: int = 4  # pruning steps
    finetune_steps: int = 20  # Adam steps after each pruning step
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128  # training rows per step, drawn without replacement per epoch
    initial_sparsity: float = 0.0  # sparsity the cubic starts from (round 0)
    scope: Scope = Scope.GLOBAL  # ranking used at every pruning step (task 1)
    seed: int = 0  # seeds the mini-batch order

    def __post_init__(self) -> None:
        for name in ("final_sparsity", "initial_sparsity"):
            value = getattr(self, name)
            if not (isinstance(value, float | int) and 0.0 <= value < 1.0):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if self.initial_sparsity > self.final_sparsity:
            raise ValueError(
                f"initial_sparsity ({self.initial_sparsity}) must not exceed final_sparsity "
                f"({self.final_sparsity})"
            )
        for name in ("rounds", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        steps = self.finetune_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"finetune_steps must be an integer >= 0, got {steps!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        object.__setattr__(self, "scope", Scope(self.scope))

    def sparsity_at(self, k: int) -> float:
        """Target sparsity after pruning round ``k`` (1..rounds):
        s_f + (s_i - s_f) * (1 - k / rounds) ** 3. Round ``rounds`` reaches ``final_sparsity``."""
        if not 0 <= k <= self.rounds:
            raise ValueError(f"k must be in 0..{self.rounds}, got {k}")
        s_i, s_f = self.initial_sparsity, self.final_sparsity
        return s_f + (s_i - s_f) * (1.0 - k / self.rounds) ** 3


@dataclass(frozen=True)
class PruneStep:
    """What one round of ``prune_and_finetune`` did."""

    round: int  # 1..rounds
    target: float  # schedule.sparsity_at(round)
    sparsity: float  # measured fraction of zero Conv/Linear weights after fine-tuning
    loss: float  # mean training loss over the round's fine-tuning steps (nan with none)

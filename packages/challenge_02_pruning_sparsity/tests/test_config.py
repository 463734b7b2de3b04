"""The given schedule: its cubic and its argument checks (no task: nothing to implement)."""

from __future__ import annotations

import itertools

import pytest
from challenge_02_pruning_sparsity.config import GradualSchedule, Scope


def test_cubic_reaches_the_final_sparsity() -> None:
    schedule = GradualSchedule(0.8, rounds=4, initial_sparsity=0.2)
    assert schedule.sparsity_at(0) == pytest.approx(0.2)
    assert schedule.sparsity_at(4) == pytest.approx(0.8)
    steps = [schedule.sparsity_at(k) for k in range(5)]
    gains = [b - a for a, b in itertools.pairwise(steps)]
    assert gains == sorted(gains, reverse=True), "prunes fast first, slowly at the end"
    assert GradualSchedule(0.5, scope="layer").scope is Scope.LAYER  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"final_sparsity": 1.0}, "final_sparsity"),
        ({"final_sparsity": 0.5, "initial_sparsity": 0.6}, "initial_sparsity"),
        ({"final_sparsity": 0.5, "rounds": 0}, "rounds"),
        ({"final_sparsity": 0.5, "finetune_steps": -1}, "finetune_steps"),
        ({"final_sparsity": 0.5, "lr": 0.0}, "lr"),
        ({"final_sparsity": 0.5, "scope": "row"}, "row"),
    ],
)
def test_bad_schedule(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GradualSchedule(**kwargs)  # type: ignore[arg-type]

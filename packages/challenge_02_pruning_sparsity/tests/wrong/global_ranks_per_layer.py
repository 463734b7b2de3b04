"""Known wrong: "global" pruning ranks each layer on its own, so every layer loses the same
fraction - per-layer pruning under another name. A small layer that a global ranking would
nearly empty keeps half its weights, and a large one loses weights it should keep."""

from __future__ import annotations

from typing import Any

from challenge_02_pruning_sparsity.config import Scope

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")
_prune = _base.magnitude_prune


def _per_layer_always(model: Any, amount: float, *, scope: Any = Scope.LAYER) -> Any:
    _base._enum(Scope, scope, "scope")  # still rejects an unknown scope
    return _prune(model, amount, scope=Scope.LAYER)  # the bug: the scope is ignored


vars(_base)["magnitude_prune"] = _per_layer_always

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first

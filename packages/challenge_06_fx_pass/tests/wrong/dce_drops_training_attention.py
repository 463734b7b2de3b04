"""Wrong: purity that looks for dropout only in the module called, not inside it.

``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` are single leaf calls in a
symbolic_trace graph, but in training mode their dropout draws from the generator. Treated as
pure, an unread one is deleted by DCE (shifting every later draw) and two calls are merged by
CSE (one dropout mask instead of two).
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules.dropout import _DropoutNd

from prep.impl import patched


def draws_if_dropout_itself(module: nn.Module) -> bool:
    return module.training and isinstance(module, _DropoutNd) and module.p > 0  # the bug


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _submodule_draws=draws_if_dropout_itself)

TASK = (3, 5)  # whose tests reject it: `prep verify` runs them first

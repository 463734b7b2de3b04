"""Wrong: a torch-level call is given the ``.default`` overload instead of the one its
arguments select.

``torch.flatten(x, 1)`` is ``aten.flatten.using_ints`` and ``a + b`` is ``aten.add.Tensor``;
``aten.add.default`` does not exist, so a consumer cannot resolve the target, and where a
``.default`` does exist it may take other arguments than the call passes.
"""

from __future__ import annotations

from typing import Any

import torch

from prep.impl import patched


def always_default(
    namespace: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    # the bug: no schema matching, the packet's first-listed overload assumed
    return "default" if hasattr(getattr(torch.ops, namespace), name) else None


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", _resolve=always_default)


TASK = 1  # whose tests reject it: `prep verify` runs them first

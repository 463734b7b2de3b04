"""A counting wrapper around ``torch.distributed``'s collectives: what a module really sends.

``count_collectives()`` swaps the collectives on the ``torch.distributed`` module for wrappers
that record each call (which op, how many bytes) and then call the real one, so code that calls
``dist.all_reduce(...)`` is counted without changing it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch.distributed as dist
from torch import Tensor

__all__ = ["CollectiveLog", "count_collectives"]


def _bytes(t: Tensor) -> int:
    return t.numel() * t.element_size()


def _list_bytes(ts: list[Tensor]) -> int:
    return sum(_bytes(t) for t in ts)


# op name -> (the kind it counts as, the bytes of its payload from its arguments)
_PAYLOAD: dict[str, tuple[str, Callable[..., int]]] = {
    "all_reduce": ("all_reduce", lambda tensor, *a, **k: _bytes(tensor)),
    # all-gather: the gathered output; reduce-scatter: the full input
    "all_gather_into_tensor": ("all_gather", lambda out, inp, *a, **k: _bytes(out)),
    "all_gather": ("all_gather", lambda outs, inp, *a, **k: _list_bytes(outs)),
    "reduce_scatter_tensor": ("reduce_scatter", lambda out, inp, *a, **k: _bytes(inp)),
    "reduce_scatter": ("reduce_scatter", lambda out, ins, *a, **k: _list_bytes(ins)),
}


@dataclass
class CollectiveLog:
    """The calls seen inside ``count_collectives()``: (kind, payload bytes) in call order."""

    calls: list[tuple[str, int]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)

    def bytes(self, kind: str) -> int:
        return sum(b for k, b in self.calls if k == kind)


@contextlib.contextmanager
def count_collectives() -> Iterator[CollectiveLog]:
    """Record every all-reduce, all-gather and reduce-scatter made through ``torch.distributed``
    inside the block (forward and backward alike)."""
    log = CollectiveLog()
    originals = {name: getattr(dist, name) for name in _PAYLOAD}

    def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        kind, payload = _PAYLOAD[name]

        def counted(*args: Any, **kwargs: Any) -> Any:
            log.calls.append((kind, payload(*args, **kwargs)))
            return real(*args, **kwargs)

        return counted

    try:
        for name, real in originals.items():
            setattr(dist, name, wrap(name, real))
        yield log
    finally:
        for name, real in originals.items():
            setattr(dist, name, real)

"""Shared fixtures: the models (loaded once per session) and a cache of extractions, so each
(implementation, model, method) pair is captured once however many tests read it.

torch.export and dynamo take about a second per capture of a real model on CPU; the cache keeps
the whole session near 15 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_05_fx_graph_extraction import models
from torch import Tensor, nn
from torch.export import Dim

# One intra-op thread: the models are tiny, and on a CPU shared with other jobs two OpenMP
# threads wait on each other at every op (a 1.5 ms forward pass took 290 ms with two).
torch.set_num_threads(1)


@dataclass(frozen=True)
class Case:
    """A model, its example inputs and the dynamic dims the tests use with it."""

    model: nn.Module
    inputs: tuple[Tensor, ...]
    dynamic_dims: tuple[dict[int, Any] | None, ...]
    other_inputs: tuple[Tensor, ...]  # a second shape along the dynamic dims

    def eager(self, inputs: tuple[Tensor, ...] | None = None) -> Tensor:
        with torch.no_grad():
            out: Tensor = self.model(*(self.inputs if inputs is None else inputs))
        return out


def _cnn() -> Case:
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    x2 = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return Case(models.resnet_cnn(), (x,), ({0: "batch"},), (x2,))


def _minilm() -> Case:
    ids, mask = models.minilm_inputs()  # (3, T)
    ids2, mask2 = models.minilm_inputs(("Short.", "A second, longer sentence."))  # (2, T2)
    seq = Dim("seq", max=models.MINILM_MAX_POSITIONS)  # BERT's position table bounds seq
    dims = ({0: "batch", 1: seq}, {0: "batch", 1: seq})
    return Case(models.load_minilm(), (ids, mask), dims, (ids2, mask2))


def _gpt2() -> Case:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 512, (2, 12), generator=gen)
    ids2 = torch.randint(0, 512, (3, 7), generator=gen)
    return Case(models.tiny_gpt2(), (ids,), ({0: "batch", 1: "seq"},), (ids2,))


def _tiny_bert() -> Case:
    ids = torch.randint(0, 128, (2, 10), generator=torch.Generator().manual_seed(0))
    unbounded = ({0: "batch", 1: "seq"}, {0: "batch", 1: "seq"})  # seq lacks BERT's max
    return Case(models.tiny_bert(max_positions=64), (ids, torch.ones_like(ids)), unbounded, ())


BUILDERS: dict[str, Callable[[], Case]] = {
    "cnn": _cnn,
    "minilm": _minilm,
    "gpt2": _gpt2,
    "tiny_bert": _tiny_bert,
}


class Zoo:
    """Models built on first use, and extractions cached per implementation module."""

    def __init__(self) -> None:
        self._cases: dict[str, Case] = {}
        self._extracted: dict[tuple[str, str, str, bool], Any] = {}
        self._unfinished: dict[tuple[str, str, bool], NotImplementedError | None] = {}

    def case(self, name: str) -> Case:
        if name not in self._cases:
            self._cases[name] = BUILDERS[name]()
        return self._cases[name]

    def extract(self, impl: ModuleType, name: str, method: str, dynamic: bool = False) -> Any:
        """``impl.extract_graph`` of model ``name`` (raises what it raises, e.g. the starter's
        NotImplementedError; failures are not cached)."""
        key = (impl.__name__, name, method, dynamic)
        if key not in self._extracted:
            self._fail_fast_if_unfinished(impl, method, dynamic)
            case = self.case(name)
            dims = case.dynamic_dims if dynamic else None
            self._extracted[key] = impl.extract_graph(
                case.model, case.inputs, method=method, dynamic_dims=dims
            )
        return self._extracted[key]

    def _fail_fast_if_unfinished(self, impl: ModuleType, method: str, dynamic: bool) -> None:
        """Re-raise the starter's NotImplementedError before loading a real model: a
        one-layer model tells whether the method (and dynamic dims) are written yet."""
        key = (impl.__name__, method, dynamic)
        if key not in self._unfinished:
            self._unfinished[key] = None
            dims = ({0: "batch"},) if dynamic else None
            try:
                impl.extract_graph(
                    nn.Linear(4, 4), (torch.ones(2, 4),), method=method, dynamic_dims=dims
                )
            except NotImplementedError as exc:
                self._unfinished[key] = exc
            except Exception:
                pass  # any other failure shows up in the real test, with its own message
        unfinished = self._unfinished[key]
        if unfinished is not None:
            raise unfinished


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "traces: runs a tracer (ordered after the pure tests)")


def _cost(item: pytest.Item) -> int:
    """0: pure IR and validation; 1: symbolic_trace; 2: export or dynamo on a small model (the
    first one imports dynamo: seconds); 3: a real model."""
    if "zoo" in getattr(item, "fixturenames", ()):
        return 3
    if item.get_closest_marker("traces"):
        return 2
    callspec = getattr(item, "callspec", None)
    method = callspec.params.get("method") if callspec is not None else None
    return {None: 0, "symbolic_trace": 1}.get(method, 2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Cheapest tests first: a wrong implementation fails in a pure-IR test within seconds and
    `-x` stops there, before dynamo is imported or a real model is loaded."""
    items.sort(key=_cost)


@pytest.fixture(scope="session")
def zoo() -> Iterator[Zoo]:
    yield Zoo()
    torch._dynamo.reset()

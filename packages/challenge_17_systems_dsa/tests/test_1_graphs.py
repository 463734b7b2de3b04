"""Task 1: Kahn's order with cycle reports, liveness, buffer placement and a low-peak order."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import pytest
from challenge_17_systems_dsa import cnn_graph
from challenge_17_systems_dsa.oracles import (
    Graph,
    all_topological_orders,
    brute_peak,
    live_spans,
    sizes_for,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(1)


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 10) -> dict[str, list[str]]:
    """A random DAG on string-labelled nodes: edges go from lower to higher rank of a hidden
    random order, so every graph is acyclic and every order of keys appears."""
    n = draw(st.integers(1, max_nodes))
    labels = draw(st.permutations([f"n{k}" for k in range(n)]))
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    graph: dict[str, list[str]] = {label: [] for label in labels}
    for i, j in sorted(edges):
        if i < j:
            graph[labels[i]].append(labels[j])
    return graph


def _is_topological(graph: Graph, order: list[object]) -> bool:
    position = {node: k for k, node in enumerate(order)}
    return len(position) == len(graph) == len(order) and all(
        position[a] < position[b] for a in graph for b in graph[a]
    )


@given(dags())
def test_topo_order_is_a_valid_order_that_graphlib_accepts(impl: ModuleType, graph: Graph) -> None:
    order = impl.topo_order(graph)
    assert _is_topological(graph, order), f"not a topological order of {graph}: {order}"
    graphlib.TopologicalSorter({n: [p for p in graph if n in graph[p]] for n in graph}).prepare()


def test_topo_order_breaks_ties_by_first_appearance(impl: ModuleType) -> None:
    graph = {"x": ["c"], "a": ["c", "b"], "c": [], "b": ["d"]}
    # ready at the start: x, a (key order); a frees c then b (its successors as listed)
    assert impl.topo_order(graph) == ["x", "a", "c", "b", "d"]


def test_successor_only_nodes_are_nodes(impl: ModuleType) -> None:
    assert impl.topo_order({"a": ["b", "c"]}) == ["a", "b", "c"]


@given(dags(max_nodes=8), st.data())
def test_a_cycle_is_reported_with_the_nodes_that_form_it(
    impl: ModuleType, graph: Graph, data: st.DataObject
) -> None:
    graph = {n: list(t) for n, t in graph.items()} | {"p": [], "q": []}
    ring = data.draw(
        st.lists(st.sampled_from(sorted(graph, key=str)), min_size=2, max_size=5, unique=True)
    )
    for k, node in enumerate(ring):  # close a ring through some of the nodes
        graph[node].append(ring[(k + 1) % len(ring)])
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(
            {n: [p for p in graph if n in graph[p]] for n in graph}
        ).prepare()
    with pytest.raises(impl.CycleError) as caught:
        impl.topo_order(graph)
    cycle = caught.value.cycle
    assert cycle, "CycleError.cycle is empty"
    assert len(set(cycle)) == len(cycle), f"cycle repeats a node: {cycle}"
    for k, node in enumerate(cycle):
        successor = cycle[(k + 1) % len(cycle)]
        assert successor in graph[node], (
            f"{cycle} is not a cycle: no edge {node!r} -> {successor!r}"
        )


def test_a_cycle_report_leaves_out_nodes_downstream_of_it(impl: ModuleType) -> None:
    graph = {"a": ["b"], "b": ["c", "sink"], "c": ["a"], "sink": ["tail"]}
    with pytest.raises(impl.CycleError) as caught:
        impl.topo_order(graph)
    assert sorted(caught.value.cycle) == ["a", "b", "c"]
    assert "'a'" in str(caught.value)


@given(dags(), st.lists(st.integers(0, 100), min_size=1, max_size=5))
def test_peak_live_bytes_matches_the_definition(
    impl: ModuleType, graph: Graph, values: list[int]
) -> None:
    sizes = sizes_for(graph, values)
    order = impl.topo_order(graph)
    assert impl.peak_live_bytes(graph, order, sizes) == brute_peak(graph, order, sizes)


def test_a_consumer_reads_inputs_while_writing_its_output(impl: ModuleType) -> None:
    graph = {"a": ["b"], "b": ["c"], "c": []}
    sizes = {"a": 10, "b": 20, "c": 40}
    assert impl.peak_live_bytes(graph, ["a", "b", "c"], sizes) == 60  # b and c at c's step


def test_graph_outputs_stay_live_to_the_end(impl: ModuleType) -> None:
    graph = {"a": ["c"], "b": [], "c": []}
    sizes = {"a": 1, "b": 100, "c": 10}
    assert impl.peak_live_bytes(graph, ["b", "a", "c"], sizes) == 111


def _check_plan(graph: Graph, order: Sequence[Any], sizes: Mapping[Any, int], plan: Any) -> None:
    offsets = plan.offsets
    spans = live_spans(graph, order)
    assert set(offsets) == set(graph)
    for node, offset in offsets.items():
        assert offset >= 0
        assert offset + sizes[node] <= plan.arena_bytes
    placed = [n for n in graph if sizes[n]]
    for k, a in enumerate(placed):
        for b in placed[k + 1 :]:
            (a0, a1), (b0, b1) = spans[a], spans[b]
            if a0 <= b1 and b0 <= a1:  # live at a common step: memory must be disjoint
                disjoint = (
                    offsets[a] + sizes[a] <= offsets[b] or offsets[b] + sizes[b] <= offsets[a]
                )
                assert disjoint, (
                    f"{a!r} [{offsets[a]}, {offsets[a] + sizes[a]}) and {b!r} "
                    f"[{offsets[b]}, {offsets[b] + sizes[b]}) overlap while both are live "
                    f"(steps {spans[a]} and {spans[b]})"
                )


@given(dags(), st.lists(st.integers(0, 64), min_size=1, max_size=5))
def test_plan_never_overlaps_live_buffers_and_reports_its_bounds(
    impl: ModuleType, graph: Graph, values: list[int]
) -> None:
    sizes = sizes_for(graph, values)
    order = impl.topo_order(graph)
    plan = impl.plan_memory(graph, order, sizes)
    _check_plan(graph, order, sizes, plan)
    assert plan.naive_bytes == sum(sizes.values())
    assert plan.peak_live_bytes == brute_peak(graph, order, sizes)
    assert plan.peak_live_bytes <= plan.arena_bytes <= plan.naive_bytes
    assert plan.arena_bytes == max((plan.offsets[n] + sizes[n] for n in graph), default=0)


def test_a_chain_reuses_memory(impl: ModuleType) -> None:
    graph = {f"n{k}": [f"n{k + 1}"] for k in range(6)}
    sizes = {f"n{k}": 100 for k in range(7)}
    plan = impl.plan_memory(graph, impl.topo_order(graph), sizes)
    assert plan.arena_bytes == 200  # two buffers ping-pong, however long the chain


def test_plan_on_a_traced_resnet_reuses_most_memory(impl: ModuleType) -> None:
    graph, sizes = cnn_graph.traced_graph()
    order = impl.topo_order(graph)
    plan = impl.plan_memory(graph, order, sizes)
    _check_plan(graph, order, sizes, plan)
    assert plan.arena_bytes <= plan.naive_bytes / 3
    assert plan.arena_bytes <= 1.25 * plan.peak_live_bytes  # close to the lower bound


@given(dags(max_nodes=7), st.lists(st.integers(0, 50), min_size=1, max_size=4))
def test_best_order_is_topological_and_no_worse_than_kahn(
    impl: ModuleType, graph: Graph, values: list[int]
) -> None:
    sizes = sizes_for(graph, values)
    order = impl.best_order(graph, sizes)
    assert _is_topological(graph, order), f"not a topological order: {order}"
    best = min(brute_peak(graph, o, sizes) for o in all_topological_orders(graph))
    kahn = brute_peak(graph, impl.topo_order(graph), sizes)
    assert best <= brute_peak(graph, order, sizes) <= kahn


def test_best_order_finishes_a_branch_before_starting_another(impl: ModuleType) -> None:
    # Kahn's breadth-first order keeps both big branch heads live at once; finishing one branch
    # (its head freed by a small reduction) first halves the peak.
    graph = {"x": ["a1", "b1"], "a1": ["a2"], "b1": ["b2"], "a2": ["y"], "b2": ["y"], "y": []}
    sizes = {"x": 1, "a1": 100, "b1": 100, "a2": 1, "b2": 1, "y": 1}
    assert impl.peak_live_bytes(graph, impl.topo_order(graph), sizes) == 201
    assert impl.peak_live_bytes(graph, impl.best_order(graph, sizes), sizes) == 102


def test_bad_input_is_rejected_with_a_clear_error(impl: ModuleType) -> None:
    graph = {"a": ["b"], "b": []}
    sizes = {"a": 1, "b": 1}
    with pytest.raises(TypeError, match="mapping"):
        impl.topo_order([("a", "b")])
    with pytest.raises(ValueError, match="topological"):
        impl.peak_live_bytes(graph, ["b", "a"], sizes)
    with pytest.raises(ValueError):
        impl.peak_live_bytes(graph, ["a"], sizes)
    with pytest.raises(ValueError):
        impl.plan_memory(graph, ["a", "a"], sizes)
    with pytest.raises(ValueError, match="b"):
        impl.plan_memory(graph, ["a", "b"], {"a": 1})
    with pytest.raises(ValueError, match="non-negative"):
        impl.peak_live_bytes(graph, ["a", "b"], {"a": 1, "b": -1})

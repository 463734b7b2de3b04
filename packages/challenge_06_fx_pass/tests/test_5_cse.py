"""Task 5: common subexpression elimination."""

from __future__ import annotations

from types import ModuleType

import pytest
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded


@pytest.mark.task(5)
def test_repeats_merge_and_kwargs_keep_look_alikes_apart(impl: ModuleType) -> None:
    case = models.make_case("common_subexpressions")
    gm = models.trace(case.model)
    merged = impl.eliminate_common_subexpressions(gm)
    removed = {n.name for n in gm.graph.nodes} - {n.name for n in merged.graph.nodes}
    assert removed == {"sin_1", "proj_1", "sum_2"}, (
        f"removed {sorted(removed)}: expected the second sin, proj and sum(dim=1, keepdim=True); "
        "cumsum(dim=0)/cumsum(dim=1) and gelu()/gelu(approximate='tanh') differ in kwargs (task 5)"
    )
    assert_same_outputs(
        run_seeded(merged, case.inputs), run_seeded(case.model, case.inputs), task=5, what="CSE"
    )


@pytest.mark.task(5)
def test_no_merge_across_an_in_place_op(impl: ModuleType) -> None:
    case = models.make_case("mutation")
    gm = models.trace(case.model)
    merged = impl.eliminate_common_subexpressions(gm)
    assert_same_outputs(
        run_seeded(merged, case.inputs),
        run_seeded(case.model, case.inputs),
        task=5,
        what="y.sum() before and after y.mul_(2)",
    )
    assert len(merged.graph.nodes) == len(gm.graph.nodes)


@pytest.mark.task(5)
def test_int_and_float_literals_are_different_arguments(impl: ModuleType) -> None:
    case = models.make_case("dtype_literal")
    merged = impl.eliminate_common_subexpressions(models.trace(case.model))
    assert_same_outputs(
        run_seeded(merged, case.inputs),
        run_seeded(case.model, case.inputs),
        task=5,
        what="x + 1 (int64) and x + 1.0 (float32)",
    )


@pytest.mark.task(5)
def test_random_draws_are_not_merged(impl: ModuleType) -> None:
    case = models.make_case("random_ops")
    merged = impl.eliminate_common_subexpressions(models.trace(case.model))
    names = {n.name for n in merged.graph.nodes}
    assert {"rand_like_1", "rand_like_2"} <= names, "two rand_like calls are two draws (task 5)"

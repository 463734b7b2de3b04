"""The pytest plugin every challenge's tests run under (registered as the ``prep`` entry point).

It gives every test an ``impl`` fixture (the module ``CHALLENGE_IMPL`` selects, for the
challenge whose folder holds the test), prints ``implementation under test: <impl>`` in the
header, defines the markers ``task(k)``, ``gpu``, ``multigpu``, ``slow`` and ``torchrun`` (with
skips that say what to do instead), filters by ``--task k``, and when ``PREP_REPORT`` names a
file writes a JSON report of every test's outcome there (``prep test`` and ``prep verify`` read it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from prep import impl as impl_switch

REPORT_ENV = "PREP_REPORT"
FAIL_FAST_PROFILE = "prep-fail-fast"
_OUTCOMES = pytest.StashKey[dict[str, dict[str, Any]]]()


def _register_hypothesis_profile() -> None:
    """Two hypothesis profiles for every challenge. ``prep`` (the default): few, fixed examples,
    so failures reproduce and suites stay fast. ``prep-fail-fast``: for runs that only ask
    *whether* a suite fails (the starter, known-wrong versions): no shrinking, one error per
    test. A test's own ``@settings(...)`` still overrides either."""
    try:
        from hypothesis import HealthCheck, Phase, settings
    except ImportError:  # hypothesis is in the dev group; a bare install has none
        return
    common = {
        "deadline": None,
        "derandomize": True,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    }
    settings.register_profile("prep", max_examples=25, **common)  # type: ignore[arg-type]
    settings.register_profile(
        FAIL_FAST_PROFILE,
        max_examples=25,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        report_multiple_bugs=False,
        **common,  # type: ignore[arg-type]
    )
    settings.load_profile("prep")  # `--hypothesis-profile=...` replaces it in pytest_configure


_register_hypothesis_profile()


def _root_cause(exc: BaseException) -> BaseException:
    """The single exception inside (nested) exception groups whose leaves share one type."""
    while isinstance(exc, BaseExceptionGroup):
        leaves = list(exc.exceptions)
        if not leaves or len({type(e) for e in leaves}) != 1:
            return exc
        exc = leaves[0]
    return exc


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prep")
    group.addoption("--task", action="append", default=[], help="run only tests of README task K")
    group.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "task(k): the README task (and starter TODO) the test exercises",
        "gpu: needs a CUDA GPU",
        "multigpu: needs two or more CUDA GPUs",
        "slow: takes more than a few seconds; runs with --run-slow",
        "torchrun: multi-process test; runs under torchrun (the torchrun-* nox sessions)",
    ):
        config.addinivalue_line("markers", line)
    config.stash[_OUTCOMES] = {}


def pytest_report_header(config: pytest.Config) -> str:
    try:
        return f"implementation under test: {impl_switch.selected()}"
    except impl_switch.ImplError as exc:
        raise pytest.UsageError(str(exc)) from None


def challenge_package(path: Path) -> str | None:
    """The import package of the challenge whose folder holds ``path`` (``None`` outside one)."""
    for parent in path.resolve().parents:
        if parent.name.startswith("challenge_") and (parent / "pyproject.toml").is_file():
            return parent.name
    return None


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The implementation under test: ``<challenge>.<CHALLENGE_IMPL>`` (default ``solution``)."""
    package = challenge_package(Path(request.path))
    if package is None:
        pytest.fail(f"{request.path} is not inside a packages/challenge_NN_<slug>/ folder")
    return impl_switch.load(package)


def _session_suffix(item: pytest.Item) -> str:
    """``challenge_NN`` for a challenge's test, ``shared`` for the harness's own."""
    package = challenge_package(Path(item.path))
    return f"challenge_{package.removeprefix('challenge_')[:2]}" if package else "shared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {str(t) for t in config.getoption("--task")}
    if wanted:
        keep = [i for i in items if {str(m.args[0]) for m in i.iter_markers("task")} & wanted]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    needs_gpu = any(i.get_closest_marker("gpu") or i.get_closest_marker("multigpu") for i in items)
    cuda = _cuda_count() if needs_gpu else 0  # importing torch costs seconds: only when asked
    for item in items:
        suffix = _session_suffix(item)
        nn = suffix.removeprefix("challenge_")
        if item.get_closest_marker("slow") and not config.getoption("--run-slow"):
            item.add_marker(pytest.mark.skip(reason="slow test: add --run-slow to run it"))
        if item.get_closest_marker("gpu") and cuda < 1:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs a CUDA GPU and none is visible: run it on a GPU machine"
                    + (
                        ""
                        if suffix == "shared"
                        else f"; here the CPU tests cover the same logic and `uv run prep bench {nn}` times the CPU path"
                    )
                )
            )
        if item.get_closest_marker("multigpu") and cuda < 2:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs 2+ CUDA GPUs ({cuda} visible): on CPU run "
                    f"`uv run nox -s torchrun-{suffix}` (gloo ranks) instead"
                )
            )
        if item.get_closest_marker("torchrun") and "WORLD_SIZE" not in os.environ:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"multi-process test: run `uv run nox -s torchrun-{suffix}` "
                    f"(or `torchrun --standalone --nproc-per-node=2 -m pytest {item.path.name}`)"
                )
            )


def _cuda_count() -> int:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of prep
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    outcomes = item.config.stash[_OUTCOMES]
    entry = outcomes.setdefault(
        item.nodeid,
        {
            "outcome": "passed",
            "tasks": [str(m.args[0]) for m in item.iter_markers("task")],
            "exception": None,
            "message": None,
        },
    )
    if report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"
    elif report.failed:
        entry["outcome"] = "failed"
        entry.setdefault("phase", report.when)  # setup, call or teardown: where it first failed
        if call.excinfo is not None and entry["exception"] is None:
            cause = _root_cause(call.excinfo.value)
            text = str(cause)
            entry["exception"] = type(cause).__name__
            entry["message"] = text.splitlines()[0][:300] if text else ""
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(REPORT_ENV)
    if not target or os.environ.get("RANK", "0") != "0":
        return
    outcomes = session.config.stash[_OUTCOMES]
    counts = {
        k: sum(1 for e in outcomes.values() if e["outcome"] == k)
        for k in ("passed", "failed", "skipped")
    }
    by_task: dict[str, dict[str, int]] = {}
    for entry in outcomes.values():
        if entry["outcome"] == "skipped":
            continue
        for task in entry["tasks"]:
            tally = by_task.setdefault(task, {"passed": 0, "ran": 0})
            tally["ran"] += 1
            tally["passed"] += entry["outcome"] == "passed"
    report = {
        "impl": impl_switch.selected(),
        "exitstatus": int(exitstatus),
        **counts,
        "total": len(outcomes),
        "by_task": dict(
            sorted(by_task.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
        ),
        "tests": outcomes,
    }
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(report, indent=1), encoding="utf-8")

"""Test helpers: ``assert_close`` with a report a candidate can act on, and the starter contract.

``assert_close`` replaces a bare ``assert np.allclose(...)``: on failure it says which shapes,
dtypes and devices were compared, the largest absolute and relative errors, where NaNs differ,
the first mismatching elements, and which task of the README to revisit.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from prep import impl as impl_switch

_MAX_SHOWN = 5
TODO_PATTERN = re.compile(
    r"^TODO\((?P<nn>\d{2})\.(?P<task>\d+)\): .+ - see README task (?P<ref>\d+)$"
)


def _describe(value: Any) -> tuple[npt.NDArray[Any], str, str, str]:
    """(array, shape, dtype, device) of a tensor, array or number, for the report."""
    # A torch tensor can only exist once torch is imported: no need to pay its import here.
    torch: Any = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        host = value.detach().to("cpu")
        if host.dtype.is_floating_point:  # bfloat16 has no numpy dtype
            host = host.to(torch.float64)
        return host.numpy(), str(tuple(value.shape)), str(value.dtype), str(value.device)
    array = np.asarray(value)
    return array, str(array.shape), str(array.dtype), "cpu (numpy)"


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    equal_nan: bool = True,
    check_dtype: bool = False,
    task: int | str | None = None,
    what: str = "result",
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with a report.

    Args:
        actual, expected: torch tensors, numpy arrays or numbers of the same shape.
        rtol, atol: tolerances; write the reason for them next to the call.
        equal_nan: NaN in the same position on both sides counts as equal.
        check_dtype: also require the same dtype.
        task: the README task to revisit when this fails (printed in the report).
        what: what is compared, e.g. ``"grad of a"``.

    Raises:
        AssertionError: with a multi-line report of the mismatch.
    """
    a, a_shape, a_dtype, a_device = _describe(actual)
    e, e_shape, e_dtype, e_device = _describe(expected)
    header = [
        f"{what} is not close to the reference",
        f"  actual:   shape {a_shape}, dtype {a_dtype}, device {a_device}",
        f"  expected: shape {e_shape}, dtype {e_dtype}, device {e_device}",
    ]
    hint = [f"  revisit README task {task}"] if task is not None else []
    if a.shape != e.shape:
        raise AssertionError("\n".join([*header, "  shapes differ", *hint]))
    if check_dtype and a_dtype != e_dtype:
        raise AssertionError("\n".join([*header, "  dtypes differ", *hint]))
    if a.dtype == np.bool_ or e.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    a64 = a.astype(np.float64) if a.dtype.kind != "c" else a
    e64 = e.astype(np.float64) if e.dtype.kind != "c" else e
    ok = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bool(np.all(ok)):
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_err = np.abs(a64 - e64)
        rel_err = abs_err / np.abs(e64)
    finite = np.isfinite(abs_err)
    max_abs = float(np.max(abs_err[finite])) if finite.any() else float("nan")
    rel_finite = np.isfinite(rel_err)
    max_rel = float(np.max(rel_err[rel_finite])) if rel_finite.any() else float("inf")
    bad = np.argwhere(~ok) if a64.ndim else np.zeros((1, 0), dtype=np.int64)
    lines = [
        *header,
        f"  mismatched: {int((~ok).sum())} of {ok.size} elements (rtol={rtol:g}, atol={atol:g})",
        f"  max abs error: {max_abs:.6g}   max rel error: {max_rel:.6g}",
    ]
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    if (nan_a != nan_e).any():
        where = np.argwhere(nan_a != nan_e)[:_MAX_SHOWN].tolist()
        lines.append(
            f"  NaN differs at {where} (actual NaNs {int(nan_a.sum())}, expected {int(nan_e.sum())})"
        )
    lines.append("  first mismatches (index: actual vs expected):")
    for index in bad[:_MAX_SHOWN]:
        key = tuple(int(i) for i in index)
        lines.append(f"    {key}: {a64[key].item()!r} vs {e64[key].item()!r}")
    raise AssertionError("\n".join([*lines, *hint]))


@dataclass(frozen=True)
class ContractProblem:
    """One way the starter departs from the solution's public API or the TODO format."""

    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}"


def public_api(module: ModuleType) -> dict[str, Any]:
    """The names a module defines itself (no imports, no underscores), by name."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        ]
    return {n: getattr(module, n) for n in names}


def _signature(obj: Any) -> str | None:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None


def _members(cls: type) -> dict[str, Any]:
    return {n: v for n, v in vars(cls).items() if not n.startswith("_") or n in _DUNDERS}


_DUNDERS = {
    "__init__", "__call__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__pow__", "__neg__", "__matmul__", "__rmatmul__",
    "__getitem__", "__len__", "__iter__",
}  # fmt: skip


def starter_contract_problems(package: str) -> list[ContractProblem]:
    """Differences between ``<package>.starter`` and ``<package>.solution``.

    The starter must define every public name of the solution, with the same kind (class or
    function) and the same signatures (methods included), and every ``NotImplementedError`` it
    raises must read ``TODO(NN.k): <what to do> - see README task k``.
    """
    starter = impl_switch.load(package, "starter")
    solution = impl_switch.load(package, "solution")
    problems: list[ContractProblem] = []
    s_api, ref_api = public_api(starter), public_api(solution)
    for name, ref in ref_api.items():
        if name not in s_api:
            problems.append(ContractProblem(name, "defined in solution but missing in starter"))
            continue
        ours = s_api[name]
        if isinstance(ref, type) != isinstance(ours, type):
            problems.append(ContractProblem(name, "class in one module, not in the other"))
            continue
        if isinstance(ref, type):
            ref_members, our_members = _members(ref), _members(ours)
            for member, ref_value in ref_members.items():
                if member not in our_members:
                    problems.append(ContractProblem(f"{name}.{member}", "missing in starter"))
                elif _signature(ref_value) != _signature(our_members[member]):
                    problems.append(
                        ContractProblem(
                            f"{name}.{member}",
                            f"signature {_signature(our_members[member])} != solution's "
                            f"{_signature(ref_value)}",
                        )
                    )
        elif callable(ref) and _signature(ref) != _signature(ours):
            problems.append(
                ContractProblem(
                    name, f"signature {_signature(ours)} != solution's {_signature(ref)}"
                )
            )
    problems.extend(_todo_problems(Path(str(starter.__file__)), package))
    return problems


def _todo_problems(path: Path, package: str) -> list[ContractProblem]:
    """Check every ``raise NotImplementedError(...)`` in the starter names its task."""
    nn = package.removeprefix("challenge_")[:2]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems: list[ContractProblem] = []
    todos = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        if not (isinstance(func, ast.Name) and func.id == "NotImplementedError"):
            continue
        todos += 1
        arg = node.exc.args[0] if node.exc.args else None
        text = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        match = TODO_PATTERN.match(text or "")
        where = f"starter.py:{node.lineno}"
        if match is None:
            problems.append(
                ContractProblem(
                    where, f"message {text!r} must read 'TODO({nn}.k): ... - see README task k'"
                )
            )
        elif match["nn"] != nn or match["task"] != match["ref"]:
            problems.append(
                ContractProblem(where, f"message {text!r} names the wrong challenge or task")
            )
    if todos == 0:
        problems.append(ContractProblem("starter.py", "has no TODO raising NotImplementedError"))
    return problems


# --------------------------------------------------------------------------------------------
# The suite runner: prove the starter fails where it should and every known-wrong version is
# rejected. `prep verify NN` and the nox test sessions call it.


@dataclass(frozen=True)
class SuiteRun:
    """The outcome of one pytest run of a challenge's suite against one implementation."""

    impl: str
    exitstatus: int
    report: dict[str, Any]

    @property
    def tests(self) -> dict[str, dict[str, Any]]:
        return dict(self.report.get("tests", {}))


def run_suite(
    root: Path,
    impl: str,
    report_path: Path,
    extra: tuple[str, ...] = (),
    quiet: bool = True,
    threads: int | None = None,
) -> SuiteRun:
    """Run ``pytest <root>/tests`` in a subprocess with ``CHALLENGE_IMPL=impl``.

    ``threads`` caps OpenMP/BLAS threads (``OMP_NUM_THREADS``) for runs that go side by side:
    two processes with a thread per core each make OpenMP barriers wait out time slices.
    """
    import json
    import os
    import subprocess

    env = {**os.environ, impl_switch.ENV_VAR: impl, "PREP_REPORT": str(report_path)}
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    report_path.unlink(missing_ok=True)
    args = [sys.executable, "-m", "pytest", str(root / "tests")]
    if quiet:
        args += _quiet_args(extra)
    else:
        args += ["-p", "no:cacheprovider", *extra]
        if importlib.util.find_spec("hypothesis") is not None:
            args.append("--hypothesis-profile=prep-fail-fast")
    proc = subprocess.run(args, env=env, cwd=root, check=False, capture_output=quiet)
    report: dict[str, Any] = {}
    if report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))
    elif quiet:
        tail = (proc.stdout + proc.stderr).decode(errors="replace")[-2000:]
        report = {"error": tail}
    return SuiteRun(impl, proc.returncode, report)


def starter_run_problems(run: SuiteRun) -> list[str]:
    """Problems with a run against the starter: a task test that passed, or failed with
    something other than ``NotImplementedError`` (the starter crashed somewhere else)."""
    if not run.tests:
        return [
            f"the starter's suite did not run (exit {run.exitstatus}): {run.report.get('error', '')}"
        ]
    problems = []
    for nodeid, entry in run.tests.items():
        if not entry["tasks"] or entry["outcome"] == "skipped":
            continue
        if entry["outcome"] == "passed":
            problems.append(f"{nodeid} passes against the starter: it does not exercise its task")
        elif entry["exception"] != "NotImplementedError":
            problems.append(
                f"{nodeid} fails with {entry['exception']} ({entry['message']}) rather than the "
                f"starter's NotImplementedError"
            )
    return problems


def rejecting_tests(run: SuiteRun) -> list[str]:
    """The tests that failed on their own assertions: in the test body, or an assertion in a
    fixture. A fixture that crashes otherwise (a wrong version that cannot even be set up)
    proves nothing about the suite."""
    return [
        name
        for name, e in run.tests.items()
        if e["outcome"] == "failed"
        and (e.get("phase", "call") == "call" or e.get("exception") == "AssertionError")
    ]


def wrong_run_problem(run: SuiteRun) -> str | None:
    """``None`` when the suite rejected the wrong version (a test failed); else why not."""
    if run.exitstatus == 1 and rejecting_tests(run):
        return None
    if run.exitstatus == 0:
        return f"{run.impl} passes the whole suite: the tests cannot tell it from a correct one"
    broken = next(((n, e) for n, e in run.tests.items() if e["outcome"] == "failed"), None)
    if broken is not None:
        name, e = broken
        return (
            f"{run.impl}: {name} errors in its {e.get('phase', 'setup')} "
            f"({e.get('exception')}: {e.get('message')}), before any test could reject it: "
            "the wrong version is broken, not caught"
        )
    return f"{run.impl}: the suite did not run cleanly (exit {run.exitstatus}): {run.report.get('error', '')}"


def wrong_focus(path: Path) -> tuple[str, ...]:
    """pytest options for the tests that should reject a wrong version first: ``--task k`` for
    each task its file names in a top-level ``TASK = k`` (an int, a str or a tuple of them);
    none if absent. Read from the source: the module's ``IMPLEMENTATION`` is what loads."""
    declared: object = None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "TASK" for t in node.targets
        ):
            try:
                declared = ast.literal_eval(node.value)
            except ValueError:
                declared = None
    if declared is None:
        return ()
    tasks = declared if isinstance(declared, tuple | list) else (declared,)
    return tuple(arg for task in tasks for arg in ("--task", str(task)))


def _quiet_args(extra: tuple[str, ...]) -> list[str]:
    """pytest options of a run that only asks whether the suite fails, and where."""
    args = ["-p", "no:cacheprovider", *extra]
    if importlib.util.find_spec("hypothesis") is not None:
        args.append("--hypothesis-profile=prep-fail-fast")  # whether it fails, not a minimal case
    return [*args, "-q", "--no-header", "--tb=no", "-rN"]


def _run_side_by_side(
    root: Path, work: Path, jobs: dict[str, tuple[str, ...]]
) -> dict[str, SuiteRun]:
    """Run each job's suite in its own process, one per CPU core (one thread each).

    Where it is safe (``prep.forkrun.available``) the processes are forked from one that
    imported the suite once, instead of each importing torch and the tests again."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from prep import forkrun

    if not jobs:
        return {}
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    threads = 1 if workers > 1 else None
    reports = {impl: work / f"{impl.replace(':', '_')}.json" for impl in jobs}
    if len(jobs) > 1 and threads == 1 and forkrun.available():
        return _run_forked(root, work, jobs, reports, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            impl: pool.submit(run_suite, root, impl, reports[impl], extra, True, threads)
            for impl, extra in jobs.items()
        }
        return {impl: future.result() for impl, future in futures.items()}


def _run_forked(
    root: Path,
    work: Path,
    jobs: dict[str, tuple[str, ...]],
    reports: dict[str, Path],
    workers: int,
) -> dict[str, SuiteRun]:
    """`_run_side_by_side` through ``python -m prep.forkrun`` (one thread per run)."""
    import json
    import os
    import subprocess

    spec = {
        "root": str(root),
        "workers": workers,
        "collect": [a for a in _quiet_args(()) if a.startswith(("-p", "no:", "--hypothesis"))],
        "jobs": {impl: [str(reports[impl]), *_quiet_args(extra)] for impl, extra in jobs.items()},
    }
    for path in reports.values():
        path.unlink(missing_ok=True)
    spec_path = work / "forkrun.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "prep.forkrun", str(spec_path)],
        env=env,
        cwd=root,
        check=False,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    try:
        codes: dict[str, int] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        codes = {}
    runs: dict[str, SuiteRun] = {}
    for impl in jobs:
        report: dict[str, Any] = {}
        if reports[impl].is_file():
            report = json.loads(reports[impl].read_text(encoding="utf-8"))
        else:
            report = {"error": (proc.stdout + proc.stderr)[-2000:]}
        runs[impl] = SuiteRun(impl, codes.get(impl, 3), report)
    return runs


def verify(package: str, root: Path, work: Path) -> list[str]:
    """Check the starter contract, the starter's run and every wrong version; return problems.

    The runs are independent processes, so they go side by side, one per CPU core.
    """
    problems = [f"starter contract: {p}" for p in starter_contract_problems(package)]
    names = impl_switch.wrong_names(package)
    if len(names) < 2:
        problems.append(
            f"tests/wrong/ holds {len(names)} known-wrong versions; at least 2 are needed"
        )
    focus: dict[str, tuple[str, ...]] = {}
    for name in list(names):
        try:  # a wrong version that cannot even load would "fail" every test for nothing
            impl_switch.load(package, f"wrong:{name}")
        except Exception as exc:
            problems.append(f"wrong:{name} does not load: {type(exc).__name__}: {exc}")
            names.remove(name)
            continue
        focus[f"wrong:{name}"] = wrong_focus(impl_switch.wrong_dir(package) / f"{name}.py")
    # A wrong version that names the task it breaks (``TASK = k``) runs that task's tests first;
    # one they do not reject runs the whole suite, so the declaration only saves time.
    jobs = {"starter": ()} | {impl: ("-x", *focused) for impl, focused in focus.items()}
    runs = _run_side_by_side(root, work, jobs)
    retry: dict[str, tuple[str, ...]] = {
        impl: ("-x",)
        for impl, run in runs.items()
        if focus.get(impl) and wrong_run_problem(run) is not None
    }
    runs |= _run_side_by_side(root, work, retry)
    problems += starter_run_problems(runs.pop("starter"))
    for impl, run in runs.items():
        problem = wrong_run_problem(run)
        if problem is None:
            caught = rejecting_tests(run)[0]
            print(f"  {impl} rejected by {caught}")
            if impl in retry:
                print(
                    f"    (not by the tests of its TASK {' '.join(focus[impl][1::2])}: correct TASK)"
                )
        else:
            problems.append(problem)
    return problems

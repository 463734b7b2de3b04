"""One run of a challenge's tests for the candidate (``prep test``, ``watch``, ``mock``).

It checks the sources first (a syntax error is one line naming file and line, not a wall of
identical import errors), runs pytest in a subprocess with a fresh report file (so a failed run
can never show an earlier run's score), and says in one line why a run that did not finish
gives no score.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prep import catalog, readme
from prep import impl as impl_switch
from prep.first_failure import FIRST_FAILURE_ENV
from prep.pytest_plugin import REPORT_ENV

# pytest options that run a subset of the suite: such a run's score is not the challenge's.
_PARTIAL_OPTIONS = (
    "-k", "-m", "-x", "--exitfirst", "--maxfail", "--lf", "--last-failed", "--sw",
    "--stepwise", "--deselect", "--ignore", "--task",
)  # fmt: skip


class SourceError(Exception):
    """A challenge source that does not compile or import; the message is ``file:line: ...``."""


class ReportError(Exception):
    """The JSON report of a run is unreadable; the message names the file."""


def implementation_file(challenge: catalog.Challenge, impl: str) -> Path:
    """The file an implementation name stands for."""
    if impl.startswith(impl_switch.WRONG_PREFIX):
        name = impl[len(impl_switch.WRONG_PREFIX) :]
        return challenge.root / "tests" / "wrong" / f"{name}.py"
    return challenge.root / "src" / challenge.package / f"{impl}.py"


def check_sources(challenge: catalog.Challenge, impl: str, src: Path | None = None) -> None:
    """Raise ``SourceError`` for a missing implementation file or any source that does not
    compile (``src``: another copy of the package's ``src`` folder to check instead)."""
    impl_switch.validate(impl)
    wanted = implementation_file(challenge, impl)
    if src is not None and not impl.startswith(impl_switch.WRONG_PREFIX):
        wanted = src / challenge.package / wanted.name
    if not wanted.is_file():
        where = wanted.parent
        known = sorted(p.stem for p in where.glob("*.py") if not p.name.startswith("_"))
        raise SourceError(f"{wanted} does not exist (found in {where}: {', '.join(known)})")
    folder = (src if src is not None else challenge.root / "src") / challenge.package
    for path in [*sorted(folder.rglob("*.py")), wanted]:
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise SourceError(_syntax_line(exc, path)) from None


def _syntax_line(exc: SyntaxError, path: Path) -> str:
    where = f"{exc.filename or path}:{exc.lineno or '?'}"
    if exc.offset:
        where += f":{exc.offset}"
    return f"{where}: {type(exc).__name__}: {exc.msg}"


def import_problem(exc: BaseException, root: Path) -> str:
    """One line for an exception raised while importing a challenge's code: the innermost
    frame inside the challenge's folder, its line, the exception."""
    if isinstance(exc, SyntaxError):
        return _syntax_line(exc, Path(exc.filename or "?"))
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(root)
    ]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"


def is_partial(tasks: tuple[str, ...], pytest_args: tuple[str, ...]) -> bool:
    """A run of part of the suite (``--task``, ``-k``, ``-x``, a single file or test...)."""
    if tasks:
        return True
    for arg in pytest_args:
        if "::" in arg or arg.endswith(".py"):
            return True
        if any(
            arg == o or arg.startswith(f"{o}=") or (len(o) == 2 and arg.startswith(o))
            for o in _PARTIAL_OPTIONS
        ):
            return True
    return False


@dataclass(frozen=True)
class Outcome:
    """What one run gave: pytest's exit status, its report (``None`` if it wrote none)."""

    exitstatus: int
    report: dict[str, Any] | None
    seconds: float
    first_failure: str | None  # "<node id>\n<pytest's report>" of the first failing test
    output: str  # captured stdout+stderr (quiet runs only)

    @property
    def complete(self) -> bool:
        """The suite ran to the end: every selected test passed or failed."""
        return self.report is not None and self.exitstatus in (0, 1)


def run(
    challenge: catalog.Challenge,
    impl: str,
    tasks: tuple[str, ...] = (),
    pytest_args: tuple[str, ...] = (),
    *,
    quiet: bool = False,
) -> Outcome:
    """Run the challenge's suite against ``impl`` (``quiet``: capture pytest's output).

    Raises:
        SourceError: the implementation file is missing or a source does not compile.
        ReportError: the run wrote a report that cannot be read.
    """
    check_sources(challenge, impl)
    with tempfile.TemporaryDirectory(prefix="prep-run-") as work:
        report_path, failure_path = Path(work) / "report.json", Path(work) / "first_failure.txt"
        env = {
            **os.environ,
            impl_switch.ENV_VAR: impl,
            REPORT_ENV: str(report_path),
            FIRST_FAILURE_ENV: str(failure_path),
        }
        args = [sys.executable, "-m", "pytest", str(challenge.root / "tests")]
        args += ["-p", "prep.first_failure", *(f"--task={k}" for k in tasks), *pytest_args]
        if quiet:
            # Output is captured; --tb=short still gives the first failure its full report.
            args += ["-q", "--no-header", "--tb=short", "-rN", "-p", "no:cacheprovider"]
        start = time.perf_counter()
        proc = subprocess.run(
            args, env=env, cwd=challenge.root, check=False, capture_output=quiet, text=True
        )
        seconds = time.perf_counter() - start
        report = read_report(report_path)
        failure = failure_path.read_text(encoding="utf-8") if failure_path.is_file() else None
    output = (proc.stdout or "") + (proc.stderr or "") if quiet else ""
    return Outcome(proc.returncode, report, seconds, failure, output)


def read_report(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"the test report {path} is unreadable: {exc}") from None
    if not isinstance(data, dict) or not {"impl", "passed", "failed", "skipped"} <= data.keys():
        raise ReportError(f"the test report {path} lacks the pass/fail counts")
    return data


def incomplete_reason(
    challenge: catalog.Challenge, outcome: Outcome, tasks: tuple[str, ...]
) -> str:
    """Why a run that did not finish gives no score, in one line."""
    if outcome.exitstatus == 5:
        if tasks:
            count = len(readme.tasks(challenge.readme.read_text(encoding="utf-8")))
            known = f"its README tasks are 1-{count}" if count else "see its README's Tasks"
            return f"no test of challenge {challenge.nn} is marked task {', '.join(tasks)}: {known}"
        return f"no tests were collected for challenge {challenge.nn}"
    if outcome.exitstatus == 2:
        return (
            "the run was interrupted (a test file failed to import, or Ctrl-C): no score recorded"
        )
    if outcome.exitstatus == 4:
        return "pytest rejected the arguments (see above): no score recorded"
    return f"pytest stopped with exit status {outcome.exitstatus}: no score recorded"

"""Many pytest runs of one challenge's suite, forked from one process that imported it once.

`prep verify` runs the suite against the starter and against every known-wrong version. As
separate processes each run would import torch, the test modules and their oracles again: on a
small machine seconds of CPU per run, more than most runs spend testing. Here one process
collects the suite once (which imports all of that), then forks a child per run; each child
sets its ``CHALLENGE_IMPL`` and report path and calls ``pytest.main``. pytest reuses the test
modules already in ``sys.modules``, and the implementation is chosen by the ``impl`` fixture at
run time, so every child tests its own implementation.

Only where forking is safe: a POSIX system with no NVIDIA driver (a process that touched CUDA
cannot be forked), and with one OpenMP thread per child.

    python -m prep.forkrun JOBS.json

with JOBS.json ``{"root", "workers", "collect": [args], "jobs": {impl: [report, *args]},
"logs": {impl: path}}`` (an empty report path writes none; a job without a log is silent)

prints ``{impl: exit status}`` as JSON on its last line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

# prep (this module's package) is a pytest plugin that is already imported when pytest starts
# here, so pytest cannot rewrite its asserts and says so in every run: nothing is lost.
_QUIET_REWRITE = ("-W", "ignore::pytest.PytestAssertRewriteWarning")


def available() -> bool:
    """Whether runs can be forked here: fork exists and no NVIDIA driver is present."""
    return hasattr(os, "fork") and sys.platform != "win32" and not Path("/dev/nvidiactl").exists()


def _child(root: Path, impl: str, report: str, args: list[str], log: str | None) -> None:
    """In the forked child: run the suite on ``impl`` (output to ``log``, or nowhere), then
    leave without cleanup."""
    code = 3
    try:
        os.environ["CHALLENGE_IMPL"] = impl
        if report:
            os.environ["PREP_REPORT"] = report
        out = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        import pytest

        code = int(pytest.main([str(root / "tests"), *_QUIET_REWRITE, *args]))
    finally:
        os._exit(code)


def run(
    root: Path,
    jobs: dict[str, tuple[str, list[str]]],
    workers: int,
    collect: list[str],
    logs: dict[str, str] | None = None,
) -> dict[str, int]:
    """Collect the suite once (with the options ``collect``), then run each job (impl ->
    (report path, pytest args)) in a forked child, ``workers`` at a time; return each job's
    exit status.

    ``collect`` must load the hypothesis profile the jobs use: ``@settings(...)`` made while
    the test modules are imported, here, take their unset values from the profile loaded then.
    """
    import pytest

    os.chdir(root)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main([str(root / "tests"), "--collect-only", "-q", *_QUIET_REWRITE, *collect])
        if "torch" in sys.modules:
            # The first optimizer step or backward imports torch._dynamo: seconds per child.
            with contextlib.suppress(Exception):
                import torch._dynamo  # noqa: F401
    sys.stdout.flush()
    sys.stderr.flush()
    codes: dict[str, int] = {}
    running: dict[int, str] = {}
    pending = list(jobs.items())
    while pending or running:
        while pending and len(running) < max(1, workers):
            impl, (report, args) = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(root, impl, report, args, (logs or {}).get(impl))
            running[pid] = impl
        pid, status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
    return codes


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    jobs = {impl: (report, list(args)) for impl, (report, *args) in spec["jobs"].items()}
    codes = run(
        Path(spec["root"]),
        jobs,
        int(spec["workers"]),
        list(spec["collect"]),
        dict(spec.get("logs", {})),
    )
    print(json.dumps(codes))


if __name__ == "__main__":
    main()

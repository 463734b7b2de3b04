"""`prep watch`: a save in a (temporary) challenge re-runs the tests and updates the status."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from prep import catalog, suite, watch
from prep.progress import ProgressLog

SOLVED_TASK_1 = (
    'raise NotImplementedError("TODO(99.1): multiply - see README task 1")',
    'if not isinstance(x, int):\n        raise TypeError("x")\n    return x * times',
)


def wait_for(condition: object, what: str, timeout: float = 120.0) -> None:
    """Poll ``condition()`` (a suite run takes seconds on a busy machine)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {condition}")
        time.sleep(0.2)


def test_a_save_reruns_the_tests(demo: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    stop = threading.Event()
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            watch.watch(catalog.get(99), console=console, stop_event=stop, max_runs=3)
        )
    )
    worker.start()
    try:
        wait_for(lambda: out.getvalue().count("watching src/") >= 1, "the first run")
        first = out.getvalue()
        assert "task  1  FAIL  0/2" in first
        assert "first failure: tests/test_demo.py::test_double" in first
        assert "NotImplementedError: TODO(99.1)" in first
        assert "Stuck on task 1? uv run prep hint 99 1 shows hint 1 of 2." in first

        time.sleep(0.5)  # let the watcher settle before the save
        starter.write_text(starter.read_text().replace(*SOLVED_TASK_1))
        wait_for(lambda: out.getvalue().count("watching src/") >= 2, "the run after a save")
        second = out.getvalue()[len(first) :]
        assert "changed: starter.py" in second
        assert "task  1  pass  2/2" in second
        assert "Stuck on task 2?" in second

        time.sleep(0.5)
        starter.write_text(starter.read_text() + "\ndef broken(:\n")  # a half-typed line
        wait_for(lambda: out.getvalue().count("watching src/") >= 3, "the run after a bad save")
        third = out.getvalue()[len(first) + len(second) :]
        assert f"cannot run: {starter}:" in third
        assert "SyntaxError" in third
    finally:
        stop.set()
        worker.join(timeout=30)
    assert result == [0]
    assert "stopped watching" in out.getvalue()
    runs = ProgressLog().attempts("99")
    assert [(a.kind, a.score) for a in runs] == [("watch", (0, 3)), ("watch", (2, 3))]


def test_ctrl_c_exits_cleanly(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> suite.Outcome:
        raise KeyboardInterrupt

    monkeypatch.setattr(suite, "run", interrupted)
    out = io.StringIO()
    assert watch.watch(catalog.get(99), console=Console(file=out)) == 0
    assert out.getvalue().strip().endswith("stopped watching")


def test_a_save_during_the_first_run_is_not_lost(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    real_run = suite.run
    calls: list[int] = []

    def run_then_save(*args: Any, **kwargs: Any) -> suite.Outcome:
        outcome = real_run(*args, **kwargs)
        if not calls:  # the candidate saves while the first run is still going
            starter.write_text(starter.read_text().replace(*SOLVED_TASK_1))
        calls.append(1)
        return outcome

    monkeypatch.setattr(suite, "run", run_then_save)
    out = io.StringIO()
    assert watch.watch(catalog.get(99), console=Console(file=out, width=120), max_runs=2) == 0
    second = out.getvalue().split("watching src/")[1]
    assert "changed: starter.py" in second
    assert "task  1  pass  2/2" in second

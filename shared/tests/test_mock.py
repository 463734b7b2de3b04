"""`prep mock`: a scripted candidate on a fake clock."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from rich.console import Console

from prep import catalog, mock, readme
from prep.progress import ProgressLog


class ScriptedTerminal:
    """A candidate who types each line ``delay`` seconds after the previous one."""

    def __init__(self, script: list[tuple[float, str]]) -> None:
        self.script = list(script)
        self.clock = 1000.0

    def now(self) -> float:
        return self.clock

    def read_line(self, timeout: float | None) -> str | None:
        if not self.script:
            raise EOFError
        delay, line = self.script[0]
        if timeout is not None and delay > timeout:
            self.clock += timeout
            self.script[0] = (delay - timeout, line)
            return None
        self.clock += delay
        self.script.pop(0)
        return line


def run_coding(
    script: list[tuple[float, str]], minutes: float, seed: int = 3
) -> tuple[int, str, mock.CodingRound]:
    job = mock.plan(catalog.challenges(), random.Random(seed), number="99", minutes=minutes)
    out = io.StringIO()
    code = mock.coding(job, ScriptedTerminal(script), Console(file=out, width=100), ProgressLog())
    return code, out.getvalue(), job


def test_plan_picks_tasks_and_follow_ups(demo: Path) -> None:
    for seed in range(8):
        short = mock.plan([], random.Random(seed), number="99", minutes=30)
        assert len(short.tasks) == 1
        assert short.tasks[0] in (1, 2)
        long = mock.plan([], random.Random(seed), number="99", minutes=45)
        assert long.tasks == (1, 2)  # two consecutive tasks of the two
        questions = [f.question for f in long.follow_ups]
        assert 2 <= len(questions) <= 3
        assert len(set(questions)) == len(questions)


def test_done_early_runs_the_tasks_tests_then_asks_follow_ups(demo: Path) -> None:
    # Enter to start, Enter after 10 minutes ("done"), then one Enter per follow-up.
    code, out, job = run_coding([(5, ""), (600, ""), (20, ""), (20, ""), (20, "")], minutes=30)
    task = job.tasks[0]
    assert code == 1  # the untouched starter fails the task's tests
    assert f"Now implement task {task}:" in out
    assert readme.tasks((demo / "README.md").read_text())[task - 1].split(":")[0].strip("*`") in out
    assert "30 min left" in out
    assert "21 min left" in out
    assert "20 min left" not in out
    assert f"task {task}: FAIL" in out
    for k, follow_up in enumerate(job.follow_ups, 1):
        assert f"Follow-up {k} of {len(job.follow_ups)}: {follow_up.question}" in out
    assert out.count("Reference answer:") == len(job.follow_ups)
    assert f"Mock over: task {task} not passed in 10.0 of 30 minutes." in out
    [attempt] = ProgressLog().attempts("99")
    assert (attempt.kind, attempt.tasks, attempt.seconds) == ("mock", (str(task),), 600.0)
    assert not attempt.full


def test_time_running_out_still_tests_and_asks(demo: Path) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    solved = starter.read_text()
    solved = solved.replace(
        'raise NotImplementedError("TODO(99.1): multiply - see README task 1")',
        'if not isinstance(x, int):\n        raise TypeError("x")\n    return x * times',
    ).replace(
        'raise NotImplementedError("TODO(99.2): add and return - see README task 2")',
        "self.value += by\n        return self.value",
    )
    starter.write_text(solved)
    # The candidate never says done: the clock runs out at 45 minutes.
    code, out, _ = run_coding([(1, ""), (10_000, ""), (1, ""), (1, ""), (1, "")], minutes=45)
    assert "Your starter.py already has your edits" not in out  # no hash recorded: as shipped
    assert "Time is up." in out
    assert code == 0
    assert "task 1: pass 2/2" in out
    assert "task 2: pass 1/1" in out
    assert "(time ran out)" in out


def test_closed_input_is_a_clear_error(demo: Path) -> None:
    job = mock.plan([], random.Random(0), number="99", minutes=30)
    with pytest.raises(mock.MockError, match="standard input closed"):
        mock.coding(job, ScriptedTerminal([]), Console(file=io.StringIO()), ProgressLog())


def test_design_round(demo: Path) -> None:
    root = demo.parents[1]
    with pytest.raises(mock.MockError, match="no system-design documents yet"):
        mock.plan_design(root, random.Random(0), name=None, minutes=45)
    docs = root / "docs" / "system_design"
    docs.mkdir(parents=True)
    (docs / "rag_serving.md").write_text(
        "# A RAG serving system\n\nDesign retrieval-augmented answers for 10k QPS.\n\n"
        "## Requirements\n...\n## Architecture\n### Retrieval\n...\n```\n## not a heading\n```\n"
    )
    with pytest.raises(mock.MockError, match="there are: rag_serving"):
        mock.plan_design(root, random.Random(0), name="nope", minutes=45)
    job = mock.plan_design(root, random.Random(0), name="rag", minutes=50)
    out = io.StringIO()
    term = ScriptedTerminal([(1, ""), (40 * 60, "")])
    assert mock.design(job, term, Console(file=out, width=100), ProgressLog()) == 0
    text = out.getvalue()
    assert "A RAG serving system" in text
    assert "10k QPS" in text
    assert "50 min left" in text
    assert "Failure modes" in text
    assert "  - Requirements" in text
    assert "    - Retrieval" in text
    assert "not a heading" not in text
    [attempt] = ProgressLog().attempts("design")
    assert (attempt.kind, attempt.impl, attempt.seconds) == ("design", "rag_serving", 2400.0)

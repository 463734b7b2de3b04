"""The progress log (a temporary data folder), `prep progress`, `prep next` and `prep doctor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prep import catalog, cli, doctor, progress, study
from prep.progress import Attempt, ProgressLog

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def attempt(minutes: float, passed: int, ran: int, **kw: object) -> Attempt:
    fields: dict[str, object] = {
        "challenge": "12",
        "impl": "starter",
        "passed": passed,
        "failed": ran - passed,
        "by_task": {
            "1": {"passed": min(passed, 3), "ran": 3},
            "2": {"passed": max(passed - 3, 0), "ran": ran - 3},
        },
        "at": T0 + timedelta(minutes=minutes),
    }
    fields.update(kw)
    return Attempt(**fields)  # type: ignore[arg-type]


def test_log_round_trip(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "p.sqlite3")
    assert log.attempts() == []  # no file yet: an empty log, and nothing is created
    assert not log.path.exists()
    first = attempt(0, 1, 5, tasks=("2",), subset=True, kind="watch", seconds=1.5)
    log.record(first)
    assert log.attempts() == [first]
    assert log.hints_seen("12") == 0
    log.record_hint("12", 2)
    log.record_hint("12", 1)
    assert log.hints_seen("12") == 2


def test_summary_best_last_and_working_time() -> None:
    attempts = [
        attempt(0, 1, 6),
        attempt(10, 4, 6),
        attempt(15, 6, 6, tasks=("2",), subset=True),  # partial: never the best or last
        attempt(20, 3, 6),  # a regression: the best stays 4/6
        attempt(200, 2, 6, impl="solution"),  # not the starter: not counted
        attempt(300, 3, 6, challenge="01"),
    ]
    s = progress.summarize(attempts, "12")
    assert (s.best, s.last, s.attempts) == ((4, 6), (3, 6), 4)
    assert s.working == timedelta(minutes=20)  # 0 -> 10 -> 15 -> 20, each gap under 30 min
    lone = progress.summarize([attempt(0, 1, 6), attempt(120, 2, 6)], "12")
    assert lone.working == timedelta()  # two hours apart: two sittings, no time between them


def test_progress_command_and_plot(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    log = ProgressLog()
    for k, minutes in enumerate((0, 5, 12)):
        log.record(
            attempt(minutes, k + 1, 3, challenge="99", by_task={"1": {"passed": k + 1, "ran": 3}})
        )
    png = tmp_path / "progress.png"
    assert cli.main(["progress", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "3/3" in out  # best
    assert "12 min" in out  # working time
    assert png.read_bytes().startswith(b"\x89PNG")


def test_list_shows_best_and_last(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = ProgressLog()
    log.record(attempt(0, 2, 3, challenge="99", by_task={"1": {"passed": 2, "ran": 3}}))
    log.record(attempt(5, 1, 3, challenge="99", by_task={"1": {"passed": 1, "ran": 3}}))
    assert cli.main(["list"]) == 0
    assert "2/3 (last 1/3)" in capsys.readouterr().out


def test_study_order_from_the_plan_then_topics(demo: Path, tmp_path: Path) -> None:
    def made(nn: int, topics: tuple[str, ...]) -> catalog.Challenge:
        base = catalog.get(99)
        return catalog.Challenge(nn, "x", f"c{nn}", topics, "easy", 10, False, base.root, "d")

    a, b, c, d = (
        made(3, ("statistics",)),
        made(5, ("fx",)),
        made(12, ("autodiff",)),
        made(1, ("quantization",)),
    )
    assert study.order([a, b, c, d], None) == [d, b, a, c]  # PyTorch 2.x and quantization first
    plan = tmp_path / "study_plans.md"
    plan.write_text(
        "## One week\nDay 1: [challenge 12](x), then challenge_03.\n## Two weeks\nchallenge 12\n"
    )
    assert study.order([a, b, c, d], plan) == [c, a, d, b]


def test_next_step_follows_progress(demo: Path) -> None:
    ordered = [catalog.get(99)]
    assert "Start challenge 99" in study.next_step(ordered, []).text
    halfway = Attempt(
        "99", "starter", 2, 1, by_task={"1": {"passed": 2, "ran": 2}, "2": {"passed": 0, "ran": 1}}
    )
    step = study.next_step(ordered, [halfway])
    assert (step.task, "task 2 (`Counter.bump(by=1)`)" in step.text) == (2, True)
    done = Attempt(
        "99", "starter", 3, 0, by_task={"1": {"passed": 2, "ran": 2}, "2": {"passed": 1, "ran": 1}}
    )
    assert study.next_step(ordered, [halfway, done]).challenge is None
    other = catalog.Challenge(5, "x", "c5", ("fx",), "easy", 10, False, ordered[0].root, "d")
    assert study.next_step([other, *ordered], []).challenge == other  # not started: plan order
    step = study.next_step([other, *ordered], [halfway])  # started beats the plan's order
    assert step.challenge == ordered[0]
    assert "best full run so far 2/3" in step.text


def test_doctor_reports_and_predicts_skips(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    machine = doctor.inspect_machine()
    names = [c.name for c in machine.checks]
    assert names[0] == "Python"
    assert machine.checks[0].ok
    assert {"uv", "triton", "C++ compiler", "nvcc", "ninja"} <= set(names)
    (demo / "tests" / "test_gpu.py").write_text(
        "import pytest\n\n@pytest.mark.gpu\ndef test_x(): ...\n"
    )
    no_gpu = doctor.Machine(machine.checks, gpus=0)
    [line] = doctor.skips([catalog.get(99)], no_gpu)
    assert "challenge 99" in line
    assert "GPU tests skip" in line
    assert doctor.skips([catalog.get(99)], doctor.Machine(machine.checks, gpus=2)) == []
    cli.main(["doctor"])
    assert "what this machine can run" in capsys.readouterr().out

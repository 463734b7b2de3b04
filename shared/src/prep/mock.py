"""``prep mock``: a timed mock interview on a challenge, or a system-design round.

Coding round: one or two tasks of a challenge, stated as an interviewer would, a visible
countdown, the tasks' tests on the starter when the candidate says done (or time is up), then
two or three of the README's follow-ups, one at a time, each answer revealed on Enter. Design
round (``--design``): a question from ``docs/system_design/``, a timer, the checklist, then the
reference design's outline. Both go into the progress log.

Time and input come through a ``Terminal`` so tests can script the candidate and the clock.
"""

from __future__ import annotations

import random
import select
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape

from prep import catalog, practice, readme, suite
from prep.progress import Attempt, ProgressLog

DESIGN_CHECKLIST = (
    "Requirements: functional, non-functional (latency, throughput, cost), scale numbers",
    "Architecture: the components and the data flow between them",
    "Deep dives: two or three components in detail",
    "Scale: what breaks at 10x and 100x, and what you change",
    "Failure modes: detection, fallback, rollback",
)


class MockError(Exception):
    """A mock interview that cannot start or go on; the message says why."""


class Terminal(Protocol):
    """The clock and the keyboard, as the mock interview sees them."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def read_line(self, timeout: float | None) -> str | None:
        """The next line typed, or ``None`` after ``timeout`` seconds (``None``: wait).

        Raises:
            EOFError: the input is closed.
        """
        ...


class SystemTerminal:
    """The real clock and standard input (POSIX: ``select`` on stdin)."""

    def now(self) -> float:
        return time.monotonic()

    def read_line(self, timeout: float | None) -> str | None:
        if timeout is not None:
            ready, _, _ = select.select([sys.stdin], [], [], max(timeout, 0.0))
            if not ready:
                return None
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")


@dataclass(frozen=True)
class CodingRound:
    """What a coding mock asks."""

    challenge: catalog.Challenge
    tasks: tuple[int, ...]  # README task numbers
    minutes: float
    follow_ups: tuple[readme.FollowUp, ...]


def plan(
    challenges: list[catalog.Challenge],
    rng: random.Random,
    *,
    number: str | None,
    minutes: float,
) -> CodingRound:
    """Pick the challenge (or take ``number``), one or two consecutive tasks, 2-3 follow-ups."""
    if number is not None:
        challenge = catalog.get(number)
    else:
        usable = [c for c in challenges if readme.tasks(c.readme.read_text(encoding="utf-8"))]
        if not usable:
            raise MockError("no challenge has a README Tasks list to ask from")
        challenge = rng.choice(usable)
    text = challenge.readme.read_text(encoding="utf-8")
    count = len(readme.tasks(text))
    if count == 0:
        raise MockError(f"challenge {challenge.nn}'s README has no Tasks list to ask from")
    # Under 40 minutes one task fits; with more, two consecutive ones (a task and what builds on it).
    width = 1 if minutes < 40 or count < 2 else 2
    first = rng.randint(1, count - width + 1)
    questions = readme.follow_ups(text)
    picked = rng.sample(questions, min(len(questions), rng.choice((2, 3))))
    return CodingRound(challenge, tuple(range(first, first + width)), minutes, tuple(picked))


def _countdown(term: Terminal, console: Console, seconds: float, prompt: str) -> tuple[float, bool]:
    """Show the time left until Enter or time-out; return (seconds used, finished in time)."""
    start = term.now()
    shown: int | None = None
    while True:
        left = seconds - (term.now() - start)
        if left <= 0:
            if console.is_terminal:
                console.file.write("\n")
            console.print("[bold red]Time is up.[/]")
            return seconds, False
        whole = int(left)
        if console.is_terminal:
            console.file.write(f"\r  {whole // 60:02d}:{whole % 60:02d} left - {prompt}   ")
            console.file.flush()
        elif shown is None or whole // 60 != shown:
            console.print(f"  {whole // 60 + (whole % 60 > 0)} min left - {prompt}")
        shown = whole // 60
        if term.read_line(min(1.0, left)) is not None:
            return term.now() - start, True


def _wait_enter(term: Terminal, console: Console, prompt: str) -> None:
    console.print(f"[dim]{prompt}[/]")
    term.read_line(None)


def coding(
    job: CodingRound,
    term: Terminal,
    console: Console,
    log: ProgressLog,
    runner: Callable[..., suite.Outcome] = suite.run,
) -> int:
    """Run a coding mock; 0 when the tasks' tests pass, 1 otherwise."""
    challenge = job.challenge
    text = challenge.readme.read_text(encoding="utf-8")
    problem = readme.sections(text).get("Problem", "")
    task_text = readme.tasks(text)
    console.rule(
        f"Mock interview - challenge {challenge.nn}: {challenge.title} - {job.minutes:g} min"
    )
    console.print(Markdown(problem))
    for k in job.tasks:
        console.print(f"\n[bold]Now implement task {k}:[/]")
        console.print(Markdown(task_text[k - 1]))
    console.print(f"\nYour file: {practice.starter_path(challenge)}")
    if not practice.state(challenge).pristine:
        console.print(
            "[yellow]Your starter.py already has your edits.[/] For a clean start: "
            f"`uv run prep reset {challenge.nn}` (your version is kept; `--undo` brings it back)."
        )
    try:
        _wait_enter(term, console, "Press Enter to start the clock.")
        used, in_time = _countdown(
            term, console, job.minutes * 60, "press Enter when your solution is ready"
        )
    except EOFError:
        raise MockError("standard input closed: run `prep mock` in a terminal") from None
    tasks = tuple(str(k) for k in job.tasks)
    console.print(f"\nRunning the tests of task {', '.join(tasks)} on your starter...")
    outcome = runner(challenge, "starter", tasks, quiet=True)
    passed = _report_tasks(console, outcome, tasks)
    if outcome.complete and outcome.report is not None:
        log.record(
            Attempt.from_report(
                challenge.nn, outcome.report, tasks=tasks, kind="mock", seconds=used
            )
        )
    try:
        for i, question in enumerate(job.follow_ups, 1):
            console.print(
                f"\n[bold]Follow-up {i} of {len(job.follow_ups)}:[/] {escape(question.question)}"
            )
            _wait_enter(term, console, "Answer out loud (or on paper), then press Enter.")
            console.print(Markdown(f"**Reference answer:** {question.answer}"))
    except EOFError:
        console.print("[dim](input closed: follow-ups skipped)[/]")
    minutes_used = used / 60
    verdict = "[green]passed[/]" if passed else "[red]not passed[/]"
    console.print(
        f"\nMock over: task {', '.join(tasks)} {verdict} in {minutes_used:.1f} of "
        f"{job.minutes:g} minutes{'' if in_time else ' (time ran out)'}. Recorded in `prep progress`."
    )
    return 0 if passed else 1


def _report_tasks(console: Console, outcome: suite.Outcome, tasks: tuple[str, ...]) -> bool:
    report = outcome.report
    if not outcome.complete or report is None:
        console.print(
            f"[red]The tests did not run to the end[/] (pytest exit {outcome.exitstatus})."
        )
        tail = "\n".join(outcome.output.strip().splitlines()[-10:])
        if tail:
            console.print(escape(tail), highlight=False)
        return False
    by_task: dict[str, dict[str, int]] = report.get("by_task", {})
    for task in tasks:
        tally = by_task.get(task, {"passed": 0, "ran": 0})
        ok = tally["ran"] > 0 and tally["passed"] == tally["ran"]
        console.print(
            f"  task {task}: {'[green]pass[/]' if ok else '[red]FAIL[/]'} {tally['passed']}/{tally['ran']}"
        )
    if outcome.first_failure:
        nodeid, _, body = outcome.first_failure.partition("\n")
        console.print(f"  first failure: {escape(nodeid)}")
        console.print(escape("\n".join(body.strip().splitlines()[-12:])), highlight=False)
    return bool(report["failed"] == 0 and report["passed"] > 0)


@dataclass(frozen=True)
class DesignRound:
    """A system-design mock: the reference document and the time allowed."""

    path: Path
    minutes: float

    @property
    def title(self) -> str:
        marks = readme.headings(self.path.read_text(encoding="utf-8"))
        return next((t for level, t, _ in marks if level == 1), self.path.stem.replace("_", " "))


def design_docs(root: Path) -> list[Path]:
    return sorted((root / "docs" / "system_design").glob("*.md"))


def plan_design(root: Path, rng: random.Random, *, name: str | None, minutes: float) -> DesignRound:
    docs = design_docs(root)
    if not docs:
        raise MockError(
            f"no system-design documents yet ({root / 'docs' / 'system_design'} is empty)"
        )
    if name is not None:
        docs = [d for d in docs if name.lower() in d.stem.lower()]
        if not docs:
            known = ", ".join(d.stem for d in design_docs(root))
            raise MockError(f"no system-design document matches {name!r}; there are: {known}")
    return DesignRound(rng.choice(docs), minutes)


def design(job: DesignRound, term: Terminal, console: Console, log: ProgressLog) -> int:
    """Run a design mock: the question, the timer, the checklist, then the outline."""
    text = job.path.read_text(encoding="utf-8")
    intro = readme.intro(text)
    console.rule(f"System-design mock - {job.title} - {job.minutes:g} min")
    console.print(Markdown(f"**Design: {job.title}.**\n\n{intro}"))
    console.print("\n[bold]Cover, in about this order:[/]")
    for item in DESIGN_CHECKLIST:
        console.print(f"  [ ] {item}")
    try:
        _wait_enter(term, console, "Press Enter to start the clock.")
        used, _ = _countdown(term, console, job.minutes * 60, "press Enter when you are done")
    except EOFError:
        raise MockError("standard input closed: run `prep mock --design` in a terminal") from None
    console.print("\n[bold]The reference design's outline[/] (compare with yours):")
    for level, heading, _ in readme.headings(text):
        if level in (2, 3):
            console.print("  " * (level - 1) + "- " + escape(heading))
    console.print(f"\nRead it in full: {job.path}")
    log.record(
        Attempt(
            challenge="design", impl=job.path.stem, passed=0, failed=0, kind="design", seconds=used
        )
    )
    return 0

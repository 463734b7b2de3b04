"""``prep watch NN``: re-run the starter's tests each time a file of the challenge is saved.

Each run shows a compact status (passed/ran per README task), the first failure's report, and
the next hint for the first failing task; every run goes into the progress log.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import watchfiles
from rich.console import Console
from rich.markup import escape

from prep import catalog, readme, suite
from prep.progress import Attempt, ProgressLog

MAX_REPORT_LINES = 40  # of the first failure's report: enough for assert_close's whole report


def first_failing_task(report: dict[str, object]) -> str | None:
    """The lowest-numbered README task with a failing test."""
    by_task = report.get("by_task")
    if not isinstance(by_task, dict):
        return None
    failing = [k for k, t in by_task.items() if t["passed"] < t["ran"]]
    return min(failing, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0), default=None)


def show(
    console: Console,
    challenge: catalog.Challenge,
    outcome: suite.Outcome,
    *,
    impl: str,
    hints_seen: int,
    changed: list[str],
) -> None:
    """Print one run's status: per-task tally, first failure, the hint to try next."""
    when = time.strftime("%H:%M:%S")
    because = f" - changed: {', '.join(changed)}" if changed else ""
    console.rule(f"challenge {challenge.nn} - {impl} - {when} - {outcome.seconds:.1f} s{because}")
    report = outcome.report
    if not outcome.complete or report is None:
        console.print(
            f"[red]no result:[/] {escape(suite.incomplete_reason(challenge, outcome, ()))}"
        )
        tail = "\n".join(outcome.output.strip().splitlines()[-15:])
        if tail:
            console.print(escape(tail), highlight=False)
        return
    by_task: dict[str, dict[str, int]] = report.get("by_task", {})
    for task, tally in by_task.items():
        ok = tally["passed"] == tally["ran"]
        mark = "[green]pass[/]" if ok else "[red]FAIL[/]"
        console.print(f"  task {task:>2}  {mark}  {tally['passed']}/{tally['ran']}")
    passed = sum(t["passed"] for t in by_task.values())
    ran = sum(t["ran"] for t in by_task.values())
    if not by_task:
        passed, ran = report["passed"], report["passed"] + report["failed"]
    console.print(f"  [bold]{passed} of {ran}[/] task tests pass")
    if outcome.first_failure:
        nodeid, _, text = outcome.first_failure.partition("\n")
        lines = text.rstrip().splitlines()
        if len(lines) > MAX_REPORT_LINES:
            lines = [*lines[:MAX_REPORT_LINES], f"... ({len(lines) - MAX_REPORT_LINES} more lines)"]
        console.print(f"\n[bold]first failure:[/] {escape(nodeid)}")
        console.print(escape("\n".join(lines)), highlight=False)
    failing = first_failing_task(report)
    if failing is not None:
        count = len(readme.hints(challenge.readme.read_text(encoding="utf-8")))
        if hints_seen < count:
            console.print(
                f"\nStuck on task {failing}? [bold]uv run prep hint {challenge.nn} "
                f"{hints_seen + 1}[/] shows hint {hints_seen + 1} of {count}."
            )
        else:
            console.print(
                f"\nStuck on task {failing}? Every hint is out; read the baseline beside your "
                f"file, or `uv run prep test {challenge.nn} --impl baseline --task {failing}`."
            )
    elif report["failed"] == 0:
        console.print(
            f"\n[green]Every test passes.[/] Time it: [bold]uv run prep bench {challenge.nn}[/]"
        )


def _snapshot(paths: list[Path]) -> dict[Path, float]:
    return {p: p.stat().st_mtime for root in paths for p in root.rglob("*.py")}


def _changed(before: dict[Path, float], after: dict[Path, float]) -> list[str]:
    return sorted({p.name for p in before.keys() | after.keys() if before.get(p) != after.get(p)})


def watch(
    challenge: catalog.Challenge,
    *,
    console: Console,
    impl: str = "starter",
    tasks: tuple[str, ...] = (),
    log: ProgressLog | None = None,
    stop_event: threading.Event | None = None,
    max_runs: int | None = None,
    force_polling: bool | None = None,
) -> int:
    """Run the tests now and after every save until Ctrl-C (or ``stop_event``/``max_runs``).

    A source that does not compile (a half-typed line) is reported and the watch goes on.
    """
    log = ProgressLog() if log is None else log
    paths = [p for p in (challenge.root / "src", challenge.root / "tests") if p.is_dir()]
    runs = 0

    def once(changed: list[str]) -> None:
        nonlocal runs
        runs += 1
        if console.is_terminal:
            console.clear()
            selected = f" (task {', '.join(tasks)})" if tasks else ""
            console.print(f"[dim]running the tests of challenge {challenge.nn}{selected}...[/]")
        try:
            outcome = suite.run(challenge, impl, tasks, quiet=True)
        except (suite.SourceError, suite.ReportError) as exc:
            if console.is_terminal:
                console.clear()
            console.rule(f"challenge {challenge.nn} - {impl} - {time.strftime('%H:%M:%S')}")
            console.print(f"[red]cannot run:[/] {escape(str(exc))}", soft_wrap=True)
        else:
            if console.is_terminal:
                console.clear()
            if outcome.complete and outcome.report is not None:
                log.record(
                    Attempt.from_report(
                        challenge.nn,
                        outcome.report,
                        tasks=tasks,
                        kind="watch",
                        seconds=outcome.seconds,
                    )
                )
            show(
                console,
                challenge,
                outcome,
                impl=impl,
                hints_seen=log.hints_seen(challenge.nn),
                changed=changed,
            )
        where = " and ".join(f"{p.name}/" for p in paths)
        console.print(
            f"\n[dim]watching {where} of challenge {challenge.nn}: save a file to re-run, "
            "Ctrl-C to stop[/]"
        )

    try:
        # The watcher starts after the first run: a save during that run is caught here.
        before = _snapshot(paths)
        once([])
        changed = _changed(before, _snapshot(paths))
        if changed and (max_runs is None or runs < max_runs):
            once(changed)
        if max_runs is not None and runs >= max_runs:
            return 0
        for changes in watchfiles.watch(
            *paths,
            watch_filter=watchfiles.PythonFilter(),
            debounce=400,
            stop_event=stop_event,
            raise_interrupt=True,  # caught below: no message from watchfiles itself
            force_polling=force_polling,
        ):
            once(sorted({Path(p).name for _, p in changes}))
            if max_runs is not None and runs >= max_runs:
                break
    except KeyboardInterrupt:
        pass
    console.print("stopped watching")
    return 0

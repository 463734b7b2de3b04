"""The ``prep`` command: the candidate's loop over the challenges.

uv run prep list                 every challenge, with your best and latest scores
uv run prep next                 what to work on next (study plan + your progress)
uv run prep show 12              the challenge's README
uv run prep test 12 [--impl X] [--task K] [-- PYTEST ARGS]
uv run prep watch 12 [--task K]  re-run the tests on every save
uv run prep hint 12 [LEVEL]      progressive hints
uv run prep bench 12 [--json F] [--plot F] [--quick] [--threads N]
uv run prep reset 12 [--undo]    restore the pristine starter (yours is kept)
uv run prep progress [--plot F]  your record: best scores, attempts, time spent
uv run prep mock [12] [--minutes 45] [--design]   a timed mock interview
uv run prep doctor               what this machine can run
uv run prep ask "QUESTION"       answers from the PyTorch and project docs, with citations
uv run prep verify 12            starter contract + known-wrong versions rejected
uv run prep pristine 12 [--record]   (contributors) the starter's recorded hash
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from prep import catalog, practice, progress, readme, suite, testing
from prep import impl as impl_switch
from prep.progress import Attempt, ProgressLog

console = Console()


def say(text: str) -> None:
    """One line that keeps its paths whole (rich would wrap it at the terminal's width)."""
    console.print(text, soft_wrap=True, highlight=False)


class CommandError(Exception):
    """A command that cannot do what was asked; the message says why and what to do."""


# Errors a user's input can cause: one line and exit status 2, never a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    catalog.CatalogError,
    impl_switch.ImplError,
    practice.PracticeError,
    progress.ProgressError,
    suite.SourceError,
    suite.ReportError,
    CommandError,
)


def _score_cell(summary: progress.Summary) -> str:
    if summary.best is None:
        return "not run"
    best = progress.format_score(summary.best)
    return (
        best
        if summary.last == summary.best
        else f"{best} (last {progress.format_score(summary.last)})"
    )


def markdown_table(root: Path | None = None) -> str:
    """The challenge table of the top-level README, generated from the catalog."""
    root = catalog.repo_root() if root is None else root
    lines = ["| # | challenge | topics | difficulty | time | GPU |", "|---|---|---|---|---|---|"]
    for c in catalog.challenges(root):
        link = f"[{c.title}]({c.readme.relative_to(root).as_posix()})"
        gpu = "yes" if c.gpu else "no"
        lines.append(
            f"| {c.nn} | {link} | {', '.join(c.topics)} | {c.difficulty} | {c.minutes} min | {gpu} |"
        )
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table())
        return 0
    attempts = ProgressLog().attempts()
    table = Table(title="infer-prep challenges", title_justify="left")
    for column in ("#", "title", "topics", "difficulty", "time", "GPU", "your best task tests"):
        table.add_column(column)
    for c in catalog.challenges():
        try:
            edited = "" if practice.state(c).pristine else " *"
        except practice.PracticeError:  # a starter deleted by hand: `prep reset` restores it
            edited = " (starter.py missing)"
        table.add_row(
            c.nn,
            c.title,
            ", ".join(c.topics),
            c.difficulty,
            f"{c.minutes} min",
            "yes" if c.gpu else "no",
            _score_cell(progress.summarize(attempts, c.nn)) + edited,
        )
    console.print(table)
    say(
        "Scores are task tests passed/run by your starter's best full `prep test` (* : you have "
        "edited its starter.py). Next: [bold]uv run prep next[/]."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    text = challenge.readme.read_text(encoding="utf-8")
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        print(text)
    print(f"\nYour file: {practice.starter_path(challenge)}")
    return 0


def _tasks(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(str(k) for k in args.task)


def cmd_test(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    tasks, extra = _tasks(args), tuple(args.pytest_args)
    log = ProgressLog()
    log.attempts(challenge.nn)  # an unreadable log fails now, not after a long run
    outcome = suite.run(challenge, args.impl, tasks, extra)
    report = outcome.report
    if not outcome.complete or report is None:
        # Never show an earlier run's score for a run that did not finish.
        reason = suite.incomplete_reason(challenge, outcome, tasks)
        say(f"[red]error:[/] {escape(reason)}")
        return outcome.exitstatus or 1
    partial = suite.is_partial(tasks, extra)
    attempt = Attempt.from_report(
        challenge.nn, report, tasks=tasks, kind="test", seconds=outcome.seconds, subset=partial
    )
    log.record(attempt)
    ran = report["passed"] + report["failed"]
    scope = f" (task {', '.join(tasks)} only)" if tasks else " (a subset)" if partial else ""
    say(
        f"[bold]{args.impl}[/] passes {report['passed']} of {ran} tests of challenge "
        f"{challenge.nn}{scope}."
    )
    if attempt.by_task:
        say(
            "by README task: "
            + ", ".join(f"task {k} {t['passed']}/{t['ran']}" for k, t in attempt.by_task.items())
        )
    if args.impl == "starter":
        best = progress.summarize(log.attempts(challenge.nn), challenge.nn).best
        if partial:
            say(
                f"A partial run: your full score stays {progress.format_score(best)} "
                f"(`uv run prep test {challenge.nn}` runs every task)."
            )
        elif best is not None:
            say(f"Your best full run: {progress.format_score(best)} task tests.")
        if report["failed"]:
            say(
                "Each failure names the README task to work on; "
                f"`uv run prep hint {challenge.nn}` helps."
            )
    return outcome.exitstatus


def cmd_watch(args: argparse.Namespace) -> int:
    from prep import watch

    challenge = catalog.get(args.number)
    impl_switch.validate(args.impl)
    return watch.watch(challenge, console=console, impl=args.impl, tasks=_tasks(args))


def _bench_module(challenge: catalog.Challenge) -> Any:
    path = challenge.root / "src" / challenge.package / "bench.py"
    if not path.is_file():
        raise CommandError(f"challenge {challenge.nn} has no benchmark ({path} does not exist)")
    suite.check_sources(challenge, "starter")  # a syntax error: file and line, before importing
    try:
        return importlib.import_module(f"{challenge.package}.bench")
    except Exception as exc:  # the candidate's code runs on import: report it in one line
        raise CommandError(
            f"challenge {challenge.nn}'s benchmark does not import: "
            f"{suite.import_problem(exc, challenge.root)}"
        ) from None


def cmd_bench(args: argparse.Namespace) -> int:
    from prep import bench

    challenge = catalog.get(args.number)
    module = _bench_module(challenge)
    plot = getattr(module, "plot", None)
    if args.plot and plot is None:
        raise CommandError(f"challenge {challenge.nn} has no plot; run without --plot")
    try:
        workloads = module.workloads(quick=args.quick)
    except Exception as exc:
        raise CommandError(
            f"building challenge {challenge.nn}'s workloads failed: "
            f"{suite.import_problem(exc, challenge.root)}"
        ) from None
    # Each table names the device its workload ran on (a CPU workload on a GPU machine says cpu).
    say(f"Benchmarking challenge {challenge.nn}")
    with console.status("timing") as status:
        rows = bench.run(
            workloads,
            repeats=args.repeats,
            budget_s=args.budget,
            # On a CPU shared with other work, OpenMP barriers wait out whole scheduler time
            # slices; --threads limits torch and numpy's BLAS alike for stable, fair rows.
            threads=args.threads,
            progress=lambda what: status.update(f"timing {escape(what)}"),
        )
    console.print(bench.render(rows, workloads, f"Challenge {challenge.nn}: {challenge.title}"))
    for work in workloads:
        if work.notes:
            say(f"[dim]{escape(work.name)}: {escape(work.notes)}[/]")
    if args.markdown:
        print(bench.markdown(rows, workloads))
    extra: dict[str, Any] = {}
    report = getattr(module, "report", None)
    if callable(report):
        extra = report(rows, quick=args.quick) or {}
    if args.json:
        payload = {
            "challenge": challenge.nn,
            "devices": sorted({r.device for r in rows if r.device}),
            "rows": [r.as_dict() for r in rows],
            **extra,
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        say(f"wrote {args.json}")
    if args.plot and plot is not None:
        plot(rows, args.plot, quick=args.quick)
        say(f"wrote {args.plot}")
    return 0


def hints(text: str) -> list[str]:
    """The numbered items of a README's ``## Hints`` section, as Markdown (see ``prep.readme``)."""
    return readme.hints(text)


def cmd_hint(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    found = readme.hints(challenge.readme.read_text(encoding="utf-8"))
    if not found:
        raise CommandError(f"challenge {challenge.nn} has no hints in its README")
    level = min(args.level, len(found))
    if level < args.level:
        say(f"[dim]challenge {challenge.nn} has {len(found)} hints; here they all are[/]")
    for k in range(level):
        say(f"[bold]Hint {k + 1} of {len(found)}:[/]")
        console.print(Markdown(found[k]))
        console.print()
    ProgressLog().record_hint(challenge.nn, level)
    if level < len(found):
        say(f"More: uv run prep hint {challenge.nn} {level + 1}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    say(f"Verifying challenge {challenge.nn}: starter contract and known-wrong versions")
    current = practice.state(challenge)
    if not current.pristine and practice.strict():
        say(
            f"[red]FAIL[/] {current.path} differs from the pristine starter recorded in "
            + escape(
                f"[tool.prep] {practice.HASH_KEY}: after changing the starter on purpose, run "
            )
            + f"`uv run prep pristine {challenge.nn} --record`"
        )
        return 1
    with practice.pristine_overlay(challenge) as overlay:
        if overlay is not None:
            say(
                f"Your {current.path.name} has your edits: the contract is checked on the pristine "
                f"starter; your own score is `uv run prep test {challenge.nn}`."
            )
        suite.check_sources(challenge, "starter", overlay)
        with tempfile.TemporaryDirectory() as work:
            try:
                if overlay is None:
                    problems = testing.verify(challenge.package, challenge.root, Path(work))
                else:
                    with practice.importing_from(overlay, challenge.package):
                        problems = testing.verify(challenge.package, challenge.root, Path(work))
            except impl_switch.ImplError:
                raise
            except Exception as exc:  # importing the starter or solution ran their code
                raise CommandError(
                    f"challenge {challenge.nn} does not import: "
                    f"{suite.import_problem(exc, overlay.parent if overlay else challenge.root)}"
                ) from None
    for problem in problems:
        say(f"[red]FAIL[/] {escape(problem)}")
    if problems:
        return 1
    say(
        "[green]ok[/]: the starter fails every task test with NotImplementedError, "
        "and every known-wrong version is rejected"
    )
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    if args.undo:
        say(escape(practice.undo_reset(challenge)))
    else:
        say(escape(practice.reset(challenge)))
    return 0


def cmd_pristine(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    if args.record:
        digest = practice.record(challenge)
        say(f"recorded {practice.HASH_KEY} = {digest} in {challenge.root / 'pyproject.toml'}")
        return 0
    current = practice.state(challenge)
    if current.recorded is None:
        say(
            f"challenge {challenge.nn} records no {practice.HASH_KEY}: "
            f"`uv run prep pristine {challenge.nn} --record`"
        )
        return 1
    if current.pristine:
        say(f"{current.path} is pristine ({current.current[:12]}...)")
        return 0
    _, where = practice.pristine_text(challenge)
    say(f"{current.path} has edits; the pristine starter is in {escape(where)}")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    log = ProgressLog()
    attempts = log.attempts()
    if args.plot:
        progress.plot(attempts, args.plot)
    known = {c.nn: c for c in catalog.challenges()}
    table = Table(title=f"your progress ({log.path})", title_justify="left")
    for column in ("#", "challenge", "best", "last", "attempts", "time spent", "latest"):
        table.add_column(column)
    shown = 0
    for nn in sorted({a.challenge for a in attempts} & known.keys()):
        s = progress.summarize(attempts, nn)
        if not s.attempts:
            continue
        shown += 1
        minutes = int(s.working.total_seconds() // 60)
        table.add_row(
            nn,
            known[nn].title,
            progress.format_score(s.best),
            progress.format_score(s.last),
            str(s.attempts),
            f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min",
            s.latest.strftime("%Y-%m-%d %H:%M") if s.latest else "",
        )
    if shown:
        console.print(table)
        mocks = [a for a in attempts if a.kind in ("mock", "design")]
        if mocks:
            say(f"mock interviews: {len(mocks)}")
    else:
        say("No attempts yet: `uv run prep next` says where to start.")
    if args.plot:
        say(f"wrote {args.plot}")
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    from prep import study

    root = catalog.repo_root()
    ordered = study.order(catalog.challenges(root), root / "docs" / "study_plans.md")
    step = study.next_step(ordered, ProgressLog().attempts())
    say(escape(step.text))
    return 0


def cmd_mock(args: argparse.Namespace) -> int:
    from prep import mock

    rng = random.Random(args.seed)
    log = ProgressLog()
    try:
        if args.design:
            design = mock.plan_design(
                catalog.repo_root(), rng, name=args.number, minutes=args.minutes or 45
            )
            return mock.design(design, mock.SystemTerminal(), console, log)
        job = mock.plan(catalog.challenges(), rng, number=args.number, minutes=args.minutes or 45)
        return mock.coding(job, mock.SystemTerminal(), console, log)
    except mock.MockError as exc:
        raise CommandError(str(exc)) from None


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question from PyTorch's docstrings and this project's docs (challenge 08)."""
    question = " ".join(args.question).strip()
    if not question:
        raise CommandError('ask needs a question, e.g. uv run prep ask "how do I fold batchnorm?"')
    try:
        ask = importlib.import_module("challenge_08_rag.ask")
    except ImportError as exc:
        raise CommandError(
            f"prep ask needs challenge 08 installed ({exc}): run it from the clone with `uv run`"
        ) from None
    with console.status("retrieving (the first run embeds the corpus: minutes on a CPU)"):
        answer = ask.ask(question, k=args.k, impl=args.impl)
    print(answer.render())
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from prep import doctor

    machine = doctor.inspect_machine()
    table = Table(title="what this machine can run", title_justify="left")
    for column in ("check", "found", ""):
        table.add_column(column)
    marks = {True: "[green]ok[/]", False: "[red]missing[/]", None: ""}
    for check in machine.checks:
        table.add_row(
            check.name, escape(check.value), f"{marks[check.ok]} {escape(check.note)}".strip()
        )
    console.print(table)
    lines = doctor.skips(catalog.challenges(), machine)
    for line in lines:
        say(f"- {escape(line)}")
    if not lines:
        say("Every challenge's tests can run here.")
    return 0 if all(c.ok is not False for c in machine.checks) else 1


# --------------------------------------------------------------------------------------------
# Arguments: every value is checked when parsed, so a bad one costs no run.


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} -h`)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def output_file(text: str) -> Path:
    """A file path we will be able to write: checked before any work is done."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {text}")
    return path


def implementation(text: str) -> str:
    try:
        impl_switch.validate(text)
    except impl_switch.ImplError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace(f"{impl_switch.ENV_VAR}=", "")) from None
    return text


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="prep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True)

    def command(
        name: str, help: str, func: Any, number: str | None = "required"
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        if number == "required":
            p.add_argument("number", help="the challenge, e.g. 12")
        elif number == "optional":
            p.add_argument("number", nargs="?", help="the challenge (default: picked for you)")
        p.set_defaults(func=func)
        return p

    listing = command("list", "every challenge, with your best score", cmd_list, None)
    listing.add_argument(
        "--markdown", action="store_true", help="the README's table, from the catalog"
    )
    command("next", "what to work on next", cmd_next, None)
    asking = command(
        "ask", "ask the docs (PyTorch's and this project's), with citations", cmd_ask, None
    )
    asking.add_argument("question", nargs="+", help="your question, in words")
    asking.add_argument("-k", type=positive_int, default=5, help="passages to cite (default 5)")
    asking.add_argument(
        "--impl", default="solution", type=implementation, help="whose retrieval (default solution)"
    )
    command("show", "print a challenge's README", cmd_show)
    test = command("test", "run a challenge's tests (default: your starter)", cmd_test)
    test.add_argument(
        "--impl",
        default="starter",
        type=implementation,
        help="starter (default), baseline, solution or wrong:<name>",
    )
    test.add_argument(
        "--task",
        action="append",
        default=[],
        type=positive_int,
        help="only tests of README task K (repeatable)",
    )
    watch = command("watch", "re-run your starter's tests on every save", cmd_watch)
    watch.add_argument("--impl", default="starter", type=implementation, help=argparse.SUPPRESS)
    watch.add_argument(
        "--task", action="append", default=[], type=positive_int, help="only tests of README task K"
    )
    bench = command("bench", "time every implementation against the library", cmd_bench)
    bench.add_argument("--json", type=output_file, help="write the figures to this file")
    bench.add_argument(
        "--plot", type=output_file, help="write a PNG plot (where the challenge has one)"
    )
    bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    bench.add_argument(
        "--markdown", action="store_true", help="also print Markdown tables (for READMEs)"
    )
    bench.add_argument(
        "--repeats", type=positive_int, default=15, help="timed samples per candidate (max)"
    )
    bench.add_argument(
        "--budget", type=positive_float, default=3.0, help="seconds of timed calls per candidate"
    )
    bench.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for torch and numpy (default: all)",
    )
    hint = command("hint", "progressive hints from the README", cmd_hint)
    hint.add_argument("level", nargs="?", type=positive_int, default=1, help="show hints 1..LEVEL")
    reset = command("reset", "restore the pristine starter (your version is kept)", cmd_reset)
    reset.add_argument("--undo", action="store_true", help="bring your version back")
    prog = command("progress", "your record: best scores, attempts, time spent", cmd_progress, None)
    prog.add_argument("--plot", type=output_file, help="write a PNG of passes over time")
    mock = command("mock", "a timed mock interview", cmd_mock, "optional")
    mock.add_argument(
        "--minutes", type=positive_float, default=None, help="time allowed (default 45)"
    )
    mock.add_argument(
        "--design", action="store_true", help="a system-design round (NUMBER: part of its name)"
    )
    mock.add_argument("--seed", type=int, default=None, help="pick the same questions again")
    command("doctor", "what this machine can run", cmd_doctor, None)
    command("verify", "check the starter contract and that wrong versions fail", cmd_verify)
    pristine = command("pristine", "(contributors) the starter's recorded hash", cmd_pristine)
    pristine.add_argument(
        "--record", action="store_true", help="record the working starter as pristine"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after `--` goes to pytest untouched (argparse would try to parse it).
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:split])
    args.pytest_args = argv[split + 1 :]
    try:
        code: int = args.func(args)
    except USER_ERRORS as exc:
        say(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

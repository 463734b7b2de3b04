"""The ``prep`` command: list, show, test, bench, hint and verify challenges.

uv run prep list                 every challenge, and how far your starter has got
uv run prep show 12              the challenge's README
uv run prep test 12 [--impl X] [--task K] [-- PYTEST ARGS]
uv run prep bench 12 [--json F] [--plot F] [--quick]
uv run prep hint 12 [LEVEL]
uv run prep verify 12            starter contract + known-wrong versions rejected
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from prep import catalog, testing
from prep import impl as impl_switch

console = Console()


def results_dir() -> Path:
    """Where ``prep test`` records pass counts (``.prep/results`` in the clone, git-ignored)."""
    return catalog.repo_root() / ".prep" / "results"


def _starter_score(challenge: catalog.Challenge) -> str:
    path = results_dir() / f"{challenge.nn}-starter.json"
    if not path.is_file():
        return "not run"
    data = json.loads(path.read_text(encoding="utf-8"))
    tasks = data.get("by_task", {}).values()
    passed, ran = sum(t["passed"] for t in tasks), sum(t["ran"] for t in tasks)
    return f"{passed}/{ran}" if ran else f"{data['passed']}/{data['total'] - data['skipped']}"


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
    table = Table(title="infer-prep challenges", title_justify="left")
    for column in ("#", "title", "topics", "difficulty", "time", "GPU", "your task tests"):
        table.add_column(column)
    for c in catalog.challenges():
        table.add_row(
            c.nn,
            c.title,
            ", ".join(c.topics),
            c.difficulty,
            f"{c.minutes} min",
            "yes" if c.gpu else "no",
            _starter_score(c),
        )
    console.print(table)
    console.print(
        "Start one: [bold]uv run prep show NN[/], edit its starter.py, then [bold]uv run prep test NN[/]."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    text = challenge.readme.read_text(encoding="utf-8")
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        print(text)
    print(f"\nYour file: {challenge.root / 'src' / challenge.package / 'starter.py'}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    import os
    import subprocess

    challenge = catalog.get(args.number)
    impl_switch.validate(args.impl)
    report = results_dir() / f"{challenge.nn}-{args.impl.replace(':', '-')}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    extra = list(args.pytest_args)
    for task in args.task:
        extra += ["--task", str(task)]
    env = {**os.environ, impl_switch.ENV_VAR: args.impl, "PREP_REPORT": str(report)}
    command = [sys.executable, "-m", "pytest", str(challenge.root / "tests"), *extra]
    code = subprocess.run(command, env=env, cwd=challenge.root, check=False).returncode
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        ran = data["total"] - data["skipped"]
        console.print(
            f"[bold]{args.impl}[/] passes {data['passed']} of {ran} tests of challenge {challenge.nn}."
        )
        tasks = data.get("by_task", {})
        if tasks:
            console.print(
                "by README task: "
                + ", ".join(f"task {k} {t['passed']}/{t['ran']}" for k, t in tasks.items())
            )
        if args.impl == "starter" and data["failed"]:
            console.print(
                "Each failure names the README task to work on; "
                f"`uv run prep hint {challenge.nn}` helps."
            )
    return code


def cmd_bench(args: argparse.Namespace) -> int:
    from prep import bench, device

    challenge = catalog.get(args.number)
    if args.threads:
        import torch

        # On a CPU shared with other work, torch's OpenMP barriers wait out whole scheduler
        # time slices: a tiny op can take milliseconds. One thread gives stable figures there.
        torch.set_num_threads(args.threads)
    module = importlib.import_module(f"{challenge.package}.bench")
    workloads = module.workloads(quick=args.quick)
    console.print(f"Benchmarking challenge {challenge.nn} on {device.describe()}")
    with console.status("timing") as status:
        rows = bench.run(
            workloads,
            repeats=args.repeats,
            budget_s=args.budget,
            progress=lambda what: status.update(f"timing {escape(what)}"),
        )
    console.print(bench.render(rows, workloads, f"Challenge {challenge.nn}: {challenge.title}"))
    for work in workloads:
        if work.notes:
            console.print(f"[dim]{escape(work.name)}: {escape(work.notes)}[/]")
    if args.markdown:
        print(bench.markdown(rows, workloads))
    extra: dict[str, Any] = {}
    report = getattr(module, "report", None)
    if callable(report):
        extra = report(rows, quick=args.quick) or {}
    if args.json:
        payload = {
            "challenge": challenge.nn,
            "device": device.describe(),
            "rows": [r.as_dict() for r in rows],
            **extra,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        console.print(f"wrote {args.json}")
    if args.plot:
        plot = getattr(module, "plot", None)
        if plot is None:
            console.print(f"challenge {challenge.nn} has no plot; the table above is the result")
            return 1
        plot(rows, Path(args.plot), quick=args.quick)
        console.print(f"wrote {args.plot}")
    return 0


def hints(readme: str) -> list[str]:
    """The numbered items of a README's ``## Hints`` section, in order."""
    match = re.search(r"^## Hints\s*$(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    if match is None:
        return []
    items = re.split(r"^\d+\.\s+", match.group(1).strip(), flags=re.M)
    return [" ".join(item.split()) for item in items if item.strip()]


def cmd_hint(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    found = hints(challenge.readme.read_text(encoding="utf-8"))
    if not found:
        console.print(f"challenge {challenge.nn} has no hints")
        return 1
    level = min(max(args.level, 1), len(found))
    for k in range(level):
        console.print(f"[bold]Hint {k + 1} of {len(found)}:[/] {escape(found[k])}\n")
    if level < len(found):
        console.print(f"More: uv run prep hint {challenge.nn} {level + 1}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    challenge = catalog.get(args.number)
    console.print(f"Verifying challenge {challenge.nn}: starter contract and known-wrong versions")
    with tempfile.TemporaryDirectory() as work:
        problems = testing.verify(challenge.package, challenge.root, Path(work))
    for problem in problems:
        console.print(f"[red]FAIL[/] {escape(problem)}")
    if problems:
        return 1
    console.print(
        "[green]ok[/]: the starter fails every task test with NotImplementedError, "
        "and every known-wrong version is rejected"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="prep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="every challenge, with your starter's pass count")
    listing.add_argument(
        "--markdown", action="store_true", help="the README's table, from the catalog"
    )
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="print a challenge's README")
    show.add_argument("number")
    show.set_defaults(func=cmd_show)
    test = sub.add_parser("test", help="run a challenge's tests (default: your starter)")
    test.add_argument("number")
    test.add_argument(
        "--impl", default="starter", help="starter (default), baseline, solution or wrong:<name>"
    )
    test.add_argument("--task", action="append", default=[], help="only tests of README task K")
    test.set_defaults(func=cmd_test)
    bench = sub.add_parser("bench", help="time every implementation against the library")
    bench.add_argument("number")
    bench.add_argument("--json", help="write the figures to this file")
    bench.add_argument("--plot", help="write a PNG plot (where the challenge has one)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    bench.add_argument(
        "--markdown", action="store_true", help="also print Markdown tables (for READMEs)"
    )
    bench.add_argument("--repeats", type=int, default=15, help="timed calls per candidate (max)")
    bench.add_argument(
        "--budget", type=float, default=3.0, help="seconds of timed calls per candidate"
    )
    bench.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (default: torch's)"
    )
    bench.set_defaults(func=cmd_bench)
    hint = sub.add_parser("hint", help="progressive hints from the README")
    hint.add_argument("number")
    hint.add_argument("level", nargs="?", type=int, default=1)
    hint.set_defaults(func=cmd_hint)
    verify = sub.add_parser(
        "verify", help="check the starter contract and that wrong versions fail"
    )
    verify.add_argument("number")
    verify.set_defaults(func=cmd_verify)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after `--` goes to pytest untouched (argparse would try to parse it).
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:split])
    args.pytest_args = argv[split + 1 :]
    try:
        code: int = args.func(args)
    except (catalog.CatalogError, impl_switch.ImplError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

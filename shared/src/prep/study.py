"""``prep next``: the next challenge and task to work on, from the study plan and the progress log.

The order is the order in which ``docs/study_plans.md`` first names each challenge (its first
plan is the focused one-week plan: PyTorch 2.x and quantization first); challenges it does not
name follow. Without that file, challenges on the PyTorch 2.x compile stack and quantization
come first, then the rest by number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prep import catalog, readme
from prep.progress import Attempt, summarize

# Topics of the one-week plan's first days, for a clone without docs/study_plans.md.
FIRST_TOPICS = frozenset(
    {
        "torch.export",
        "fx",
        "dynamo",
        "graph IR",
        "torch.fx",
        "torch.compile",
        "quantization",
        "int8",
    }
)
_MENTION = re.compile(r"challenge[_ -]?(\d{2})\b", flags=re.I)


def order(challenges: list[catalog.Challenge], plan: Path | None) -> list[catalog.Challenge]:
    """Challenges in study order (see the module docstring)."""
    by_nn = {c.nn: c for c in challenges}
    named: list[catalog.Challenge] = []
    if plan is not None and plan.is_file():
        for match in _MENTION.finditer(plan.read_text(encoding="utf-8")):
            challenge = by_nn.get(match.group(1))
            if challenge is not None and challenge not in named:
                named.append(challenge)
    rest = sorted(
        (c for c in challenges if c not in named),
        key=lambda c: (not (set(c.topics) & FIRST_TOPICS), c.number),
    )
    return named + rest


@dataclass(frozen=True)
class Step:
    """What to do next, and the command that starts it."""

    challenge: catalog.Challenge | None
    task: int | None
    text: str


def _task_title(challenge: catalog.Challenge, task: int) -> str:
    items = readme.tasks(challenge.readme.read_text(encoding="utf-8"))
    if not 1 <= task <= len(items):
        return ""
    first_line = items[task - 1].splitlines()[0]
    return first_line.split(":", 1)[0].replace("**", "").strip()


def next_step(ordered: list[catalog.Challenge], attempts: list[Attempt]) -> Step:
    """The challenge to work on: one already started and not finished (in study order), else
    the first not started; within it, the first task whose tests fail."""
    summaries = {c.nn: summarize(attempts, c.nn) for c in ordered}
    started = [c for c in ordered if summaries[c.nn].attempts]
    for challenge in [*started, *(c for c in ordered if c not in started)]:
        summary = summaries[challenge.nn]
        if not summary.attempts:
            return Step(
                challenge,
                1,
                f"Start challenge {challenge.nn} ({challenge.title}, {challenge.minutes} min): "
                f"`uv run prep show {challenge.nn}`, then `uv run prep watch {challenge.nn}`.",
            )
        if summary.best is not None and summary.best[0] == summary.best[1]:
            continue  # every task test passes: done
        mine = [a for a in attempts if a.challenge == challenge.nn and a.impl == "starter"]
        failing = sorted(
            int(k) for k, t in mine[-1].by_task.items() if k.isdigit() and t["passed"] < t["ran"]
        )
        task = failing[0] if failing else None
        title = _task_title(challenge, task) if task is not None else ""
        what = f"task {task}" + (f" ({title})" if title else "") if task is not None else "it"
        best = (
            f"best full run so far {summary.best[0]}/{summary.best[1]}"
            if summary.best is not None
            else f"no full run yet: `uv run prep test {challenge.nn}` gives your score"
        )
        option = f" --task {task}" if task is not None else ""
        return Step(
            challenge,
            task,
            f"Continue challenge {challenge.nn} ({challenge.title}) with {what}; {best}. "
            f"`uv run prep watch {challenge.nn}{option}`.",
        )
    return Step(
        None,
        None,
        "Every challenge's task tests pass. Time your code (`uv run prep bench NN`) or rehearse: "
        "`uv run prep mock`.",
    )

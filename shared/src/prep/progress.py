"""The progress log: every ``prep test``, ``prep watch`` and ``prep mock`` run, in SQLite.

The log lives in the user's data folder (``platformdirs``), so it outlives a fresh clone;
``PREP_DATA_DIR`` moves it (tests use a temporary one). ``prep progress`` summarises it per
challenge, and ``prep list`` shows the best full-run score from it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DATA_ENV = "PREP_DATA_DIR"
# Two attempts closer than this belong to one sitting; the time between them counts as work.
SITTING_GAP = timedelta(minutes=30)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    at TEXT NOT NULL,            -- ISO 8601, UTC
    challenge TEXT NOT NULL,     -- "12"
    impl TEXT NOT NULL,          -- starter, baseline, solution, wrong:<name>
    tasks TEXT NOT NULL,         -- JSON list of the --task values
    subset INTEGER NOT NULL,     -- 1: part of the suite (--task, -k, -x...); 0: a full run
    kind TEXT NOT NULL,          -- test, watch, mock, design
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    by_task TEXT NOT NULL,       -- JSON {"k": {"passed": p, "ran": r}}
    seconds REAL NOT NULL        -- how long the run (or the mock interview) took
);
CREATE TABLE IF NOT EXISTS hints (
    at TEXT NOT NULL,
    challenge TEXT NOT NULL,
    level INTEGER NOT NULL       -- the highest hint shown by that `prep hint` call
);
"""


class ProgressError(Exception):
    """The progress log cannot be read or written; the message names the file."""


def data_dir() -> Path:
    """``PREP_DATA_DIR``, else the platform's user data folder for infer-prep."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("infer-prep", appauthor=False))


def log_path() -> Path:
    return data_dir() / "progress.sqlite3"


@dataclass(frozen=True)
class Attempt:
    """One recorded run of a challenge's tests."""

    challenge: str  # two-digit number
    impl: str
    passed: int
    failed: int
    skipped: int = 0
    tasks: tuple[str, ...] = ()  # the --task values selected
    subset: bool = False  # part of the suite only (--task, -k, -x, one file...)
    by_task: dict[str, dict[str, int]] = field(default_factory=dict)
    kind: str = "test"
    seconds: float = 0.0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def full(self) -> bool:
        """A run of every test (a score that may stand for the challenge)."""
        return not self.tasks and not self.subset

    @property
    def score(self) -> tuple[int, int]:
        """(passed, ran) over the task tests, or over every test when none is marked."""
        if self.by_task:
            tallies = self.by_task.values()
            return sum(t["passed"] for t in tallies), sum(t["ran"] for t in tallies)
        return self.passed, self.passed + self.failed

    @classmethod
    def from_report(
        cls,
        challenge: str,
        report: dict[str, Any],
        *,
        tasks: tuple[str, ...],
        kind: str,
        seconds: float,
        subset: bool = False,
    ) -> Attempt:
        """An attempt from the JSON report the pytest plugin writes (``PREP_REPORT``)."""
        return cls(
            challenge=challenge,
            impl=str(report["impl"]),
            passed=int(report["passed"]),
            failed=int(report["failed"]),
            skipped=int(report["skipped"]),
            tasks=tasks,
            subset=subset or bool(tasks),
            by_task={str(k): dict(v) for k, v in report.get("by_task", {}).items()},
            kind=kind,
            seconds=seconds,
        )


def format_score(score: tuple[int, int] | None) -> str:
    return "not run" if score is None else f"{score[0]}/{score[1]}"


class ProgressLog:
    """The SQLite file of attempts and hints shown."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = log_path() if path is None else path

    @contextlib.contextmanager
    def _db(self, write: bool) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            db = sqlite3.connect(":memory:")  # nothing recorded yet: an empty log
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ProgressError(f"cannot create {self.path.parent}: {exc}") from None
            db = sqlite3.connect(self.path)
        try:
            with db:
                db.executescript(_SCHEMA)
                yield db
        except sqlite3.DatabaseError as exc:
            raise ProgressError(
                f"progress log {self.path} is unreadable ({exc}): move it aside or delete it "
                f"to start a new one (or set {DATA_ENV} to use another folder)"
            ) from None
        finally:
            db.close()

    def record(self, attempt: Attempt) -> None:
        with self._db(write=True) as db:
            db.execute(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.at.isoformat(),
                    attempt.challenge,
                    attempt.impl,
                    json.dumps(list(attempt.tasks)),
                    int(attempt.subset),
                    attempt.kind,
                    attempt.passed,
                    attempt.failed,
                    attempt.skipped,
                    json.dumps(attempt.by_task),
                    attempt.seconds,
                ),
            )

    def attempts(self, challenge: str | None = None) -> list[Attempt]:
        """Every attempt (of one challenge), oldest first."""
        query = "SELECT * FROM attempts"
        params: tuple[str, ...] = ()
        if challenge is not None:
            query, params = query + " WHERE challenge = ?", (challenge,)
        with self._db(write=False) as db:
            rows = db.execute(query + " ORDER BY at", params).fetchall()
        try:
            return [
                Attempt(
                    at=datetime.fromisoformat(at),
                    challenge=nn,
                    impl=impl,
                    tasks=tuple(json.loads(tasks)),
                    subset=bool(subset),
                    kind=kind,
                    passed=passed,
                    failed=failed,
                    skipped=skipped,
                    by_task=json.loads(by_task),
                    seconds=seconds,
                )
                for at, nn, impl, tasks, subset, kind, passed, failed, skipped, by_task, seconds in rows
            ]
        except (ValueError, TypeError) as exc:
            raise ProgressError(f"progress log {self.path} holds a malformed row: {exc}") from None

    def record_hint(self, challenge: str, level: int) -> None:
        with self._db(write=True) as db:
            db.execute(
                "INSERT INTO hints VALUES (?, ?, ?)",
                (datetime.now(UTC).isoformat(), challenge, level),
            )

    def hints_seen(self, challenge: str) -> int:
        """The highest hint level shown for a challenge (0: none)."""
        with self._db(write=False) as db:
            row = db.execute(
                "SELECT MAX(level) FROM hints WHERE challenge = ?", (challenge,)
            ).fetchone()
        return int(row[0] or 0)


@dataclass(frozen=True)
class Summary:
    """One challenge's record, for ``prep progress`` and ``prep list``."""

    challenge: str
    attempts: int  # every run of the starter, partial ones and mock interviews included
    best: tuple[int, int] | None  # best full run of the starter: (passed, ran) task tests
    last: tuple[int, int] | None  # latest full run of the starter
    working: timedelta  # time between attempts less than SITTING_GAP apart
    first: datetime | None
    latest: datetime | None


def summarize(attempts: list[Attempt], challenge: str) -> Summary:
    """Best and latest full-run scores, attempts and working time of one challenge's starter."""
    mine = sorted(
        (a for a in attempts if a.challenge == challenge and a.impl == "starter"),
        key=lambda a: a.at,
    )
    full = [a.score for a in mine if a.full]
    # Best: most tests passed; among equals, the run with more tests (a later, larger suite).
    best = max(full, key=lambda s: (s[0], s[1])) if full else None
    working = timedelta()
    for before, after in itertools.pairwise(mine):
        gap = after.at - before.at
        if gap < SITTING_GAP:
            working += gap
    return Summary(
        challenge=challenge,
        attempts=len(mine),
        best=best,
        last=full[-1] if full else None,
        working=working,
        first=mine[0].at if mine else None,
        latest=mine[-1].at if mine else None,
    )


def plot(attempts: list[Attempt], path: Path) -> None:
    """A PNG of task tests passed over time, one line per challenge (full starter runs)."""
    try:
        import matplotlib
    except ImportError:
        raise ProgressError("--plot needs matplotlib: `uv pip install matplotlib`") from None
    import numpy as np

    matplotlib.use("Agg")  # a file, no window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    challenges = sorted({a.challenge for a in attempts})
    for nn in challenges:
        runs = [a for a in attempts if a.challenge == nn and a.impl == "starter" and a.full]
        if runs:
            ax.plot(
                np.array([a.at.replace(tzinfo=None) for a in runs], dtype="datetime64[s]"),
                [a.score[0] for a in runs],
                marker="o",
                label=f"challenge {nn}",
            )
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("task tests passed (starter)")
    ax.set_title("infer-prep progress")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

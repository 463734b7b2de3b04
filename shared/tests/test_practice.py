"""The pristine starter: reset, undo, finding the pristine text, and verify on an edited starter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prep import catalog, cli, practice

SOLVED_TASK_1 = (
    'raise NotImplementedError("TODO(99.1): multiply - see README task 1")',
    'if not isinstance(x, int):\n        raise TypeError("x")\n    return x * times',
)


def starter(demo: Path) -> Path:
    return demo / "src" / "challenge_99_demo" / "starter.py"


def solve_task_1(demo: Path) -> str:
    path = starter(demo)
    path.write_text(path.read_text().replace(*SOLVED_TASK_1))
    return path.read_text()


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_hash_ignores_line_endings() -> None:
    assert practice.text_hash("a\r\nb\n") == practice.text_hash("a\nb\n")
    assert practice.text_hash("a\nb\n") != practice.text_hash("a\nc\n")


def test_record_then_edit(demo: Path) -> None:
    challenge = catalog.get(99)
    assert practice.recorded_hash(challenge) is None
    assert practice.state(challenge).pristine  # nothing recorded: the file is taken as shipped
    digest = practice.record(challenge)
    assert practice.recorded_hash(challenge) == digest
    assert practice.state(challenge).pristine
    assert practice.record(challenge) == digest  # recording again replaces, never duplicates
    assert (demo / "pyproject.toml").read_text().count(practice.HASH_KEY) == 1
    solve_task_1(demo)
    current = practice.state(challenge)
    assert not current.pristine
    assert current.recorded == digest


def test_reset_keeps_a_backup_and_undo_swaps_it_back(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    challenge = catalog.get(99)
    pristine = starter(demo).read_text()
    practice.record(challenge)
    mine = solve_task_1(demo)
    assert cli.main(["reset", "99"]) == 0
    assert starter(demo).read_text() == pristine
    assert practice.backup_path(challenge).read_text() == mine
    assert "your version is in" in capsys.readouterr().out
    assert cli.main(["reset", "99"]) == 0  # already pristine: the backup stays untouched
    assert "already pristine" in capsys.readouterr().out
    assert practice.backup_path(challenge).read_text() == mine
    assert cli.main(["reset", "99", "--undo"]) == 0
    assert starter(demo).read_text() == mine
    assert practice.backup_path(challenge).read_text() == pristine  # nothing is ever lost


def test_undo_without_backup_is_a_clear_error(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["reset", "99", "--undo"]) == 2
    assert "nothing to undo" in capsys.readouterr().out


def test_pristine_text_comes_from_git_history(demo: Path) -> None:
    challenge = catalog.get(99)
    root = demo.parents[1]
    practice.record(challenge)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pristine")
    pristine = starter(demo).read_text()
    solve_task_1(demo)
    git(root, "commit", "-q", "-am", "my work")  # the candidate commits their solution
    practice.state_dir(challenge).joinpath("starter.pristine.py").unlink()
    text, where = practice.pristine_text(challenge)
    assert text == pristine
    assert where.startswith("git ")


def test_no_pristine_copy_anywhere_is_a_clear_error(demo: Path) -> None:
    challenge = catalog.get(99)
    practice.record(challenge)
    solve_task_1(demo)
    practice.state_dir(challenge).joinpath("starter.pristine.py").unlink()
    with pytest.raises(practice.PracticeError, match=r"cannot find the pristine starter\.py"):
        practice.pristine_text(challenge)


COUNTER_FORGETS = """
from __future__ import annotations

from prep.impl import fresh_copy

IMPLEMENTATION = fresh_copy("challenge_99_demo.solution")
IMPLEMENTATION.Counter.bump = lambda self, by=1: self.value + by  # forgets to store it
"""


def test_verify_checks_the_pristine_starter_not_the_candidates(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "tests" / "wrong" / "counter_forgets.py").write_text(COUNTER_FORGETS)
    practice.record(catalog.get(99))
    mine = solve_task_1(demo)
    assert cli.main(["verify", "99"]) == 0
    out = capsys.readouterr().out
    assert "checked on the pristine starter" in out
    assert "adds_instead rejected" in out
    assert starter(demo).read_text() == mine  # the candidate's file is never touched


def test_strict_mode_rejects_an_edited_starter(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    practice.record(catalog.get(99))
    solve_task_1(demo)
    monkeypatch.setenv("CI", "true")
    assert cli.main(["verify", "99"]) == 1
    assert "prep pristine 99 --record" in capsys.readouterr().out
    monkeypatch.setenv(practice.STRICT_ENV, "0")
    assert not practice.strict()


def test_a_pristine_starter_that_passes_a_task_test_still_fails_verify(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solve_task_1(demo)
    practice.record(catalog.get(99))  # a contributor records a starter that solves task 1
    assert cli.main(["verify", "99"]) == 1
    assert "passes against the starter" in capsys.readouterr().out

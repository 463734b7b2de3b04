"""Every input a user can type gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from rich.console import Console

from prep import cli, progress, suite

PYTEST = ["--", "-q", "-p", "no:cacheprovider"]

BENCH = """
from __future__ import annotations

from prep.bench import Workload


def workloads(quick: bool) -> list[Workload]:
    raise AssertionError("not reached in these tests")
"""


def one_error_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def parse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    return one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["test", "42"],
        ["bench", "42"],
        ["hint", "42"],
        ["verify", "42"],
        ["reset", "42"],
        ["watch", "42"],
        ["mock", "42"],
    ],
    ids=lambda argv: argv[0],
)
def test_unknown_challenge(demo: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "no challenge 42; the challenges are 99" in one_error_line(capsys.readouterr().out)


def test_task_that_selects_nothing_names_the_tasks(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["test", "99", "--task", "7", *PYTEST]) != 0
    out = capsys.readouterr().out
    assert "no test of challenge 99 is marked task 7: its README tasks are 1-2" in out
    assert "passes" not in out
    assert progress.ProgressLog().attempts() == []


def test_starter_syntax_error_names_file_and_line(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    starter.write_text("from __future__ import annotations\n\ndef double(x:\n    return x\n")
    (demo / "src" / "challenge_99_demo" / "bench.py").write_text(BENCH)
    for argv in (["test", "99", *PYTEST], ["verify", "99"], ["bench", "99"]):
        assert cli.main(argv) == 2, argv
        line = [s for s in capsys.readouterr().out.splitlines() if "error:" in s]
        assert line, argv
        assert f"{starter}:3" in line[0]
        assert "SyntaxError" in line[0]


def test_bad_output_paths_are_rejected_before_the_run(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "out.json"
    assert "folder" in parse_error(["bench", "99", "--json", str(missing)], capsys)
    assert "is a folder" in parse_error(["bench", "99", "--json", str(tmp_path)], capsys)
    assert "does not exist" in parse_error(["progress", "--plot", str(missing)], capsys)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_threads_must_be_positive(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = parse_error(["bench", "12", f"--threads={value}"], capsys)
    assert "--threads" in line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["test", "12", "--impl", "bogus"], "is not an implementation"),
        (["test", "12", "--task", "0"], "must be 1 or more"),
        (["hint", "12", "0"], "must be 1 or more"),
        (["mock", "--minutes", "0"], "must be more than 0"),
    ],
)
def test_bad_option_values(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert words in parse_error(argv, capsys)


def test_missing_wrong_version_lists_the_known_ones(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["test", "99", "--impl", "wrong:nope", *PYTEST]) == 2
    line = one_error_line(capsys.readouterr().out)
    assert "nope.py does not exist" in line
    assert "adds_instead" in line


def test_corrupt_progress_log(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = progress.log_path()
    log.parent.mkdir(parents=True)
    log.write_bytes(b"this is not SQLite" * 100)
    for argv in (["list"], ["progress"], ["test", "99", *PYTEST]):
        assert cli.main(argv) == 2
        assert "is unreadable" in capsys.readouterr().out.splitlines()[-1]


def test_corrupt_test_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"impl": "starter", "passed": ')
    with pytest.raises(suite.ReportError, match="unreadable"):
        suite.read_report(report)
    report.write_text('{"impl": "starter"}')
    with pytest.raises(suite.ReportError, match="lacks the pass/fail counts"):
        suite.read_report(report)


def test_missing_bench_py(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "99"]) == 2
    assert "has no benchmark" in one_error_line(capsys.readouterr().out)


def test_plot_without_a_plot_hook_fails_before_timing(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "src" / "challenge_99_demo" / "bench.py").write_text(BENCH)
    assert cli.main(["bench", "99", "--plot", str(tmp_path / "p.png")]) == 2
    assert "has no plot" in one_error_line(capsys.readouterr().out)


def test_failed_run_never_shows_an_earlier_score(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["test", "99", *PYTEST]) == 1
    assert "starter passes 1 of 4" in capsys.readouterr().out
    (demo / "tests" / "test_broken.py").write_text("import no_such_module_here\n")
    assert cli.main(["test", "99", *PYTEST]) == 2
    out = capsys.readouterr().out
    assert "passes" not in out
    assert "no score recorded" in out
    assert len(progress.ProgressLog().attempts()) == 1


def test_partial_run_keeps_the_full_score(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    assert cli.main(["test", "99", *PYTEST]) == 1  # full: 0 of 3 task tests
    solved = starter.read_text().replace(
        'raise NotImplementedError("TODO(99.1): multiply - see README task 1")',
        'if not isinstance(x, int):\n        raise TypeError("x")\n    return x * times',
    )
    starter.write_text(solved)
    assert cli.main(["test", "99", "--task", "1", *PYTEST]) == 0
    assert cli.main(["test", "99", *PYTEST, "-k", "double"]) == 0
    capsys.readouterr()
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "0/3" in out
    assert "2/2" not in out
    assert cli.main(["test", "99", *PYTEST]) == 1  # full again: 2 of 3
    assert "Your best full run: 2/3" in capsys.readouterr().out


def test_list_survives_a_missing_starter(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "src" / "challenge_99_demo" / "starter.py").unlink()
    monkeypatch.setattr(cli, "console", Console(width=200))  # the table's cells unwrapped
    assert cli.main(["list"]) == 0
    assert "starter.py missing" in capsys.readouterr().out


def test_ask_without_challenge_08_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.import_module

    def without_08(name: str, package: str | None = None) -> object:
        if name.startswith("challenge_08_rag"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_08)
    assert cli.main(["ask", "how", "do", "I", "fold", "batchnorm?"]) == 2
    assert "prep ask needs challenge 08 installed" in one_error_line(capsys.readouterr().out)


def test_ask_with_a_blank_question_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", " "]) == 2
    assert "ask needs a question" in one_error_line(capsys.readouterr().out)

"""prep.testing: assert_close's report, the starter contract and the suite runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from prep import testing


def test_assert_close_passes_within_tolerance() -> None:
    testing.assert_close(np.array([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-9]), rtol=1e-8)
    testing.assert_close(3.0, 3.0)


def test_report_names_shapes_errors_mismatches_and_task() -> None:
    actual = np.array([1.0, 2.0, 3.0, np.nan])
    expected = np.array([1.0, 2.5, 3.0, 4.0])
    with pytest.raises(AssertionError) as info:
        testing.assert_close(actual, expected, rtol=1e-6, task=3, what="grad of w")
    report = str(info.value)
    for fragment in (
        "grad of w is not close",
        "shape (4,), dtype float64",
        "mismatched: 2 of 4",
        "max abs error: 0.5",
        "NaN differs at [[3]]",
        "(1,): 2.0 vs 2.5",
        "revisit README task 3",
    ):
        assert fragment in report, f"{fragment!r} missing from:\n{report}"


def test_report_on_shape_mismatch_mentions_device() -> None:
    with pytest.raises(AssertionError, match="shapes differ") as info:
        testing.assert_close(torch.zeros(2, 3), np.zeros((3, 2)))
    assert "device cpu" in str(info.value)


def test_dtype_check_is_optional() -> None:
    testing.assert_close(np.float32(1.0), np.float64(1.0))
    with pytest.raises(AssertionError, match="dtypes differ"):
        testing.assert_close(np.float32(1.0), np.float64(1.0), check_dtype=True)


def test_matching_starter_has_no_contract_problems(demo: Path) -> None:
    assert testing.starter_contract_problems("challenge_99_demo") == []


def test_contract_catches_signature_names_and_todo_format(demo: Path) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    text = starter.read_text()
    text = text.replace(
        "def double(x: int, *, times: int = 2)", "def double(x: int, times: int = 2)"
    )
    text = text.replace("TODO(99.2): add and return - see README task 2", "TODO: add")
    text = text.replace("def bump(self, by: int = 1)", "def bump(self)")
    starter.write_text(text)
    problems = [str(p) for p in testing.starter_contract_problems("challenge_99_demo")]
    assert any(p.startswith("double: signature") for p in problems), problems
    assert any(p.startswith("Counter.bump: signature") for p in problems), problems
    assert any("TODO(99.k)" in p for p in problems), problems


def test_verify_accepts_a_good_challenge(demo: Path, tmp_path: Path) -> None:
    assert testing.verify("challenge_99_demo", demo, tmp_path) == [
        "tests/wrong/ holds 1 known-wrong versions; at least 2 are needed"
    ]


def test_verify_catches_a_wrong_version_the_suite_misses(demo: Path, tmp_path: Path) -> None:
    wrong = demo / "tests" / "wrong" / "same_as_solution.py"
    wrong.write_text("from challenge_99_demo.solution import Counter, double  # noqa: F401\n")
    problems = testing.verify("challenge_99_demo", demo, tmp_path)
    assert problems == [
        "wrong:same_as_solution passes the whole suite: the tests cannot tell it from a correct one"
    ]


def test_verify_catches_a_test_that_passes_on_the_starter(demo: Path, tmp_path: Path) -> None:
    starter = demo / "src" / "challenge_99_demo" / "starter.py"
    starter.write_text(
        starter.read_text().replace(
            'raise NotImplementedError("TODO(99.1)',
            'return x * times\n    raise NotImplementedError("TODO(99.1)',
        )
    )
    run = testing.run_suite(demo, "starter", tmp_path / "starter.json")
    problems = testing.starter_run_problems(run)
    assert any("test_double passes against the starter" in p for p in problems), problems
    assert any("test_double_rejects_strings fails with Failed" in p for p in problems), problems


def test_verify_reports_a_wrong_version_that_does_not_load(demo: Path, tmp_path: Path) -> None:
    broken = demo / "tests" / "wrong" / "broken.py"
    broken.write_text("from challenge_99_demo.solution import double\nCounter = Countr\n")
    problems = testing.verify("challenge_99_demo", demo, tmp_path)
    assert "wrong:broken does not load: NameError: name 'Countr' is not defined" in problems


def test_verify_runs_the_declared_task_first(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = demo / "tests" / "wrong" / "adds_instead.py"
    wrong.write_text(wrong.read_text() + "\nTASK = 1\n")
    problems = testing.verify("challenge_99_demo", demo, tmp_path)
    assert problems == ["tests/wrong/ holds 1 known-wrong versions; at least 2 are needed"]
    assert (
        "wrong:adds_instead rejected by tests/test_demo.py::test_double" in capsys.readouterr().out
    )
    report = (tmp_path / "wrong_adds_instead.json").read_text()
    assert "test_counter" not in report  # only task 1's tests ran


def test_verify_falls_back_to_the_whole_suite_when_the_task_is_wrong(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = demo / "tests" / "wrong" / "adds_instead.py"
    wrong.write_text(wrong.read_text() + "\nTASK = (2,)\n")
    problems = testing.verify("challenge_99_demo", demo, tmp_path)
    assert problems == ["tests/wrong/ holds 1 known-wrong versions; at least 2 are needed"]
    out = capsys.readouterr().out
    assert "wrong:adds_instead rejected by tests/test_demo.py::test_double" in out
    assert "not by the tests of its TASK 2: correct TASK" in out


def test_a_wrong_version_that_breaks_the_fixtures_is_not_counted_as_caught(
    demo: Path, tmp_path: Path
) -> None:
    broken = demo / "tests" / "wrong" / "breaks_setup.py"
    broken.write_text(
        "import os\n"
        "from challenge_99_demo.solution import Counter, double  # noqa: F401\n"
        "if os.environ.get('CHALLENGE_IMPL', '').startswith('wrong:'):\n"
        "    raise RuntimeError('cannot be set up')\n"
    )
    problems = testing.verify("challenge_99_demo", demo, tmp_path)
    assert any(
        p.startswith("wrong:breaks_setup:") and "errors in its setup" in p and "RuntimeError" in p
        for p in problems
    ), problems


def test_fresh_copy_of_a_module_with_a_dataclass_needs_no_prior_import(tmp_path: Path) -> None:
    package = tmp_path / "dataclass_demo_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        "from __future__ import annotations\nimport dataclasses\n\n"
        "@dataclasses.dataclass\nclass Point:\n    x: int\n"
    )
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from prep.impl import fresh_copy\n"
        "copy = fresh_copy('dataclass_demo_pkg.mod')\n"
        "print(copy.Point(3).x)\n"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "3"

"""prep.impl: the CHALLENGE_IMPL switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep import impl


def test_unset_means_solution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHALLENGE_IMPL", raising=False)
    assert impl.selected() == "solution"
    monkeypatch.setenv("CHALLENGE_IMPL", "  ")
    assert impl.selected() == "solution"


@pytest.mark.parametrize("value", ["starter", "baseline", "solution", "wrong:off_by_one"])
def test_valid_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CHALLENGE_IMPL", value)
    assert impl.selected() == value


@pytest.mark.parametrize("value", ["Solution", "reference", "wrong:", "wrong:bad-name"])
def test_unknown_value_lists_the_valid_ones(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CHALLENGE_IMPL", value)
    with pytest.raises(impl.ImplError, match="starter, baseline, solution"):
        impl.selected()


def test_load_each_implementation(demo: Path) -> None:
    assert impl.load("challenge_99_demo", "solution").double(2) == 4
    assert impl.load("challenge_99_demo", "baseline").double(2) == 4
    with pytest.raises(NotImplementedError, match=r"TODO\(99.1\)"):
        impl.load("challenge_99_demo", "starter").double(2)


def test_load_reads_the_environment(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHALLENGE_IMPL", "starter")
    assert impl.load("challenge_99_demo").__name__ == "challenge_99_demo.starter"


def test_wrong_versions_load_from_tests_wrong(demo: Path) -> None:
    assert impl.wrong_names("challenge_99_demo") == ["adds_instead"]
    assert impl.package_root("challenge_99_demo") == demo
    assert impl.load("challenge_99_demo", "wrong:adds_instead").double(3, times=3) == 6
    with pytest.raises(impl.ImplError, match="known: adds_instead"):
        impl.load("challenge_99_demo", "wrong:missing")


def test_fresh_copy_is_independent() -> None:
    import prep.catalog

    copy = impl.fresh_copy("prep.catalog")
    assert copy is not prep.catalog
    assert copy.Challenge is not prep.catalog.Challenge


def test_patched_copy_plants_one_bug_and_load_returns_it(demo: Path) -> None:
    wrong = demo / "tests" / "wrong" / "bump_twice.py"
    wrong.write_text(
        "from prep.impl import patched\n\n"
        "def _double(x, *, times=2):\n    return x + 1\n\n"
        'IMPLEMENTATION = patched("challenge_99_demo.solution", double=_double)\n'
    )
    module = impl.load("challenge_99_demo", "wrong:bump_twice")
    assert module.double(5) == 6
    assert module.Counter(1).bump() == 2  # everything else is the solution's
    assert impl.load("challenge_99_demo", "solution").double(5) == 10  # the real one is intact


def test_patched_rejects_a_name_the_module_lacks(demo: Path) -> None:
    with pytest.raises(impl.ImplError, match="has no 'dobule'"):
        impl.patched("challenge_99_demo.solution", dobule=print)

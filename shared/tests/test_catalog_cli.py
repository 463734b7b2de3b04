"""prep.catalog and the prep command."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep import catalog, cli, progress, readme


def test_every_challenge_in_the_repo_has_metadata_and_a_readme() -> None:
    root = catalog.repo_root()
    found = catalog.challenges(root)
    assert found, "no challenges found under packages/"
    assert len({c.number for c in found}) == len(found)
    for c in found:
        assert c.difficulty in catalog.DIFFICULTIES
        assert c.readme.is_file(), f"{c.root} has no README.md"
        assert c.dist_name == f"challenge-{c.nn}-{c.slug.replace('_', '-')}"


README_SECTIONS = (
    "## Problem",
    "## Learning goals",
    "## Tasks",
    "## Difficulty and time estimate",
    "## How to run",
    "## Hints",
    "## Interview follow-ups",
    "## Complexity and trade-offs",
    "## Measured results",
)


@pytest.mark.parametrize(
    "challenge", catalog.challenges(catalog.repo_root()), ids=lambda c: c.package
)
def test_challenge_readme_has_the_fixed_sections_in_order(challenge: catalog.Challenge) -> None:
    text = challenge.readme.read_text(encoding="utf-8")
    positions = [text.find(section) for section in README_SECTIONS]
    missing = [s for s, p in zip(README_SECTIONS, positions, strict=True) if p < 0]
    assert not missing, f"{challenge.readme} lacks {missing}"
    assert positions == sorted(positions), f"{challenge.readme}: sections out of order"
    assert len(readme.hints(text)) >= 2, "the Hints section needs a numbered list of 2+ hints"


def test_get_accepts_several_spellings(demo: Path) -> None:
    assert catalog.get(99).title == "Demo"
    assert catalog.get("99").nn == "99"
    assert catalog.get("challenge_99").package == "challenge_99_demo"
    with pytest.raises(catalog.CatalogError, match="no challenge 07; the challenges are 99"):
        catalog.get(7)
    with pytest.raises(catalog.CatalogError, match="not a challenge number"):
        catalog.get("seven")


def test_hints_are_parsed_in_order() -> None:
    text = "# T\n## Hints\n1. First\n   continued.\n2. Second.\n3. Third.\n## Next\n1. not a hint\n"
    assert cli.hints(text) == ["First\ncontinued.", "Second.", "Third."]
    assert cli.hints("# no hints here") == []


def test_prep_test_records_the_starter_score_that_list_shows(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["test", "99", "--", "-q", "-p", "no:cacheprovider"]) == 1
    [attempt] = progress.ProgressLog().attempts()
    assert (attempt.passed, attempt.failed, attempt.impl, attempt.full) == (1, 3, "starter", True)
    assert cli.main(["list"]) == 0
    assert cli.main(["hint", "99", "2"]) == 0
    out = capsys.readouterr().out
    assert "starter passes 1 of 4 tests" in out
    assert "by README task: task 1 0/2, task 2 0/1" in out
    assert "0/3" in out  # `prep list`: task tests passed / run
    assert "Hint 2 of 2" in out


def test_prep_test_on_the_solution_passes(demo: Path) -> None:
    assert cli.main(["test", "99", "--impl", "solution", "--", "-q", "-p", "no:cacheprovider"]) == 0


def test_unknown_challenge_is_a_clean_error(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", "42"]) == 2
    assert "no challenge 42" in capsys.readouterr().out


def test_readme_challenge_table_matches_the_catalog() -> None:
    """The top-level README's table is `prep list --markdown`: regenerate it when a challenge's
    [tool.prep] metadata changes."""
    readme = (catalog.repo_root() / "README.md").read_text(encoding="utf-8")
    assert cli.markdown_table() in readme, (
        "README table is stale: paste `uv run prep list --markdown`"
    )


def test_bench_options_parse() -> None:
    args = cli.parser().parse_args(["bench", "12", "--threads", "1", "--markdown", "--quick"])
    assert (args.threads, args.markdown, args.quick, args.repeats) == (1, True, True, 15)

"""docs/ and every README: relative links resolve (files and #anchors), and the study plans and
the question bank link every challenge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prep import catalog

ROOT = catalog.repo_root()
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found += sorted((ROOT / "packages").glob("challenge_*/README.md"))
    return found


def _anchors(markdown: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", markdown.read_text(encoding="utf-8"))
    ids = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        ids.add(slug)
    return ids


def _links(markdown: Path) -> list[str]:
    text = FENCE.sub("", markdown.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z]+:", t)]


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document: Path) -> None:
    broken = []
    for target in _links(document):
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    assert not broken, f"{document.relative_to(ROOT)} has broken links: {broken}"


@pytest.mark.parametrize("page", ["study_plans.md", "questions.md"])
def test_every_challenge_is_linked(page: str) -> None:
    document = ROOT / "docs" / page
    linked = {(document.parent / t.partition("#")[0]).resolve() for t in _links(document)}
    missing = [c.root.name for c in catalog.challenges(ROOT) if c.readme.resolve() not in linked]
    assert not missing, f"docs/{page} does not link these challenges' READMEs: {missing}"

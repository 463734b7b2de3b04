"""The root pyproject gathers every challenge the catalog knows, so `uv run prep` sees them all."""

from __future__ import annotations

import tomllib

from prep import catalog


def test_root_pyproject_lists_every_challenge() -> None:
    root = catalog.repo_root()
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = set(data["project"]["dependencies"])
    sources = data["tool"]["uv"]["sources"]
    for challenge in catalog.challenges(root):
        dist = challenge.dist_name
        assert dist in dependencies, (
            f'{challenge.root.name} is missing from the root pyproject.toml: add "{dist}", to '
            "[project] dependencies, then run `uv lock`"
        )
        assert sources.get(dist) == {"workspace": True}, (
            f"{challenge.root.name} is missing from the root pyproject.toml: add "
            f"`{dist} = {{ workspace = true }}` under [tool.uv.sources], then run `uv lock`"
        )
    known = {c.dist_name for c in catalog.challenges(root)} | {"prep"}
    stale = sorted(d for d in dependencies if d not in known)
    assert not stale, f"the root pyproject.toml lists packages that do not exist: {stale}"

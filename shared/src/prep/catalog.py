"""The challenge catalog, read from each challenge's ``[tool.prep]`` pyproject table.

That table is the one source of truth for a challenge's number, title, topics, difficulty,
time estimate and GPU need; ``prep list``, ``noxfile.py`` and the CI matrix all read it here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DIFFICULTIES = ("easy", "medium", "hard")


class CatalogError(LookupError):
    """Raised for a challenge that does not exist or has malformed metadata."""


@dataclass(frozen=True)
class Challenge:
    """One challenge package's metadata."""

    number: int  # NN in challenge_NN_<slug>
    slug: str  # e.g. "mini_autograd"
    title: str  # human title for tables
    topics: tuple[str, ...]  # short tags
    difficulty: str  # one of DIFFICULTIES
    minutes: int  # time estimate for a prepared candidate
    gpu: bool  # True when the topic needs a GPU to be meaningful
    root: Path  # packages/challenge_NN_<slug>
    dist_name: str  # the distribution name, e.g. "challenge-12-mini-autograd"
    torchrun: tuple[str, ...] = ()  # test files run under torchrun (multi-process jobs)
    nproc: int = 2  # processes per torchrun job on CPU (gloo)

    @property
    def package(self) -> str:
        """The import package, e.g. ``challenge_12_mini_autograd``."""
        return self.root.name

    @property
    def nn(self) -> str:
        """The two-digit number, e.g. ``"12"``."""
        return f"{self.number:02d}"

    @property
    def readme(self) -> Path:
        return self.root / "README.md"


def repo_root() -> Path:
    """The workspace root: ``PREP_ROOT``, else the first parent of this file or the working
    directory holding ``packages/`` and ``shared/``."""
    override = os.environ.get("PREP_ROOT")
    if override:
        return Path(override).resolve()
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "packages").is_dir() and (candidate / "shared").is_dir():
                return candidate
    raise CatalogError("cannot find the infer-prep workspace: run from inside the clone")


def _read(pyproject: Path) -> Challenge:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    meta = data.get("tool", {}).get("prep")
    if meta is None:
        raise CatalogError(f"{pyproject} has no [tool.prep] table")
    root = pyproject.parent
    number, _, slug = root.name.removeprefix("challenge_").partition("_")
    try:
        challenge = Challenge(
            number=int(meta["number"]),
            slug=slug,
            title=str(meta["title"]),
            topics=tuple(str(t) for t in meta.get("topics", ())),
            difficulty=str(meta["difficulty"]),
            minutes=int(meta["minutes"]),
            gpu=bool(meta.get("gpu", False)),
            root=root,
            dist_name=str(data["project"]["name"]),
            torchrun=tuple(str(t) for t in meta.get("torchrun", ())),
            nproc=int(meta.get("nproc", 2)),
        )
    except KeyError as exc:
        raise CatalogError(f"{pyproject}: [tool.prep] is missing {exc}") from exc
    if f"{challenge.number:02d}" != number:
        raise CatalogError(f"{pyproject}: number {challenge.number} does not match {root.name}")
    if challenge.difficulty not in DIFFICULTIES:
        raise CatalogError(f"{pyproject}: difficulty must be one of {DIFFICULTIES}")
    return challenge


def challenges(root: Path | None = None) -> list[Challenge]:
    """Every challenge under ``packages/``, sorted by number."""
    root = repo_root() if root is None else root
    found = [_read(p) for p in sorted((root / "packages").glob("challenge_*/pyproject.toml"))]
    return sorted(found, key=lambda c: c.number)


def get(number: int | str, root: Path | None = None) -> Challenge:
    """The challenge with this number (``12``, ``"12"`` or ``"challenge_12"``)."""
    text = str(number).removeprefix("challenge_").split("_")[0]
    try:
        wanted = int(text)
    except ValueError:
        raise CatalogError(f"{number!r} is not a challenge number (try `prep list`)") from None
    for challenge in challenges(root):
        if challenge.number == wanted:
            return challenge
    known = ", ".join(c.nn for c in challenges(root))
    raise CatalogError(f"no challenge {wanted:02d}; the challenges are {known}")


def shared_torchrun(root: Path | None = None) -> tuple[str, ...]:
    """Multi-process test files of the shared package (``[tool.prep] torchrun``)."""
    root = repo_root() if root is None else root
    data = tomllib.loads((root / "shared" / "pyproject.toml").read_text(encoding="utf-8"))
    return tuple(data.get("tool", {}).get("prep", {}).get("torchrun", ()))

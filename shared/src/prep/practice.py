"""The pristine starter: practising in ``starter.py`` never turns the project's checks red.

A candidate fills in ``starter.py`` in place, so the file the project ships and the file the
candidate works on are the same path. The project's checks of the starter (it fails every task
test with ``NotImplementedError``, it keeps the solution's API) are about the *shipped* file,
so they run on its pristine text; the candidate's version only ever gives them a score.

How the pristine text is known:

- each challenge records the SHA-256 of its pristine starter in its pyproject's
  ``[tool.prep] starter_sha256`` (``uv run prep pristine NN --record`` writes it; line endings
  are normalised first, so a checkout with CRLF endings hashes the same);
- the pristine text itself is the working file when its hash matches; else a copy kept under
  ``.prep/practice/<package>/`` (git-ignored, saved whenever ``prep`` sees the pristine file);
  else the newest version in the git history whose hash matches.

In strict mode (``CI`` set, or ``PREP_STRICT_STARTER=1``; ``PREP_STRICT_STARTER=0`` turns it
off) an edited starter is an error instead: that is how the project's own CI catches a starter
that changed without its recorded hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prep import catalog

HASH_KEY = "starter_sha256"
STRICT_ENV = "PREP_STRICT_STARTER"
_GIT_HISTORY_DEPTH = 200  # commits searched for the recorded version; a clone has it in HEAD


class PracticeError(Exception):
    """A pristine starter that cannot be found or restored; the message says what to do."""


def text_hash(text: str) -> str:
    """SHA-256 of ``text`` with ``\\r\\n`` line endings normalised to ``\\n``."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def starter_path(challenge: catalog.Challenge) -> Path:
    """``packages/<pkg>/src/<pkg>/starter.py``: the candidate's file."""
    return challenge.root / "src" / challenge.package / "starter.py"


def state_dir(challenge: catalog.Challenge) -> Path:
    """``.prep/practice/<package>/`` in the clone (git-ignored): pristine copy and backup."""
    return challenge.root.parent.parent / ".prep" / "practice" / challenge.package


def backup_path(challenge: catalog.Challenge) -> Path:
    """Where ``prep reset`` keeps the candidate's version of the starter."""
    return state_dir(challenge) / "starter.backup.py"


def _pristine_copy(challenge: catalog.Challenge) -> Path:
    return state_dir(challenge) / "starter.pristine.py"


def recorded_hash(challenge: catalog.Challenge) -> str | None:
    """The ``[tool.prep] starter_sha256`` of the challenge, or ``None`` when none is recorded."""
    data = tomllib.loads((challenge.root / "pyproject.toml").read_text(encoding="utf-8"))
    value = data.get("tool", {}).get("prep", {}).get(HASH_KEY)
    return str(value) if value is not None else None


def strict() -> bool:
    """True where an edited starter is an error (CI), not the candidate's work."""
    value = os.environ.get(STRICT_ENV, "").strip().lower()
    if value:
        return value not in ("0", "false", "no")
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


@dataclass(frozen=True)
class StarterState:
    """The candidate's file compared with the pristine starter."""

    path: Path  # the starter.py the candidate edits
    recorded: str | None  # [tool.prep] starter_sha256, None when the challenge records none
    current: str  # hash of the file as it is now

    @property
    def pristine(self) -> bool:
        """True when the file is the shipped one (or no hash says otherwise)."""
        return self.recorded is None or self.current == self.recorded


def state(challenge: catalog.Challenge) -> StarterState:
    """Compare the starter with its recorded hash; keep a copy of it while it is pristine."""
    path = starter_path(challenge)
    if not path.is_file():
        raise PracticeError(f"{path} is missing: `uv run prep reset {challenge.nn}` restores it")
    text = path.read_text(encoding="utf-8")
    found = StarterState(path, recorded_hash(challenge), text_hash(text))
    if found.recorded is not None and found.pristine:
        _save_pristine(challenge, text)
    return found


def _save_pristine(challenge: catalog.Challenge, text: str) -> None:
    copy = _pristine_copy(challenge)
    with contextlib.suppress(OSError):  # a read-only clone still works, only without the copy
        if not copy.is_file() or copy.read_text(encoding="utf-8") != text:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(text, encoding="utf-8")


def pristine_text(challenge: catalog.Challenge) -> tuple[str, str]:
    """The pristine starter's text and where it was found (for messages).

    Raises:
        PracticeError: no copy with the recorded hash exists (no git history, no saved copy).
    """
    path = starter_path(challenge)
    wanted = recorded_hash(challenge)
    working = path.read_text(encoding="utf-8") if path.is_file() else None
    if wanted is None:
        if working is None:
            raise PracticeError(f"{path} is missing and no pristine copy is recorded")
        return working, f"{path.name} (no {HASH_KEY} recorded)"
    if working is not None and text_hash(working) == wanted:
        _save_pristine(challenge, working)
        return working, path.name
    copy = _pristine_copy(challenge)
    if copy.is_file():
        saved = copy.read_text(encoding="utf-8")
        if text_hash(saved) == wanted:
            return saved, str(copy)
    found = _from_git(path, wanted)
    if found is None:
        raise PracticeError(
            f"cannot find the pristine {path.name} of challenge {challenge.nn} (sha256 "
            f"{wanted[:12]}...) in git or in {copy.parent}: restore it from a fresh clone"
        )
    text, where = found
    _save_pristine(challenge, text)
    return text, where


def _git(cwd: Path, *args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, encoding="utf-8"
    )
    return proc.stdout if proc.returncode == 0 else None


def _from_git(path: Path, wanted: str) -> tuple[str, str] | None:
    """The newest committed (or staged) version of ``path`` whose hash is ``wanted``."""
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(top.strip()).resolve()
    rel = path.resolve().relative_to(root).as_posix()  # git paths are relative to the top
    log = _git(root, "log", f"-n{_GIT_HISTORY_DEPTH}", "--format=%H", "--all", "--", rel)
    for rev in ["", *(log or "").split()]:  # "" is the index: a contributor's staged starter
        text = _git(root, "show", f"{rev}:{rel}")
        if text is not None and text_hash(text) == wanted:
            return text, f"git {rev[:10] or 'index'}"
    return None


def record(challenge: catalog.Challenge) -> str:
    """Write the working starter's hash into ``[tool.prep] starter_sha256``; return it.

    For contributors: run it after changing a starter on purpose.
    """
    digest = text_hash(starter_path(challenge).read_text(encoding="utf-8"))
    pyproject = challenge.root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    line = f'{HASH_KEY} = "{digest}"'
    pattern = re.compile(rf"^{HASH_KEY}\s*=.*$", flags=re.M)
    if pattern.search(text):
        text = pattern.sub(line, text, count=1)
    elif re.search(r"^\[tool\.prep\]\s*$", text, flags=re.M):
        comment = "# SHA-256 of the pristine starter.py (`uv run prep pristine NN --record`)."
        text = re.sub(
            r"^\[tool\.prep\]\s*$", f"[tool.prep]\n{comment}\n{line}", text, count=1, flags=re.M
        )
    else:
        raise PracticeError(f"{pyproject} has no [tool.prep] table")
    pyproject.write_text(text, encoding="utf-8")
    _save_pristine(challenge, starter_path(challenge).read_text(encoding="utf-8"))
    return digest


def reset(challenge: catalog.Challenge) -> str:
    """Restore the pristine starter, keeping the candidate's version as the backup file.

    Returns what was done, for the candidate. A starter that is already pristine is left alone,
    and so is an earlier backup.
    """
    path = starter_path(challenge)
    text, where = pristine_text(challenge)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return f"{path.name} of challenge {challenge.nn} is already pristine: nothing to do"
    backup = backup_path(challenge)
    kept = ""
    if path.is_file():
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, backup)
        kept = f"; your version is in {backup} (`uv run prep reset {challenge.nn} --undo`)"
    path.write_text(text, encoding="utf-8")
    return f"restored the pristine {path.name} (from {where}){kept}"


def undo_reset(challenge: catalog.Challenge) -> str:
    """Swap the backup back in; the file it replaces becomes the backup (nothing is lost)."""
    path, backup = starter_path(challenge), backup_path(challenge)
    if not backup.is_file():
        raise PracticeError(
            f"no backup of challenge {challenge.nn}'s starter ({backup}): nothing to undo"
        )
    current = path.read_bytes() if path.is_file() else None
    shutil.copyfile(backup, path)
    if current is None:
        backup.unlink()
        return f"restored your {path.name} from {backup}"
    backup.write_bytes(current)
    return f"restored your {path.name}; the version it replaced is now {backup}"


@contextlib.contextmanager
def pristine_overlay(challenge: catalog.Challenge) -> Iterator[Path | None]:
    """A temporary copy of the challenge's ``src`` (and ``tests``) with the pristine starter.

    Yields ``None`` when the working starter is pristine (check it in place), else the copy's
    ``src`` folder: put it first on ``sys.path``/``PYTHONPATH`` (``importing_from``) and the
    package imports from there, the pristine starter included; ``prep.impl.wrong_dir`` then
    finds the copy's ``tests/wrong``.
    """
    if state(challenge).pristine:
        yield None
        return
    text, _ = pristine_text(challenge)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    with tempfile.TemporaryDirectory(prefix="prep-pristine-") as work:
        copy = Path(work) / challenge.package
        shutil.copytree(challenge.root / "src", copy / "src", ignore=ignore)
        if (challenge.root / "tests").is_dir():
            shutil.copytree(challenge.root / "tests", copy / "tests", ignore=ignore)
        (copy / "src" / challenge.package / "starter.py").write_text(text, encoding="utf-8")
        yield copy / "src"


@contextlib.contextmanager
def importing_from(src: Path, package: str) -> Iterator[None]:
    """Import ``package`` from ``src`` in this process and in the subprocesses it starts."""

    def forget() -> None:
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]

    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), old_path) if p)
    sys.path.insert(0, str(src))
    forget()
    try:
        yield
    finally:
        forget()
        sys.path.remove(str(src))
        if old_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old_path

"""A tiny throwaway challenge package (challenge_99_demo) for testing the harness end to end."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

SOLUTION = '''
from __future__ import annotations

__all__ = ["Counter", "double"]


def double(x: int, *, times: int = 2) -> int:
    """Return x * times."""
    if not isinstance(x, int):
        raise TypeError("x must be an int")
    return x * times


class Counter:
    def __init__(self, start: int = 0) -> None:
        self.value = start

    def bump(self, by: int = 1) -> int:
        self.value += by
        return self.value
'''

STARTER = '''
from __future__ import annotations

__all__ = ["Counter", "double"]


def double(x: int, *, times: int = 2) -> int:
    """Return x * times."""
    raise NotImplementedError("TODO(99.1): multiply - see README task 1")


class Counter:
    def __init__(self, start: int = 0) -> None:
        self.value = start

    def bump(self, by: int = 1) -> int:
        raise NotImplementedError("TODO(99.2): add and return - see README task 2")
'''

TESTS = """
from __future__ import annotations

import pytest


@pytest.mark.task(1)
def test_double(impl):
    assert impl.double(3) == 6
    assert impl.double(3, times=3) == 9


@pytest.mark.task(1)
def test_double_rejects_strings(impl):
    with pytest.raises(TypeError):
        impl.double("3")


@pytest.mark.task(2)
def test_counter(impl):
    c = impl.Counter(1)
    assert c.bump() == 2
    assert c.bump(5) == 7


def test_counter_starts_where_told(impl):
    assert impl.Counter(4).value == 4
"""

WRONG = """
from __future__ import annotations

from challenge_99_demo.solution import Counter

__all__ = ["Counter", "double"]


def double(x: int, *, times: int = 2) -> int:
    return x + x
"""

README = """# Demo

## Problem
Double a number, then count.

## Tasks
1. **`double(x, times=2)`**: multiply.
2. **`Counter.bump(by=1)`**: add and return.

## Hints
1. Use `*`:

   ```python
   return x * times
   ```
2. `self.value += by`, then return it.

## Interview follow-ups
- **Why an int?** Exact arithmetic.
- **What about `float`?** Rounding: `0.1 * 3 != 0.3`.
- **Thread safety?** `bump` is a read-modify-write: take a lock.
"""

PYPROJECT = """
[project]
name = "challenge-99-demo"
version = "0.1.0"

[tool.prep]
number = 99
title = "Demo"
topics = ["testing"]
difficulty = "easy"
minutes = 5
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workspace holding packages/challenge_99_demo, importable in and out of process."""
    root = tmp_path / "packages" / "challenge_99_demo"
    src = root / "src" / "challenge_99_demo"
    (root / "tests" / "wrong").mkdir(parents=True)
    src.mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (root / "README.md").write_text(README)
    (src / "__init__.py").write_text("")
    (src / "solution.py").write_text(SOLUTION)
    (src / "baseline.py").write_text(SOLUTION)
    (src / "starter.py").write_text(STARTER)
    (root / "tests" / "test_demo.py").write_text(TESTS)
    (root / "tests" / "wrong" / "adds_instead.py").write_text(WRONG)
    monkeypatch.syspath_prepend(str(root / "src"))
    monkeypatch.setenv("PYTHONPATH", str(root / "src"))
    monkeypatch.setenv("PREP_ROOT", str(tmp_path))
    # The progress log of these runs goes to the temporary folder, never the user's own.
    monkeypatch.setenv("PREP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CI", raising=False)  # strict starter checks are tested explicitly
    monkeypatch.delenv("PREP_STRICT_STARTER", raising=False)
    yield root
    for name in [m for m in sys.modules if m.startswith("challenge_99_demo")]:
        del sys.modules[name]

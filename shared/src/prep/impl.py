"""The ``CHALLENGE_IMPL`` switch: which implementation of a challenge the tests import.

``CHALLENGE_IMPL`` is one of ``starter`` (the candidate's file), ``baseline`` (simple and
obviously correct), ``solution`` (production grade, the default) or ``wrong:<name>`` (a known-wrong
version kept in the challenge's ``tests/wrong/<name>.py`` to prove the suite can fail).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

ENV_VAR = "CHALLENGE_IMPL"
IMPLS = ("starter", "baseline", "solution")
DEFAULT_IMPL = "solution"
WRONG_PREFIX = "wrong:"


class ImplError(ValueError):
    """Raised for an unknown ``CHALLENGE_IMPL`` value or a missing wrong implementation."""


def selected() -> str:
    """The implementation named by ``CHALLENGE_IMPL`` (``solution`` when unset or empty)."""
    value = os.environ.get(ENV_VAR, "").strip() or DEFAULT_IMPL
    validate(value)
    return value


def validate(value: str) -> None:
    """Raise ``ImplError`` unless ``value`` names an implementation."""
    if value in IMPLS:
        return
    if value.startswith(WRONG_PREFIX) and value[len(WRONG_PREFIX) :].isidentifier():
        return
    valid = ", ".join(IMPLS)
    raise ImplError(
        f"{ENV_VAR}={value!r} is not an implementation; use one of {valid}, "
        f"or wrong:<name> for a file in the challenge's tests/wrong/"
    )


def package_root(package: str) -> Path:
    """The challenge's folder (the one holding ``pyproject.toml``, ``src/`` and ``tests/``)."""
    module = importlib.import_module(package)
    if module.__file__ is None:
        raise ImplError(f"{package} has no __file__; install it from the workspace (uv sync)")
    # .../packages/<pkg>/src/<pkg>/__init__.py -> .../packages/<pkg>
    return Path(module.__file__).resolve().parents[2]


def wrong_dir(package: str) -> Path:
    """The folder holding the challenge's known-wrong implementations."""
    return package_root(package) / "tests" / "wrong"


def wrong_names(package: str) -> list[str]:
    """Names of the known-wrong implementations, sorted (``tests/wrong/<name>.py``)."""
    folder = wrong_dir(package)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def load(package: str, impl: str | None = None) -> ModuleType:
    """Import ``<package>.<impl>`` (``impl`` defaults to ``CHALLENGE_IMPL``).

    Args:
        package: the challenge's import package, e.g. ``"challenge_12_mini_autograd"``.
        impl: ``starter``, ``baseline``, ``solution`` or ``wrong:<name>``; ``None`` reads the
            environment variable.

    Raises:
        ImplError: unknown implementation, or no ``tests/wrong/<name>.py``.
    """
    impl = selected() if impl is None else impl
    validate(impl)
    if not impl.startswith(WRONG_PREFIX):
        return importlib.import_module(f"{package}.{impl}")
    name = impl[len(WRONG_PREFIX) :]
    path = wrong_dir(package) / f"{name}.py"
    if not path.is_file():
        known = ", ".join(wrong_names(package)) or "none"
        raise ImplError(f"no wrong implementation {name!r} in {path.parent} (known: {known})")
    module_name = f"{package}._wrong_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImplError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    # A wrong version built with `patched(...)` names the module it planted its bug in.
    implementation = getattr(module, "IMPLEMENTATION", module)
    if not isinstance(implementation, ModuleType):
        raise ImplError(f"{path}: IMPLEMENTATION must be a module (see prep.impl.patched)")
    return implementation


def patched(module_name: str, **replacements: object) -> ModuleType:
    """A fresh copy of ``module_name`` with some of its globals replaced.

    This is how a known-wrong version plants one bug in the solution: every function of the
    copy that calls a replaced name gets the replacement, and the real module stays intact.
    A wrong file assigns the result to ``IMPLEMENTATION``; ``load`` then returns it::

        IMPLEMENTATION = patched("challenge_12_mini_autograd.solution", _unbroadcast=leading_only)

    Raises:
        ImplError: a replaced name that the module does not define (a typo would otherwise
            leave the copy correct, and the suite would "reject" nothing).
    """
    module = fresh_copy(module_name)
    for name, value in replacements.items():
        if not hasattr(module, name):
            raise ImplError(f"{module_name} has no {name!r} to replace")
        setattr(module, name, value)
    return module


def fresh_copy(module_name: str) -> ModuleType:
    """A new, independent instance of a module: its own classes, functions and globals.

    Known-wrong versions use it to patch one piece of the solution (a method, a helper the
    other functions call) without touching the real module that other code imports.
    """
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ImplError(f"cannot find module {module_name}")
    # The copy keeps the module's name, and code that runs while it executes looks that name up
    # in sys.modules (``@dataclass`` reads the module's globals there): import the real one first.
    importlib.import_module(module_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

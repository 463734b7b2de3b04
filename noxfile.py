"""nox sessions, generated per challenge from the catalog (each challenge's [tool.prep] table).

    uv run nox                     everything: lint, typecheck, test (+ torchrun) for all
    uv run nox -l                  the list
    uv run nox -t challenge_12     one challenge's whole set
    CHALLENGE_IMPL=starter uv run nox -s test-challenge_12   your starter only

Every session syncs its own uv environment holding only its package and the dev group
(`uv sync --locked --package <dist> --group dev`), so a package that imports something it did
not declare fails its own session.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "shared" / "src"))  # read the catalog without installing prep
from prep import catalog  # noqa: E402

nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True
# Reuse session venvs: `uv sync --locked` makes each one exact again in a second or two.
nox.options.reuse_venv = "yes"
nox.needs_version = ">=2025.2.9"

WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
# One mypy cache for every session, so torch is analysed once per run, not once per session.
MYPY_CACHE = str(ROOT / ".nox" / ".mypy_cache")


def sync(session: nox.Session, dist: str) -> None:
    """Install exactly `dist`, its dependencies and the dev group into the session's venv."""
    session.run_install(
        "uv", "sync", "--locked", "--package", dist, "--group", "dev",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )  # fmt: skip


def make_sessions(name: str, dist: str, root: Path, torchrun: tuple[str, ...], nproc: int) -> None:
    """Define lint-/typecheck-/test-(/torchrun-)<name> for one package."""
    rel = str(root.relative_to(ROOT))
    paths = [f"{rel}/src", f"{rel}/tests"]

    @nox.session(name=f"lint-{name}", tags=["lint", name])
    def lint(session: nox.Session) -> None:
        sync(session, dist)
        session.run("ruff", "check", *paths)
        session.run("ruff", "format", "--check", *paths)

    @nox.session(name=f"typecheck-{name}", tags=["typecheck", name])
    def typecheck(session: nox.Session) -> None:
        sync(session, dist)
        session.run("mypy", "--cache-dir", MYPY_CACHE, *paths)

    @nox.session(name=f"test-{name}", tags=["test", name])
    def test(session: nox.Session) -> None:
        """pytest on baseline and solution (or on CHALLENGE_IMPL), then `prep verify`.

        `prep verify` proves the starter fails with NotImplementedError and that every
        tests/wrong/ version is rejected."""
        sync(session, dist)
        chosen = os.environ.get("CHALLENGE_IMPL")
        if name == "shared":
            session.run("pytest", f"{rel}/tests", *session.posargs)
            return
        impls = [chosen] if chosen else ["baseline", "solution"]
        for impl in impls:
            session.run("pytest", f"{rel}/tests", *session.posargs, env={"CHALLENGE_IMPL": impl})
        if not chosen:
            session.run("prep", "verify", name.removeprefix("challenge_"))

    if torchrun:

        @nox.session(name=f"torchrun-{name}", tags=["torchrun", name])
        def torchrun_session(session: nox.Session) -> None:
            """Multi-process tests under torchrun: NCCL per GPU, else gloo on the CPU.

            On CPU the world size is `PREP_WORLD_SIZE` (default: the package's nproc)."""
            sync(session, dist)
            world = session.run(
                "python", "-c", "import torch; print(torch.cuda.device_count())", silent=True
            )
            gpus = int(str(world).strip() or 0)
            n = gpus if gpus >= 2 else int(os.environ.get("PREP_WORLD_SIZE", nproc))
            for test_file in torchrun:
                session.run(
                    "torchrun", "--standalone", f"--nproc-per-node={n}",
                    "-m", "pytest", f"{rel}/{test_file}", "-p", "no:cacheprovider", *session.posargs,
                    env={"PREP_BACKEND": "nccl" if gpus >= 2 else "gloo"},
                )  # fmt: skip


make_sessions("shared", "prep", ROOT / "shared", catalog.shared_torchrun(ROOT), 2)
for challenge in catalog.challenges(ROOT):
    make_sessions(
        f"challenge_{challenge.nn}",
        challenge.dist_name,
        challenge.root,
        challenge.torchrun,
        challenge.nproc,
    )


@nox.session(name="lock", tags=["lint"])
def lock(session: nox.Session) -> None:
    """uv.lock matches every pyproject.toml."""
    session.run("uv", "lock", "--check", external=True)


@nox.session(name="lint-workflows", tags=["lint"])
def lint_workflows(session: nox.Session) -> None:
    """The GitHub workflows: schema-valid and free of zizmor's security findings."""
    session.run_install(
        "uv", "sync", "--locked", "--only-group", "dev",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )  # fmt: skip
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    session.run("zizmor", "--offline", *WORKFLOWS)

"""nox sessions, generated per challenge from the catalog (each challenge's [tool.prep] table).

    uv run nox                     everything: lint, typecheck, test (+ torchrun) for all
    uv run nox -l                  the list
    uv run nox -t challenge_12     one challenge's whole set
    uv run nox -t gpu              the gpu/multigpu-marked tests (on a GPU machine)
    CHALLENGE_IMPL=starter uv run nox -s test-challenge_12   your starter only

Every session syncs its own uv environment holding only its package and the dev group
(`uv sync --locked --package <dist> --group dev`), so a package that imports something it did
not declare fails its own session.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "shared" / "src"))  # read the catalog without installing prep
from prep import catalog, forkrun, practice  # noqa: E402

nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True
# Reuse session venvs: `uv sync --locked` makes each one exact again in a second or two.
nox.options.reuse_venv = "yes"
nox.needs_version = ">=2026.10.20"
# Two sessions at a time where they may share the machine: lint and typecheck (ruff, mypy and
# deptry are single-threaded). Test and torchrun sessions run alone, since they already use
# every core (baseline and solution side by side, then `prep verify`'s runs).
nox.options.parallel = os.cpu_count() or 1
# `uv run nox` runs every CPU session; the gpu-* sessions run only when asked (`-t gpu`).
nox.options.tags = ["lint", "typecheck", "test", "torchrun"]

WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
# One mypy cache for every session, so torch is analysed once per run, not once per session.
MYPY_CACHE = str(ROOT / ".nox" / ".mypy_cache")
# deptry on src and tests: test-only tools come from the root dev group, not the package, and
# DEP004 (a dev dependency imported by package code) does not apply to a workspace member.
DEPTRY_TEST_TOOLS = ("pytest", "_pytest", "hypothesis")


def deptry_args(root: Path) -> list[str]:
    """deptry's options for one package: tests scanned too (deptry skips tests/ by default, but
    their oracles are dependencies), the dev group's test tools allowed, and the package's own
    `[tool.deptry.per_rule_ignores]` merged in (a command-line value would replace them)."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    ignores: dict[str, list[str]] = {"DEP001": [*DEPTRY_TEST_TOOLS], "DEP003": [*DEPTRY_TEST_TOOLS]}
    own = data.get("tool", {}).get("deptry", {}).get("per_rule_ignores", {})
    for rule, names in own.items():
        ignores.setdefault(rule, []).extend(names)
    rules = ",".join(f"{rule}={'|'.join(names)}" for rule, names in ignores.items())
    return [
        "--exclude",
        r"\.venv|\.nox|__pycache__",
        "--per-rule-ignores",
        rules,
        "--ignore",
        "DEP004",
    ]


def sync(session: nox.Session, dist: str, *extra: str) -> None:
    """Install exactly `dist`, its dependencies and the dev group into the session's venv."""
    session.run_install(
        "uv", "sync", "--locked", "--package", dist, "--group", "dev", *extra,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )  # fmt: skip


def sync_group(session: nox.Session, group: str) -> None:
    """Install one dependency group alone (no project, no torch): the lint tools."""
    session.run_install(
        "uv", "sync", "--locked", "--only-group", group,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )  # fmt: skip


def has_gpu_tests(tests: Path) -> bool:
    """Whether any test file under `tests` is marked gpu or multigpu."""
    return any(
        "mark.gpu" in text or "mark.multigpu" in text
        for text in (p.read_text(encoding="utf-8") for p in tests.rglob("test_*.py"))
    )


def cuda_count(session: nox.Session) -> int:
    """CUDA devices visible to the session's torch; 0 when torch is absent or sees none.

    The count is the last line starting with PREP_CUDA=, so warnings torch prints on import
    (driver too old, NUMA notices) cannot be mistaken for it."""
    script = (
        "try:\n import torch; n = torch.cuda.device_count()\n"
        "except ImportError:\n n = 0\nprint(f'PREP_CUDA={n}')"
    )
    output = str(session.run("python", "-c", script, silent=True) or "")
    counts = [
        line.split("=", 1)[1] for line in output.splitlines() if line.startswith("PREP_CUDA=")
    ]
    return int(counts[-1]) if counts and counts[-1].strip().isdigit() else 0


@contextlib.contextmanager
def checked_sources(challenge: catalog.Challenge | None, rel: str) -> Iterator[list[str]]:
    """src and tests for ruff and mypy. A candidate's edited starter is swapped for the pristine
    one (in a temporary copy of src), so practising never turns lint or typecheck red."""
    if challenge is None:
        yield [f"{rel}/src", f"{rel}/tests"]
        return
    with practice.pristine_overlay(challenge) as overlay:
        yield [str(overlay) if overlay is not None else f"{rel}/src", f"{rel}/tests"]


def pytest_side_by_side(session: nox.Session, tests: str, impls: list[str]) -> None:
    """pytest on each implementation at once, one process per CPU core (one thread each, so
    OpenMP barriers do not wait out time slices); the outputs are printed in order.

    Where it is safe the processes are forked from one that imported the suite once
    (`prep.forkrun`), instead of each importing torch and the tests again."""
    env = {
        **os.environ,
        "PATH": f"{session.bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(session.virtualenv.location),
        "OMP_NUM_THREADS": "1",
    }
    command = ["pytest", tests, "-p", "no:cacheprovider", *session.posargs]
    session.log(f"{' '.join(command)}  (CHALLENGE_IMPL={', '.join(impls)}, side by side)")
    with tempfile.TemporaryDirectory() as folder:
        logs = [Path(folder) / f"{impl}.log" for impl in impls]
        if forkrun.available():
            spec = Path(folder) / "forkrun.json"
            spec.write_text(
                json.dumps(
                    {
                        "root": str(ROOT / Path(tests).parent),
                        "workers": len(impls),
                        "collect": ["-p", "no:cacheprovider"],
                        "jobs": {i: ["", *command[2:]] for i in impls},
                        "logs": {i: str(log) for i, log in zip(impls, logs, strict=True)},
                    }
                ),
                encoding="utf-8",
            )
            python = str(Path(session.bin) / "python")
            done = subprocess.run(
                [python, "-m", "prep.forkrun", str(spec)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            lines = done.stdout.strip().splitlines()
            try:
                by_impl = json.loads(lines[-1]) if lines else {}
            except json.JSONDecodeError:
                by_impl = {}
            if not by_impl:
                print(done.stdout + done.stderr, flush=True)
            codes = [int(by_impl.get(impl, 3)) for impl in impls]
        else:
            procs = []
            for impl, log in zip(impls, logs, strict=True):
                with log.open("wb") as out:
                    procs.append(
                        subprocess.Popen(
                            command, env={**env, "CHALLENGE_IMPL": impl}, stdout=out, stderr=out
                        )
                    )
            codes = [proc.wait() for proc in procs]
        for impl, log, code in zip(impls, logs, codes, strict=True):
            print(f"--- pytest, CHALLENGE_IMPL={impl}: exit {code}", flush=True)
            if log.is_file():
                print(log.read_text(encoding="utf-8", errors="replace"), flush=True)
    failed = [impl for impl, code in zip(impls, codes, strict=True) if code != 0]
    if failed:
        session.error(f"pytest failed for {', '.join(failed)}")


def make_sessions(
    name: str,
    dist: str,
    root: Path,
    torchrun: tuple[str, ...],
    nproc: int,
    challenge: catalog.Challenge | None = None,
) -> None:
    """Define lint-/typecheck-/test-(/torchrun-)(/gpu-)<name> for one package."""
    rel = str(root.relative_to(ROOT))
    # The harness keeps torch optional; its own checks and tests exercise the torch paths.
    extras = ("--all-extras",) if name == "shared" else ()

    @nox.session(name=f"lint-{name}", tags=["lint", name], allow_parallel=True)
    def lint(session: nox.Session) -> None:
        """ruff check and format check (ruff alone is installed)."""
        sync_group(session, "lint")
        # --config: the pristine copy of src lives outside the tree, where ruff finds no config.
        config = ("--config", str(ROOT / "pyproject.toml"))
        with checked_sources(challenge, rel) as checked:
            session.run("ruff", "check", *config, *checked)
            session.run("ruff", "format", "--check", *config, *checked)

    @nox.session(name=f"typecheck-{name}", tags=["typecheck", name], allow_parallel=True)
    def typecheck(session: nox.Session) -> None:
        """mypy --strict, then deptry: every import declared, every declared dependency used.

        deptry runs here, not in the lint session, because it maps imports to distributions
        through the installed package metadata, which only this session has."""
        sync(session, dist, *extras)
        with checked_sources(challenge, rel) as checked:
            session.run("mypy", "--cache-dir", MYPY_CACHE, *checked)
        session.chdir(root)
        session.run("deptry", "src", "tests", *deptry_args(root))

    @nox.session(name=f"test-{name}", tags=["test", name])
    def test(session: nox.Session) -> None:
        """pytest on baseline and solution (or on CHALLENGE_IMPL), then `prep verify`.

        `prep verify` proves the starter fails with NotImplementedError and that every
        tests/wrong/ version is rejected. The last line gives each phase's wall time (nox
        itself rounds to minutes)."""
        started = time.monotonic()
        sync(session, dist, *extras)
        chosen = os.environ.get("CHALLENGE_IMPL")
        if name == "shared":
            session.run("pytest", f"{rel}/tests", *session.posargs)
        elif chosen:
            session.run("pytest", f"{rel}/tests", *session.posargs, env={"CHALLENGE_IMPL": chosen})
        else:
            tested = time.monotonic()
            pytest_side_by_side(session, f"{rel}/tests", ["baseline", "solution"])
            verified = time.monotonic()
            session.run("prep", "verify", name.removeprefix("challenge_"))
            session.log(
                f"test-{name}: environment {tested - started:.0f} s, baseline and solution "
                f"{verified - tested:.0f} s, verify {time.monotonic() - verified:.0f} s"
            )
        session.log(f"test-{name} took {time.monotonic() - started:.1f} s")

    if has_gpu_tests(root / "tests"):

        @nox.session(name=f"gpu-{name}", tags=["gpu"])
        def gpu(session: nox.Session) -> None:
            """Only the tests marked gpu / multigpu, on baseline and solution (a GPU runner)."""
            sync(session, dist, *extras)
            chosen = os.environ.get("CHALLENGE_IMPL")
            impls = ["-"] if name == "shared" else [chosen] if chosen else ["baseline", "solution"]
            for impl in impls:
                session.run(
                    "pytest", f"{rel}/tests", "-m", "gpu or multigpu", *session.posargs,
                    env={"CHALLENGE_IMPL": impl} if impl != "-" else {},
                )  # fmt: skip

    if torchrun:

        @nox.session(name=f"torchrun-{name}", tags=["torchrun", name])
        def torchrun_session(session: nox.Session) -> None:
            """Multi-process tests under torchrun: NCCL per GPU, else gloo on the CPU.

            On CPU the world size is `PREP_WORLD_SIZE` (default: the package's nproc)."""
            sync(session, dist, *extras)
            gpus = cuda_count(session)
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
        challenge,
    )


@nox.session(name="lock", tags=["lint"], venv_backend="none", allow_parallel=True)
def lock(session: nox.Session) -> None:
    """uv.lock matches every pyproject.toml."""
    session.run("uv", "lock", "--check", external=True)


@nox.session(name="lint-workflows", tags=["lint"], allow_parallel=True)
def lint_workflows(session: nox.Session) -> None:
    """The GitHub workflows: schema-valid and free of zizmor's security findings."""
    session.run_install(
        "uv", "sync", "--locked", "--only-group", "dev",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )  # fmt: skip
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    session.run("zizmor", "--offline", *WORKFLOWS)

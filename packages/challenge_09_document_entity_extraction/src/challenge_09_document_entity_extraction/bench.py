"""``prep bench 09``: extraction throughput on the held-out layouts, scoring against
nervaluate, then per-label F1 of the baseline and the solution at every noise level.

Throughput is one ``extract`` call per held-out document, a whole noise level per timed call
(documents per second = documents / median); the first, untimed call trains the solution's
tagger. Every timed result is re-checked: the micro-F1 of the extractions against the gold
spans must reach the workload's floor, and ``evaluate`` must equal nervaluate's counts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from challenge_09_document_entity_extraction import solution
from challenge_09_document_entity_extraction.generator import NOISE_LEVELS, load_heldout
from challenge_09_document_entity_extraction.records import LABELS, Document, Evaluation, Span
from prep.bench import Row, Workload, implementations

PACKAGE = "challenge_09_document_entity_extraction"
NOISE_NAMES = {0: "clean", 1: "low", 2: "medium", 3: "high"}
# micro-F1 floors a timed run must keep (the README's targets for the solution)
FLOORS = {0: 0.95, 2: 0.90}


def _gold(docs: list[Document]) -> list[list[Span]]:
    return [list(d.spans) for d in docs]


def _extract_all(module: ModuleType, docs: list[Document]) -> Callable[[], object]:
    return lambda: [module.extract(d.text).spans for d in docs]


def _extraction_workload(impls: dict[str, ModuleType], level: int) -> Workload:
    docs = load_heldout(noise=level)
    gold = _gold(docs)

    def check(name: str, value: object) -> None:
        f1 = solution.evaluate(value, gold).micro_exact.f1  # type: ignore[arg-type]
        assert f1 >= FLOORS[level], f"{name}: micro-F1 {f1:.3f} < {FLOORS[level]}"

    return Workload(
        name=f"extract {len(docs)} held-out documents, {NOISE_NAMES[level]} (noise {level})",
        candidates={name: _extract_all(m, docs) for name, m in impls.items()},
        check=check,
        device="cpu",
        notes=f"documents per second = {len(docs)} / median; the tagger trains in the untimed "
        "first call",
    )


def _scoring_workload(impls: dict[str, ModuleType]) -> Workload:
    from nervaluate import Evaluator  # type: ignore[import-untyped]

    docs = load_heldout()
    gold = _gold(docs)
    predicted = [solution.rule_spans(d.text) for d in docs]

    def dicts(spans: list[list[Span]]) -> list[list[dict[str, Any]]]:
        return [[{"label": s.label, "start": s.start, "end": s.end - 1} for s in d] for d in spans]

    gold_dicts, predicted_dicts = dicts(gold), dicts(predicted)
    want = Evaluator(gold_dicts, predicted_dicts, tags=list(LABELS), loader="dict").evaluate()

    def check(name: str, value: object) -> None:
        if name == "nervaluate":
            return
        assert isinstance(value, Evaluation), f"{name} returned {type(value).__name__}"
        for label, modes in want["entities"].items():
            theirs = modes["strict"]
            ours = value.exact[label]
            assert (ours.correct, ours.predicted, ours.gold) == (
                theirs.correct,
                theirs.actual,
                theirs.possible,
            ), f"{name}: {label} counts differ from nervaluate's"

    candidates: dict[str, Callable[[], object]] = {
        name: functools.partial(m.evaluate, predicted, gold) for name, m in impls.items()
    }
    candidates["nervaluate"] = lambda: Evaluator(
        gold_dicts, predicted_dicts, tags=list(LABELS), loader="dict"
    ).evaluate()
    return Workload(
        name=f"evaluate {len(docs)} documents, {sum(map(len, gold)):,} gold spans",
        candidates=candidates,
        check=check,
        device="cpu",
        reference="nervaluate",
        library="nervaluate",
        notes="nervaluate also runs its partial and exact (type-blind) schemes",
    )


def workloads(quick: bool) -> list[Workload]:
    impls = implementations(PACKAGE)
    impls.pop("baseline")  # the baseline's evaluate is the solution's
    scoring = _scoring_workload(impls)
    impls = implementations(PACKAGE)
    levels = (2,) if quick else (0, 2)
    return [*(_extraction_workload(impls, level) for level in levels), scoring]


@functools.cache
def _quality() -> dict[str, dict[int, Evaluation]]:
    """Evaluation of the baseline and the solution at every noise level of the test set."""
    impls = implementations(PACKAGE)
    out: dict[str, dict[int, Evaluation]] = {}
    for name in ("baseline", "solution"):
        out[name] = {}
        for level in NOISE_LEVELS:
            docs = load_heldout(noise=level)
            predicted = [impls[name].extract(d.text).spans for d in docs]
            out[name][level] = solution.evaluate(predicted, _gold(docs))
    return out


def _docs_per_second(rows: list[Row]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        if row.timing is None or not row.workload.startswith("extract"):
            continue
        n = int(row.workload.split()[1])
        out.setdefault(row.workload, {})[row.candidate] = n / row.timing.median
    return out


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Print documents per second, then per-label F1 of baseline and solution by noise level
    (exact / partial), as Markdown; return the figures for ``--json``."""
    speed = _docs_per_second(rows)
    for workload, rates in speed.items():
        print(f"\n{workload}: " + ", ".join(f"{k} {v:,.1f} docs/s" for k, v in rates.items()))
    quality = _quality()
    print("\nExact-match F1 (partial-match F1) per label on the held-out layouts:\n")
    header = ["label"] + [
        f"{impl} {NOISE_NAMES[level]}"
        for level in NOISE_LEVELS
        for impl in ("baseline", "solution")
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))

    def cell(result: Evaluation, label: str | None) -> str:
        if label is None:
            return f"**{result.micro_exact.f1:.3f}** ({result.micro_partial.f1:.3f})"
        return f"{result.exact[label].f1:.3f} ({result.partial[label].f1:.3f})"

    for label in (*LABELS, None):
        cells = [
            cell(quality[impl][level], label)
            for level in NOISE_LEVELS
            for impl in ("baseline", "solution")
        ]
        print("| " + " | ".join([label or "**micro**", *cells]) + " |")
    return {
        "docs_per_second": speed,
        "micro_f1": {
            impl: {
                NOISE_NAMES[level]: {"exact": e.micro_exact.f1, "partial": e.micro_partial.f1}
                for level, e in by_level.items()
            }
            for impl, by_level in quality.items()
        },
    }


def plot(rows: list[Row], path: Path, quick: bool) -> None:
    """Micro-F1 (exact and partial match) against the noise level, baseline and solution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quality = _quality()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for impl, style in (("baseline", "s"), ("solution", "o")):
        levels = sorted(quality[impl])
        ax.plot(levels, [quality[impl][lv].micro_exact.f1 for lv in levels], f"{style}-",
                label=f"{impl}, exact")  # fmt: skip
        ax.plot(levels, [quality[impl][lv].micro_partial.f1 for lv in levels], f"{style}--",
                label=f"{impl}, partial")  # fmt: skip
    ax.set_xticks(list(NOISE_LEVELS), [NOISE_NAMES[lv] for lv in NOISE_LEVELS])
    ax.set(title="Held-out layouts: micro-F1 vs OCR noise", xlabel="noise level",
           ylabel="micro-F1")  # fmt: skip
    ax.axhline(0.90, color="gray", linestyle=":", linewidth=1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

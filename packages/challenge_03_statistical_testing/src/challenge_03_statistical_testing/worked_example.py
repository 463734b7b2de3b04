"""Worked example: is logistic regression really better than a decision tree?

Both classifiers are scored out of fold (10-fold cross-validation) on scikit-learn's breast
cancer dataset (569 tumours, 30 features; shipped with scikit-learn, no download), which gives
each model's correctness on every example. McNemar's test asks whether the two disagree in one
direction more than chance allows; a bootstrap interval says how large the accuracy gap is.

The out-of-fold predictions come from ten models, each trained on 90% of the data, so the
examples are not quite independent given "the" model: McNemar here answers whether the two
*procedures* differ on this dataset, and is somewhat optimistic. For a clean test, train each
model once and score one held-out test set (Dietterich, 1998); across retrainings use the 5x2cv
paired t-test or Nadeau-Bengio's corrected resampled t-test.

    uv run python -m challenge_03_statistical_testing.worked_example

``CHALLENGE_IMPL`` picks the implementation (default: solution), so this runs on your starter
once it is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from challenge_03_statistical_testing.results import BootstrapCI, ModelComparison, TestResult
from prep import impl as impl_switch

BoolArray = npt.NDArray[np.bool_]
# The smallest paired effect worth acting on, fixed before looking at the data: planning a
# study's size from the effect it then observed ("post-hoc power") only restates the p-value.
SMALLEST_EFFECT_DZ = 0.1


@dataclass(frozen=True)
class WorkedExample:
    """Everything the example computes."""

    correct_tree: BoolArray  # model A: per-example correctness, (569,)
    correct_logreg: BoolArray  # model B
    mcnemar: TestResult  # exact=None: chi-square here (many discordant examples)
    accuracy_gap: BootstrapCI  # BCa interval for accuracy(B) - accuracy(A)
    comparison: ModelComparison  # compare_models' one-call report
    examples_for_80_percent_power: float  # paired t-test sample size at SMALLEST_EFFECT_DZ


def per_example_correctness(seed: int = 0) -> tuple[BoolArray, BoolArray]:
    """Out-of-fold correctness of a decision tree (A) and logistic regression (B), per example."""
    features, labels = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=seed)
    tree = DecisionTreeClassifier(random_state=seed)
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    predicted_a = cross_val_predict(tree, features, labels, cv=folds)
    predicted_b = cross_val_predict(logreg, features, labels, cv=folds)
    return predicted_a == labels, predicted_b == labels


def run(module: ModuleType, seed: int = 0) -> WorkedExample:
    """The example with the implementation ``module`` (starter, baseline or solution)."""
    correct_a, correct_b = per_example_correctness(seed)
    gap = correct_b.astype(np.float64) - correct_a.astype(np.float64)  # +1, 0 or -1 per example
    comparison = module.compare_models(correct_a, correct_b)
    return WorkedExample(
        correct_tree=correct_a,
        correct_logreg=correct_b,
        mcnemar=module.mcnemar_test(correct_a, correct_b),
        accuracy_gap=module.bootstrap_ci(gap, np.mean, method="bca", seed=seed),
        comparison=comparison,
        examples_for_80_percent_power=float(
            module.sample_size_ttest(SMALLEST_EFFECT_DZ, 0.8, kind="paired")
        ),
    )


def describe(example: WorkedExample) -> str:
    """The report the README shows."""
    a, b = example.correct_tree, example.correct_logreg
    ci, test, report = example.accuracy_gap, example.mcnemar, example.comparison
    return "\n".join(
        [
            f"examples: {len(a)}; accuracy: tree {a.mean():.4f}, "
            f"logistic regression {b.mean():.4f}",
            f"discordant: tree right & logreg wrong {int((a & ~b).sum())}, "
            f"tree wrong & logreg right {int((~a & b).sum())}",
            f"McNemar (chi-square, continuity corrected): statistic {test.statistic:.3f}, "
            f"p = {test.pvalue:.2e}",
            f"accuracy gap (B - A): {ci.estimate:.4f}, 95% BCa bootstrap CI "
            f"[{ci.low:.4f}, {ci.high:.4f}]",
            f"compare_models: {report.test} -> {report.decision}; d_z = {report.effect_size:.3f}, "
            f"95% interval from the same test [{report.ci_low:.4f}, {report.ci_high:.4f}]",
            f"next study: examples for 80% power at d_z = {SMALLEST_EFFECT_DZ} "
            f"(paired t, alpha 0.05): {example.examples_for_80_percent_power:.1f}",
        ]
    )


def main() -> None:
    module = impl_switch.load("challenge_03_statistical_testing")
    print(f"implementation: {module.__name__}")
    print(describe(run(module)))


if __name__ == "__main__":
    main()

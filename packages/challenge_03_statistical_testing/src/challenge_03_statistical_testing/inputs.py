"""Input checks shared by the three implementations: each turns user input into a float64 array
with a leading batch axis, or raises a ``ValueError``/``TypeError`` naming the argument.

Every public function of the challenge accepts one comparison (e.g. a sample of shape ``(n,)``)
or a batch of ``B`` comparisons (``(B, n)``); these helpers return the batched form plus a flag
saying whether the caller passed a batch, and ``unbatch`` turns ``(B,)`` results back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from challenge_03_statistical_testing.results import ALTERNATIVES, Alternative, FloatArray, Values

BoolArray = npt.NDArray[np.bool_]


def _real_array(x: Any, name: str) -> npt.NDArray[Any]:
    array = np.asarray(x)
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _check_finite(array: FloatArray, name: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains NaN or inf (first at index {where}); drop or impute missing values "
            f"first: a p-value of NaN data means nothing"
        )


def _batch(array: FloatArray, name: str, core_ndim: int, core: str) -> tuple[FloatArray, bool]:
    if array.ndim not in (core_ndim, core_ndim + 1):
        raise ValueError(
            f"{name} must have shape {core} or, batched, (B, {core.strip('()')}); "
            f"got shape {array.shape}"
        )
    batched = array.ndim == core_ndim + 1
    out = array if batched else array[np.newaxis]
    if out.shape[0] == 0:
        raise ValueError(f"{name} has an empty batch axis (shape {array.shape})")
    return np.ascontiguousarray(out), batched


def as_sample(x: Any, name: str, *, min_n: int = 2) -> tuple[FloatArray, bool]:
    """``x`` as a ``(B, n)`` float64 array, and whether it came with the batch axis.

    Raises:
        TypeError: non-numeric data.
        ValueError: not 1-D ``(n,)`` or 2-D ``(B, n)``; fewer than ``min_n`` observations;
            NaN or inf anywhere.
    """
    array, batched = _batch(_real_array(x, name), name, 1, "(n,)")
    n = array.shape[-1]
    if n < min_n:
        plural = "s" if min_n > 1 else ""
        raise ValueError(f"{name} needs at least {min_n} observation{plural}, got {n}")
    _check_finite(array, name)
    return array, batched


def as_pair(
    a: Any, b: Any, *, paired: bool, names: tuple[str, str] = ("a", "b"), min_n: int = 2
) -> tuple[FloatArray, FloatArray, bool]:
    """Two samples as ``(B, na)`` and ``(B, nb)`` arrays; paired samples need ``na == nb``.

    Raises:
        ValueError: as ``as_sample``; one batched and the other not; different batch sizes;
            paired samples of different lengths.
    """
    first, second = names
    a2, a_batched = as_sample(a, first, min_n=min_n)
    b2, b_batched = as_sample(b, second, min_n=min_n)
    if a_batched != b_batched:
        raise ValueError(
            f"{first} and {second} must both be single samples or both batched; got shapes "
            f"{np.shape(a)} and {np.shape(b)}"
        )
    if a2.shape[0] != b2.shape[0]:
        raise ValueError(
            f"{first} and {second} hold different batch sizes: {a2.shape[0]} and {b2.shape[0]}"
        )
    if paired and a2.shape[-1] != b2.shape[-1]:
        raise ValueError(
            f"paired samples need one {second} per {first}: {first} has {a2.shape[-1]} "
            f"observations, {second} has {b2.shape[-1]}"
        )
    return a2, b2, a_batched


def as_location(value: Any, name: str, batch: int) -> FloatArray:
    """A number, or one per comparison (shape ``(batch,)``), as a finite ``(batch,)`` array."""
    array = _real_array(value, name)
    if array.shape not in ((), (batch,)):
        raise ValueError(f"{name} must be a number or have shape ({batch},); got {array.shape}")
    _check_finite(array, name)
    return np.broadcast_to(array, (batch,)).copy()


def as_finite(value: Any, name: str) -> FloatArray:
    """A number or array of numbers, checked finite."""
    array = _real_array(value, name)
    _check_finite(array, name)
    return array


def as_counts(observed: Any) -> tuple[FloatArray, bool]:
    """Category counts as a ``(B, k)`` float64 array; k >= 2.

    Raises:
        ValueError: not ``(k,)`` or ``(B, k)``; fewer than 2 categories; NaN, inf or negative.
    """
    array, batched = _batch(_real_array(observed, "observed"), "observed", 1, "(k,)")
    _check_counts(array, "observed")
    if array.shape[-1] < 2:
        raise ValueError(f"observed needs at least 2 categories, got {array.shape[-1]}")
    return array, batched


def as_expected_counts(observed: FloatArray, expected: Any) -> FloatArray:
    """The ``(B, k)`` expected counts for ``observed`` (B, k): the row mean when ``expected`` is
    None, else ``expected`` (shape ``(k,)`` or ``(B, k)``) checked.

    Raises:
        ValueError: wrong shape; NaN or inf; an expected count <= 0; a row whose expected
            total differs from the observed total by more than sqrt(eps) relative (scipy's rule).
    """
    if expected is None:
        uniform = np.broadcast_to(observed.mean(axis=-1, keepdims=True), observed.shape)
        if (uniform <= 0).any():
            row = int(np.argwhere(uniform <= 0)[0][0])
            raise ValueError(f"observed row {row} sums to zero: there is nothing to test")
        return uniform
    array = _real_array(expected, "expected")
    if array.shape not in (observed.shape[1:], observed.shape):
        raise ValueError(
            f"expected must have shape {observed.shape[1:]} or {observed.shape}; got {array.shape}"
        )
    _check_finite(array, "expected")
    exp = np.broadcast_to(array, observed.shape)
    if (exp <= 0).any():
        where = tuple(int(i) for i in np.argwhere(exp <= 0)[0])
        raise ValueError(
            f"expected counts must be positive (a category with expected count 0 makes "
            f"(O - E)^2 / E undefined); got {float(exp[where])} at index {where}"
        )
    total_obs, total_exp = observed.sum(axis=-1), exp.sum(axis=-1)
    rtol = float(np.sqrt(np.finfo(np.float64).eps))
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.abs(total_obs - total_exp) / np.minimum(total_obs, total_exp)
    if (~(off <= rtol)).any():
        row = int(np.argwhere(~(off <= rtol))[0][0])
        raise ValueError(
            f"expected must sum to the observed total in each row (relative {rtol:.1e}); row "
            f"{row}: observed {total_obs[row]:g}, expected {total_exp[row]:g}"
        )
    return np.ascontiguousarray(exp)


def check_ddof(k: int, ddof: int) -> None:
    """Raise unless ``ddof`` is a non-negative integer leaving df = k - 1 - ddof >= 1."""
    if isinstance(ddof, bool) or not isinstance(ddof, int | np.integer) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative integer; got {ddof!r}")
    if k - 1 - ddof < 1:
        raise ValueError(f"ddof={ddof} leaves k - 1 - ddof = {k - 1 - ddof} degrees of freedom")


def as_table(table: Any) -> tuple[FloatArray, bool]:
    """A contingency table as a ``(B, r, c)`` float64 array; r, c >= 2.

    Raises:
        ValueError: not ``(r, c)`` or ``(B, r, c)``; fewer than 2 rows or columns; NaN, inf or
            negative counts; a row or column summing to zero (its expected counts would be 0).
    """
    array, batched = _batch(_real_array(table, "table"), "table", 2, "(r, c)")
    _check_counts(array, "table")
    rows, cols = array.shape[-2:]
    if rows < 2 or cols < 2:
        raise ValueError(f"table needs at least 2 rows and 2 columns; got {rows} x {cols}")
    for axis, what in ((-1, "row"), (-2, "column")):
        empty = array.sum(axis=axis) == 0
        if empty.any():
            where = np.argwhere(empty)[0]
            prefix = f"batch {int(where[0])}: " if batched else ""
            raise ValueError(
                f"{prefix}table {what} {int(where[1])} sums to zero, so its expected counts are "
                f"0 and the chi-square statistic is undefined; drop the empty {what}"
            )
    return array, batched


def _check_counts(array: FloatArray, name: str) -> None:
    _check_finite(array, name)
    if (array < 0).any():
        where = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise ValueError(f"{name} must hold non-negative counts; negative at index {where}")


def as_paired_correctness(correct_a: Any, correct_b: Any) -> tuple[BoolArray, BoolArray, bool]:
    """Two models' per-example correctness (``bool`` or 0/1, same examples) as ``(B, n)`` bools.

    Raises:
        ValueError: values other than 0/1; different lengths or batch sizes; NaN; no examples.
    """
    a, b, batched = as_pair(
        correct_a, correct_b, paired=True, names=("correct_a", "correct_b"), min_n=1
    )
    for array, name in ((a, "correct_a"), (b, "correct_b")):
        if not np.isin(array, (0.0, 1.0)).all():
            raise ValueError(f"{name} must be per-example correctness: booleans or 0/1 values")
    return a.astype(np.bool_), b.astype(np.bool_), batched


def as_pvalues(p: Any) -> tuple[FloatArray, bool]:
    """p-values as a ``(B, m)`` array.

    Raises:
        ValueError: not 1-D/2-D, empty, NaN, or outside [0, 1].
    """
    array, batched = as_sample(p, "pvalues", min_n=1)
    if ((array < 0) | (array > 1)).any():
        raise ValueError("pvalues must lie in [0, 1]")
    return array, batched


def check_alternative(alternative: str) -> Alternative:
    """``alternative`` if it is ``"two-sided"``, ``"less"`` or ``"greater"``, else ValueError."""
    for valid in ALTERNATIVES:
        if alternative == valid:
            return valid
    raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}; got {alternative!r}")


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> None:
    """Raise a ValueError naming the valid choices unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def check_resamples(n_resamples: int) -> None:
    """Raise unless ``n_resamples`` is a positive integer."""
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, int | np.integer)
        or n_resamples < 1
    ):
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")


def apply_statistic(statistic: Callable[..., Any], x: FloatArray) -> FloatArray:
    """``statistic(x, axis=-1)`` checked to reduce the last axis, e.g. ``np.mean``.

    Raises:
        TypeError: ``statistic`` is not callable or does not reduce ``x`` to ``x.shape[:-1]``.
    """
    if not callable(statistic):
        raise TypeError(f"statistic must be callable like np.mean(x, axis=-1); got {statistic!r}")
    value = np.asarray(statistic(x, axis=-1), dtype=np.float64)
    if value.shape != x.shape[:-1]:
        raise TypeError(
            f"statistic(x, axis=-1) must reduce the last axis: x of shape {x.shape} gave shape "
            f"{value.shape}, expected {x.shape[:-1]}"
        )
    return value


def check_unit_interval(value: Any, name: str) -> FloatArray:
    """``value`` (a number or array) as float64, every element strictly between 0 and 1."""
    array = np.asarray(value, dtype=np.float64)
    if not ((array > 0) & (array < 1)).all():
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return array


def unbatch(values: FloatArray, batched: bool) -> Values:
    """``(B,)`` results as they are for a batch, else the single value as a Python float."""
    return values if batched else float(values[0])

"""Task 9: Bonferroni, Holm and Benjamini-Hochberg adjustments, against statsmodels."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from prep.testing import assert_close

RTOL = 1e-10
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
STATSMODELS_METHOD = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh"}


def oracle(p: Any, method: str) -> Any:
    """statsmodels' adjusted p-values. Its Holm branch calls gc.collect() on every call, 0.3 s
    with torch loaded; the values do not depend on it, so it is skipped here."""
    with mock.patch("gc.collect"):
        return multipletests(p, method=STATSMODELS_METHOD[method])[1]


pvalues = st.one_of(
    st.floats(0, 1),
    st.sampled_from([0.0, 0.001, 0.01, 0.04, 0.05, 0.2, 1.0]),  # ties and the ends
)


@pytest.mark.task(9)
@SETTINGS
@given(
    p=st.lists(pvalues, min_size=1, max_size=30).map(np.array),
    method=st.sampled_from(sorted(STATSMODELS_METHOD)),
)
def test_matches_statsmodels(impl: ModuleType, p: Any, method: str) -> None:
    result = impl.adjust_pvalues(p, method)
    reference = oracle(p, method)
    assert_close(result, reference, rtol=RTOL, task=9, what=f"{method} adjusted p-values")


@pytest.mark.task(9)
@pytest.mark.parametrize("method", sorted(STATSMODELS_METHOD))
def test_batch_of_families(impl: ModuleType, method: str) -> None:
    rng = np.random.default_rng(12)
    p = rng.random((32, 15)) ** 3
    result = impl.adjust_pvalues(p, method)
    reference = [oracle(row, method) for row in p]
    assert np.shape(result) == (32, 15)
    assert_close(result, reference, rtol=RTOL, task=9, what=f"{method}, one family per row")


@pytest.mark.task(9)
def test_holm_example_by_hand(impl: ModuleType) -> None:
    """p = (0.01, 0.04, 0.03): sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03, 0.06, max(0.06, 0.04)."""
    assert_close(
        impl.adjust_pvalues([0.01, 0.04, 0.03], "holm"), [0.03, 0.06, 0.06], rtol=RTOL, task=9
    )
    assert_close(
        impl.adjust_pvalues([0.01, 0.04, 0.03], "bh"), [0.03, 0.04, 0.04], rtol=RTOL, task=9
    )

"""A pytest plugin that writes the first failing test's report to ``PREP_FIRST_FAILURE``.

``prep watch`` and ``prep mock`` run the suite quietly and show only this one report, the one
a candidate should read next. Loaded with ``-p prep.first_failure``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIRST_FAILURE_ENV = "PREP_FIRST_FAILURE"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    target = os.environ.get(FIRST_FAILURE_ENV)
    if not target or not report.failed or Path(target).exists():
        return
    Path(target).write_text(f"{report.nodeid}\n{report.longreprtext}", encoding="utf-8")

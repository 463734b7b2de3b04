"""Hypothesis settings for the suite: few, fixed examples (the whole suite runs in seconds)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "challenge06",
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: failures reproduce
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("challenge06")

"""Known wrong: US-only date parsing: numeric dates are always read month first, so the
European 04/03/2026 (4 March) becomes April 3, whatever ``day_first`` says."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prep.impl import fresh_copy

IMPLEMENTATION = fresh_copy("challenge_09_document_entity_extraction.solution")
_parse: Any = IMPLEMENTATION.normalize_date


def _month_first(text: str, *, day_first: bool = True) -> dt.date:
    day: dt.date = _parse(text, day_first=False)  # the bug: day_first ignored
    return day


vars(IMPLEMENTATION)["normalize_date"] = _month_first


TASK = 1  # whose tests reject it: `prep verify` runs them first

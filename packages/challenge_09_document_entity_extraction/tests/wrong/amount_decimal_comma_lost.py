"""Known wrong: every comma is read as a thousands separator, so the decimal comma of
1.234,50 is lost (1.23450) and 12,50 becomes 1250."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from challenge_09_document_entity_extraction.records import Amount

from prep.impl import fresh_copy

IMPLEMENTATION = fresh_copy("challenge_09_document_entity_extraction.solution")
_parse: Any = IMPLEMENTATION.normalize_amount


def _commas_are_thousands(text: str) -> Amount:
    parsed = _parse(text.replace(",", ""))  # the bug: the decimal comma goes with the rest
    return Amount(Decimal(parsed.value), parsed.currency)


vars(IMPLEMENTATION)["normalize_amount"] = _commas_are_thousands


TASK = 1  # whose tests reject it: `prep verify` runs them first

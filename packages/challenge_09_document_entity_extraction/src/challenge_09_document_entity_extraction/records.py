"""The types the starter, baseline and solution share, and the tokenizer every tagger uses.

A span is half-open: ``text[start:end]`` is the entity's surface text. Labels are the
upper-case names in ``LABELS``; a BIO tag is ``"O"``, ``"B-<LABEL>"`` or ``"I-<LABEL>"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

# Every entity type a document carries, in reading order of a typical invoice.
LABELS: tuple[str, ...] = (
    "DOC_NUMBER",  # invoice / purchase-order / contract number, e.g. INV-2026-0042
    "ISSUE_DATE",
    "DUE_DATE",
    "SELLER",  # the issuing organisation
    "BUYER",  # the receiving organisation
    "ADDRESS",  # a postal address (seller's or buyer's), one line
    "EMAIL",
    "PHONE",
    "CURRENCY",  # the currency code or symbol written beside the total
    "SUBTOTAL",
    "TAX",
    "TOTAL",
    "ITEM_DESC",  # a line item's description
    "ITEM_QTY",
    "ITEM_PRICE",  # a line item's unit price
    "ITEM_TOTAL",
)
ITEM_LABELS: tuple[str, ...] = ("ITEM_DESC", "ITEM_QTY", "ITEM_PRICE", "ITEM_TOTAL")
BIO_TAGS: tuple[str, ...] = ("O", *(f"{p}-{label}" for label in LABELS for p in "BI"))

# A token is a run of letters and digits, or one other non-space character: "1,234.50" is
# five tokens, so an entity boundary always falls between tokens.
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, order=True)
class Span:
    """One entity: ``label`` over the characters ``text[start:end]`` (half-open)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Token:
    """A token's characters ``text[start:end]``."""

    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens (runs of ``\\w`` characters, or one other non-space)."""
    return [Token(m.start(), m.end()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class Amount:
    """A normalised money amount: exact decimal value and ISO 4217 code (None if unwritten)."""

    value: Decimal
    currency: str | None


@dataclass(frozen=True)
class LineItem:
    """One line item; each part is the span it was read from (None where it was not found)."""

    description: Span | None
    quantity: Span | None
    unit_price: Span | None
    total: Span | None


@dataclass
class Extraction:
    """What ``extract`` found in one document.

    ``spans`` holds every entity found, sorted by start, non-overlapping. ``values`` holds the
    normalised value of each single-valued field found: ``DOC_NUMBER`` (text, O/0 repaired),
    ``ISSUE_DATE`` / ``DUE_DATE`` (ISO ``YYYY-MM-DD``), ``SELLER`` / ``BUYER`` (text),
    ``CURRENCY`` (ISO 4217), ``SUBTOTAL`` / ``TAX`` / ``TOTAL`` (plain decimal, e.g. ``1234.50``).
    ``emails`` and ``phones`` are normalised (lower-case, E.164). ``flags`` names the cross-field
    checks that failed and could not be repaired, e.g. ``"total != subtotal + tax"``.
    """

    text: str
    spans: list[Span] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """A generated document with its exact ground truth.

    ``values`` holds the gold normalised fields in ``Extraction.values``'s format.
    """

    id: str
    kind: str  # "invoice", "purchase_order" or "contract"
    layout: str
    locale: str
    noise: int  # 0 clean, 1 low, 2 medium, 3 high
    text: str
    spans: tuple[Span, ...]
    values: dict[str, str]


@dataclass(frozen=True)
class Scores:
    """Span-matching counts and the scores they give.

    ``correct`` matched predictions, ``predicted`` predictions made, ``gold`` gold spans;
    precision = correct / predicted, recall = correct / gold (0 when the denominator is 0).
    """

    correct: int
    predicted: int
    gold: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Evaluation:
    """Per-label and averaged scores in two matching modes.

    ``exact``: same label and same boundaries. ``partial``: same label and overlapping spans.
    Per-label dicts hold every label present in the gold or the predicted spans.
    """

    exact: dict[str, Scores]
    partial: dict[str, Scores]
    micro_exact: Scores
    micro_partial: Scores
    macro_exact_f1: float
    macro_partial_f1: float

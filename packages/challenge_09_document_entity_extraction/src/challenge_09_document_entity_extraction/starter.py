"""Challenge 09 - document entity extraction: your file.

Turn invoices, purchase orders and contracts (plain text, as OCR gives it) into normalised
fields with character spans: first with rules, then with a learned BIO token tagger and
cross-field checks, and score both per entity type as NER evaluations do.

Fill in each TODO. The shared types (``Span``, ``Token``, ``tokenize``, ``Amount``,
``Extraction``, ``LineItem``, ``Document``, ``Scores``, ``Evaluation``, ``LABELS``) are in
``records.py``; the document generator and the held-out test set are in ``generator.py``.
Run ``uv run prep test 09`` (``--task k`` for one task) and ``uv run prep bench 09``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from challenge_09_document_entity_extraction.records import (
    Amount,
    Document,
    Evaluation,
    Extraction,
    Span,
    Token,
)

__all__ = [
    "TokenTagger",
    "decode_bio",
    "evaluate",
    "extract",
    "normalize_amount",
    "normalize_date",
    "normalize_email",
    "normalize_phone",
    "rule_spans",
    "validate",
]

# ----------------------------------------------------------------------------- task 1


def normalize_date(text: str, *, day_first: bool = True) -> dt.date:
    """Parse a date as documents write it.

    Accepted forms: ISO ``2026-03-04``; numeric ``04/03/2026``, ``04.03.2026``, ``04-03-2026``
    (``day_first`` picks day/month order when both are <= 12; a part > 12 is always the day);
    month names in English, French, German, Dutch and Spanish, full or abbreviated, any case,
    accents optional: ``March 4, 2026``, ``4 mars 2026``, ``4. März 2026``, ``4 mrt 2026``,
    ``4 de marzo de 2026``. OCR look-alikes inside numbers are repaired (``2O26`` -> 2026,
    ``l`` or ``I`` -> 1, ``S`` -> 5).

    Args:
        text: the date as written; surrounding whitespace is ignored.
        day_first: for an ambiguous numeric date, read ``04/03/2026`` as 4 March (True, most
            of the world) or April 3 (False, the United States).

    Returns:
        The date.

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: ``text`` is empty, is not a date in a known form, or names an impossible
            day (``31/02/2026``); the message quotes the text.
    """
    raise NotImplementedError(
        "TODO(09.1): parse ISO, numeric and month-name dates - see README task 1"
    )


def normalize_amount(text: str) -> Amount:
    """Parse a money amount into an exact decimal and its ISO 4217 currency.

    Separators: the last ``.`` or ``,`` followed by one or two digits at the end is the
    decimal mark; every other ``.``, ``,``, ``'``, space (also no-break and narrow no-break)
    groups thousands: ``1,234.50``, ``1.234,50``, ``1 234,50``, ``1'234.50`` are all 1234.50,
    and ``1.234`` is 1234. Currency: a code (USD, EUR, GBP, CHF, JPY, ...) or a symbol ($, £,
    €, ¥) before or after the number; none gives ``currency=None``. OCR look-alikes inside
    the number are repaired (``1,2O4.5O`` -> 1204.50). A leading ``-`` makes it negative.

    Args:
        text: the amount as written, e.g. ``"EUR 1 234,50"``.

    Returns:
        ``Amount(value=Decimal("1234.50"), currency="EUR")``.

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: empty, no digits, or characters other than a number and a currency.
    """
    raise NotImplementedError(
        "TODO(09.1): parse amounts in any locale's separators - see README task 1"
    )


def normalize_phone(text: str, *, region: str | None = None) -> str:
    """Normalise a phone number to E.164 (``+`` and up to 15 digits, no spaces).

    ``+44 20 7946 0958`` and ``0044 20 7946 0958`` give ``+442079460958``. A national number
    needs ``region``: its calling code is prefixed and the trunk ``0`` dropped
    (``020 7946 0958``, GB -> ``+442079460958``; ``(212) 555-0142``, US -> ``+12125550142``).
    Spaces, dots, dashes, slashes and parentheses are ignored; OCR look-alikes are repaired.

    Args:
        text: the number as written.
        region: ISO 3166 country code for national numbers: US, CA, GB, DE, FR, NL, CH, ES,
            IT, AT or BE.

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: empty, not a phone number, a national number without ``region``, an
            unknown ``region``, or fewer than 8 / more than 15 digits.
    """
    raise NotImplementedError("TODO(09.1): normalise phone numbers to E.164 - see README task 1")


def normalize_email(text: str) -> str:
    """Normalise an email address: whitespace removed (OCR splits words), lower case, a
    trailing full stop dropped; then it must be ``local@domain.tld``.

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: empty or not an email address.
    """
    raise NotImplementedError("TODO(09.1): normalise and check email addresses - see README task 1")


# ----------------------------------------------------------------------------- task 2


def rule_spans(text: str) -> list[Span]:
    """Find entities with rules and regular expressions alone.

    Every label of ``records.LABELS`` is in scope. Key-value fields: a key phrase ("Invoice
    No", "Due date", "Subtotal", "Tax (20%)", "Total", ...), a separator (``:``, ``;``, ``|``,
    dot leaders, "of", or none), then a value of the field's type (a date, an amount, an id);
    emails and phones anywhere by pattern; organisations end in a legal suffix (GmbH, Ltd,
    SARL, Inc., ...); addresses are "street and number, postcode and city" on one line; line
    items are rows of a description, a quantity, a unit price and a line total (aligned, pipe
    or semicolon tables, "- 2 x Widget @ 10.00 = 20.00", "2 units of Widget at 10.00 each").
    The currency span is the code or symbol written beside the total.

    Args:
        text: the document.

    Returns:
        Spans sorted by start, none overlapping another. A span covers the value only (no key,
        no surrounding spaces or punctuation): ``Total: EUR 1.234,50`` gives ``CURRENCY`` over
        ``EUR`` and ``TOTAL`` over ``1.234,50``.

    Raises:
        TypeError: ``text`` is not a str.
    """
    raise NotImplementedError(
        "TODO(09.2): find entities with rules and regexes - see README task 2"
    )


def extract(text: str) -> Extraction:
    """Extract every field of one document, with spans and normalised values.

    Fill ``Extraction`` as its docstring says: ``spans`` (sorted, non-overlapping), ``values``
    (normalised single-valued fields; a value that does not parse is left out, its span
    kept), ``emails``, ``phones`` (E.164; the region is inferred from the document, e.g. a
    dollar total means US), ``line_items`` (item spans grouped in reading order, a new item
    whenever a part repeats) and ``flags``. Dates are read month-first only in US documents
    (a ``$`` or ``USD``), day-first otherwise.

    Bad input: ``bytes`` -> ``TypeError`` (decode first); text with NUL characters (binary
    data) or over 1,000,000 characters -> ``ValueError``; empty or whitespace-only text, or a
    layout nothing is recognised in -> an ``Extraction`` with no spans (not an error).

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: binary or oversized text, as above.
    """
    raise NotImplementedError("TODO(09.2): extract and normalise every field - see README task 2")


# ----------------------------------------------------------------------------- task 3


def decode_bio(tokens: Sequence[Token], tags: Sequence[str]) -> list[Span]:
    """Decode BIO tags into spans (the CoNLL convention, as nervaluate and seqeval read it).

    ``B-X`` always starts a new entity, even right after another ``X``: two adjacent entities
    of the same type stay two. ``I-X`` continues an open ``X`` entity; after ``O`` or an
    entity of another type it starts a new one. ``O`` closes the open entity. A span runs
    from its first token's start to its last token's end (the characters between are kept).

    Args:
        tokens: the document's tokens (``records.tokenize``).
        tags: one tag per token: ``"O"``, ``"B-<LABEL>"`` or ``"I-<LABEL>"``.

    Returns:
        Spans in order of start.

    Raises:
        ValueError: ``tokens`` and ``tags`` differ in length, or a malformed tag.
    """
    raise NotImplementedError("TODO(09.3): decode BIO tags into spans - see README task 3")


class TokenTagger:
    """A learned BIO token tagger: per-token features, then a linear classifier.

    Features of a token should see its word, shape (``Xx``, ``d``), neighbours, its line's
    context (the key before a ``:`` on its line, the line's first word, the line above) and the
    label ``rule_spans`` gives it, so the model learns when a rule can be trusted.
    """

    def __init__(self, alpha: float = 1e-4, epochs: int = 8) -> None:
        """``alpha``: L2 regularisation strength (> 0); ``epochs``: passes over the data (>= 1).

        Raises:
            ValueError: ``alpha <= 0`` or ``epochs < 1``.
        """
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}")
        self.alpha = alpha
        self.epochs = epochs

    def fit(self, documents: Sequence[Document]) -> TokenTagger:
        """Train on documents with gold spans (``Document.spans``); return ``self``.

        A token's gold tag is ``B-X`` if it is the first token inside a gold span of label X,
        ``I-X`` for the following ones, ``O`` outside every span.

        Raises:
            ValueError: ``documents`` is empty.
        """
        raise NotImplementedError("TODO(09.3): train the token tagger - see README task 3")

    def predict(self, text: str) -> list[str]:
        """One BIO tag per token of ``records.tokenize(text)`` (``[]`` for no tokens).

        Raises:
            RuntimeError: called before ``fit``.
        """
        raise NotImplementedError("TODO(09.3): tag a document's tokens - see README task 3")


def validate(extraction: Extraction) -> Extraction:
    """Cross-field validation: repair what another field settles, flag the rest.

    Returns a new ``Extraction`` (the argument is not modified) with the same spans and:

    - line items vs subtotal: when every line item has a readable total and they do not sum
      to ``SUBTOTAL``: if the subtotal is missing, or the item sum plus ``TAX`` equals
      ``TOTAL``, set ``SUBTOTAL`` to the item sum; otherwise add the flag
      ``"line items do not sum to the subtotal"``.
    - subtotal + tax = total: with exactly one of the three missing, fill it in from the
      other two; with all three present and ``SUBTOTAL + TAX != TOTAL``, add the flag
      ``"total != subtotal + tax"``.
    - due date after issue date: if ``DUE_DATE < ISSUE_DATE`` and reading both with day and
      month exchanged (the other reading of an ambiguous ``04/03``) puts them in order, store
      the exchanged dates; otherwise add the flag ``"due date before issue date"``.
    """
    raise NotImplementedError("TODO(09.3): cross-field checks and repairs - see README task 3")


# ----------------------------------------------------------------------------- task 4


def evaluate(predicted: Sequence[Sequence[Span]], gold: Sequence[Sequence[Span]]) -> Evaluation:
    """Span-level precision, recall and F1 per label, micro and macro, in two matching modes.

    Per document and per label, predictions are taken in their order and each is matched to
    at most one gold span not matched before, as nervaluate does:

    - exact (nervaluate ``strict``): the first unmatched gold span with the same start and end.
      A prediction with no such span that overlaps an unmatched gold span still uses that gold
      span up (it counts as wrong, and no later prediction can match it).
    - partial (nervaluate ``ent_type``): among unmatched gold spans that overlap it, the one
      with the smallest ``|start difference| + |end difference|`` (the first on ties).

    Two spans overlap when they share at least one character and the shared part is at least
    1% of the gold span's length. For each label: ``correct`` matches, ``predicted`` and
    ``gold`` counts; precision = correct / predicted, recall = correct / gold, F1 their
    harmonic mean (each 0.0 when its denominator is 0). Micro: the same from counts summed
    over labels. Macro: the mean of per-label F1 over every label present in gold or
    predictions (0.0 when there is none).

    Args:
        predicted, gold: one sequence of ``Span`` per document, same number of documents.

    Raises:
        TypeError: not sequences of span sequences.
        ValueError: different numbers of documents, or a span with ``start >= end`` or a
            negative start.
    """
    raise NotImplementedError(
        "TODO(09.4): score spans per label, micro and macro - see README task 4"
    )

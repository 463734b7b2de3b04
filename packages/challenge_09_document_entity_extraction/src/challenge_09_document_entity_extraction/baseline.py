"""Challenge 09 - the baseline: rules and regular expressions, nothing learned.

What is special here: ``rule_spans`` reads each line as "key, separator, value" (a key phrase
from a fixed vocabulary, then ``:``, ``;``, ``|``, dot leaders or a line break) and checks the
value against the pattern of its type (a date, an amount, an id); emails and phones are found
by pattern anywhere; line items are rows with a description followed by three numbers. The
normalisers are straightforward loops. ``decode_bio``, ``TokenTagger``, ``validate`` and
``evaluate`` are the solution's: the baseline's ``extract`` does not use a tagger or repairs.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from challenge_09_document_entity_extraction.records import Amount, Extraction, LineItem, Span

__all__ = [
    "extract",
    "normalize_amount",
    "normalize_date",
    "normalize_email",
    "normalize_phone",
    "rule_spans",
]

# ----------------------------------------------------------------------------- task 1

_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "S": "5"})
_MONTH_NAMES = {
    1: "january janvier januar januari enero",
    2: "february fevrier februar februari febrero",
    3: "march mars marz maart marzo",
    4: "april avril abril",
    5: "may mai mei mayo",
    6: "june juin juni junio",
    7: "july juillet juli julio",
    8: "august aout augustus agosto",
    9: "september septembre septiembre",
    10: "october octobre oktober octubre",
    11: "november novembre noviembre",
    12: "december decembre dezember diciembre",
}


def _month_table() -> dict[str, int]:
    """Full month names of five languages, and every unambiguous prefix of 3+ letters."""
    prefixes: dict[str, set[int]] = {}
    for month, names in _MONTH_NAMES.items():
        for name in names.split():
            for k in range(3, len(name) + 1):
                prefixes.setdefault(name[:k], set()).add(month)
    table = {p: next(iter(ms)) for p, ms in prefixes.items() if len(ms) == 1}
    table["mrt"] = 3  # Dutch abbreviation, not a prefix
    return table


MONTHS = _month_table()


def _plain(text: str) -> str:
    """Lower case without accents: 'März' -> 'marz', 'février' -> 'fevrier'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def repair_digits(token: str) -> str:
    """OCR repair of a token that mixes digits with look-alike letters (O->0, l/I->1, S->5)."""
    if any(c.isdigit() for c in token) and all(c.isdigit() or c in "OolIS" for c in token):
        return token.translate(_CONFUSABLE)
    return token


def _check_text(text: object, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{name} is empty")
    return text.strip()


def _make_date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"text {text!r} is not a valid date ({year}-{month}-{day})") from None


def normalize_date(text: str, *, day_first: bool = True) -> dt.date:
    """See the starter for the contract."""
    raw = _check_text(text)
    words = [repair_digits(w) for w in re.findall(r"\w+", _plain(raw))]
    numbers = [int(w) for w in words if w.isdigit()]
    months = [MONTHS[w] for w in words if not w.isdigit() and w in MONTHS]
    if months and len(numbers) == 2:
        year = next((n for n in numbers if n >= 1000), None)
        day = next((n for n in numbers if n < 100), None)
        if year is not None and day is not None:
            return _make_date(year, months[0], day, raw)
    elif not months and len(numbers) == 3 and len(words) == 3:
        if len(words[0]) == 4:  # ISO order: year first
            return _make_date(numbers[0], numbers[1], numbers[2], raw)
        if len(words[2]) == 4:
            a, b, year = numbers
            if a > 12 or (day_first and b <= 12):
                return _make_date(year, b, a, raw)
            return _make_date(year, a, b, raw)
    raise ValueError(f"text {raw!r} is not a date this parser knows")


_CURRENCIES = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY"}
_CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "INR")
_AMOUNT_BODY = re.compile(r"^-?[\d.,' \u00a0\u202f\u2019]+$")


def normalize_amount(text: str) -> Amount:
    """See the starter for the contract."""
    raw = _check_text(text)
    currency = None
    body = raw
    for code in _CODES:
        if re.search(rf"\b{code}\b", body.upper()):
            currency, body = code, re.sub(rf"(?i)\b{code}\b", " ", body)
            break
    for symbol, code in _CURRENCIES.items():
        if symbol in body:
            currency, body = code, body.replace(symbol, " ")
    body = re.sub(r"\w+", lambda m: repair_digits(m.group()), body).strip()
    if not body or not _AMOUNT_BODY.match(body) or not any(c.isdigit() for c in body):
        raise ValueError(f"text {raw!r} is not an amount")
    sign = "-" if body.startswith("-") else ""
    body = body.lstrip("-")
    match = re.search(r"[.,](\d{1,2})$", body)
    integer, fraction = (body[: match.start()], match.group(1)) if match else (body, "0")
    digits = re.sub(r"[.,' \u00a0\u202f\u2019]", "", integer)
    if not digits.isdigit():
        raise ValueError(f"text {raw!r} is not an amount")
    try:
        return Amount(Decimal(f"{sign}{int(digits)}.{fraction}"), currency)
    except InvalidOperation:
        raise ValueError(f"text {raw!r} is not an amount") from None


_CALLING_CODES = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31",
                  "CH": "41", "ES": "34", "IT": "39", "AT": "43", "BE": "32"}  # fmt: skip


def normalize_phone(text: str, *, region: str | None = None) -> str:
    """See the starter for the contract."""
    raw = _check_text(text)
    if region is not None and region not in _CALLING_CODES:
        raise ValueError(f"region must be one of {sorted(_CALLING_CODES)}, got {region!r}")
    body = "".join(repair_digits(w) for w in re.split(r"[\s().\-/]+", raw))
    if not re.fullmatch(r"\+?\d+", body):
        raise ValueError(f"text {raw!r} is not a phone number")
    if body.startswith("00"):
        body = "+" + body[2:]
    if body.startswith("+"):
        digits = body[1:]
    elif region is None:
        raise ValueError(f"text {raw!r} has no country code: pass region")
    elif _CALLING_CODES[region] == "1":
        digits = body if len(body) == 11 and body.startswith("1") else "1" + body
    else:
        digits = _CALLING_CODES[region] + body.removeprefix("0")
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"text {raw!r} has {len(digits)} digits; E.164 allows 8 to 15")
    return "+" + digits


_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def normalize_email(text: str) -> str:
    """See the starter for the contract."""
    raw = _check_text(text)
    email = re.sub(r"\s+", "", raw).lower().rstrip(".")
    if not _EMAIL.match(email):
        raise ValueError(f"text {raw!r} is not an email address")
    return email


# ----------------------------------------------------------------------------- task 2

_D = r"[\dOlIS]"  # a digit as OCR may have read it
_AMOUNT = rf"-?{_D}{{1,3}}(?:[.,' \u202f\u2019]?{_D}{{3}})*[.,]{_D}{{2}}"
_CUR = r"USD|EUR|GBP|CHF|\$|£|€"
_DATE = (
    rf"{_D}{{4}}-{_D}{{2}}-{_D}{{2}}|{_D}{{1,2}}[./-]{_D}{{1,2}}[./-]{_D}{{4}}"
    rf"|{_D}{{1,2}}\.? (?:de )?[^\W\d_]{{3,9}}\.?(?: de)? {_D}{{4}}|[^\W\d_]{{3,9}}\.? {_D}{{1,2}}, {_D}{{4}}"
)
_DOCNO = r"[A-Z]{2,4}(?:[-/]?[\dOlIS]{2,6})+"
_SEP = r"\s*(?:[:;|]|\.{2,}|of)?\s*"
_KEYS: dict[str, str] = {
    "DOC_NUMBER": r"invoice\s*(?:no|number|#)|po\s*number|order\s*(?:no|number)|contract\s*no|agreement,?\s*no|no\.",
    "ISSUE_DATE": r"invoice\s*date|order\s*date|effective\s*date|issue\s*date|dated|made\s*on|date",
    "DUE_DATE": r"due\s*date|delivery\s*by|payment\s*due|payable\s*by|due",
    "SUBTOTAL": r"sub\s*total|net\s*amount|net",
    "TAX": r"(?:sales\s*)?tax(?:\s*\(?[\d.,]+%\)?)?|vat(?:\s*[\d.,]+%)?",
    "TOTAL": r"total\s*due|amount\s*due|grand\s*total|total",
}  # fmt: skip
_PATTERNS = {
    "DOC_NUMBER": _DOCNO,
    "ISSUE_DATE": _DATE,
    "DUE_DATE": _DATE,
    "SUBTOTAL": _AMOUNT,
    "TAX": _AMOUNT,
    "TOTAL": _AMOUNT,
}
_SELLER_KEYS = r"from|seller|supplier|vendor|issued\s*by"
_BUYER_KEYS = r"bill\s*to|buyer|customer|to|invoiced\s*to"
_CAP = r"(?:[A-Z][\w&.'-]*|&)"  # a capitalised word (or an ampersand)
_ORG = rf"{_CAP}(?: {_CAP})*? (?:Inc\.|LLC|Corp\.|Ltd|PLC|LLP|GmbH|AG|KG|SARL|SAS|SA|B\.V\.|N\.V\.)"
_WORDS = r"[^\W\d_][\w'.-]*(?: [^\W\d_][\w'.-]*)*"  # words separated by single spaces
_ADDRESS = (
    rf"(?:\d{{1,4}} {_WORDS}|{_WORDS} \d{{1,4}}),"  # "12 Baker Street," or "Hauptstraße 12,"
    rf" (?:{_WORDS}, )?(?:[A-Z]{{2}} \d{{5}}|\d{{4,5}}(?: [A-Z]{{2}})? {_WORDS}"  # zip and city
    rf"|{_WORDS} [A-Z]{{1,2}}\d{{1,2}}[A-Z]? \d[A-Z]{{2}})"  # or city and UK postcode
)
_EMAIL_ANY = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_PHONE_ANY = (
    r"(?:\+|00)\d{1,3}(?:[ -]?\(?\d{1,4}\)?)+\d|\(\d{3}\) \d{3}-\d{4}|\b\d{3}-\d{3}-\d{4}\b"
)
_NUM = r"\d{1,3}"
_ITEM_ROWS = (
    # aligned, pipe or semicolon table row: description, qty, unit price, total
    re.compile(
        rf"^\|?\s*(?P<desc>[^\W\d_][^|;\n]*?)\s*(?:\s{{2}}|\||;)\s*(?P<qty>{_NUM})\s*(?:\s{{2}}|\||;)"
        rf"\s*(?P<price>{_AMOUNT})\s*(?:\s{{2}}|\||;)\s*(?P<total>{_AMOUNT})\s*\|?\s*$",
        re.MULTILINE,
    ),
    # "- 2 x Widget @ 10.00 = 20.00"
    re.compile(
        rf"^-\s(?P<qty>{_NUM})\sx\s(?P<desc>.+?)\s@\s(?P<price>{_AMOUNT})\s=\s(?P<total>{_AMOUNT})\s*$",
        re.MULTILINE,
    ),
    # "2 units of Widget at 10.00 each, 20.00 in total" / "2 x Widget at 10.00 each, ..."
    re.compile(
        rf"^\s*(?P<qty>{_NUM})\s(?:units\sof|x)\s(?P<desc>.+?)\sat\s(?P<price>{_AMOUNT})\seach,\s"
        rf"(?P<total>{_AMOUNT})\sin\stotal",
        re.MULTILINE,
    ),
)
_ITEM_PARTS = (("desc", "ITEM_DESC"), ("qty", "ITEM_QTY"), ("price", "ITEM_PRICE"),
               ("total", "ITEM_TOTAL"))  # fmt: skip


def _keyed(text: str, label: str) -> list[Span]:
    """``<key><separator><value>`` for one label: the value must match the label's pattern."""
    currency = rf"(?:(?:{_CUR}) ?)?" if label == "TOTAL" else ""
    pattern = re.compile(
        rf"(?i:\b(?:{_KEYS[label]}))(?:\s*\([^)\n]*\))?{_SEP}{currency}"
        rf"(?P<value>{_PATTERNS[label]})(?![\w])"
    )
    return [Span(m.start("value"), m.end("value"), label) for m in pattern.finditer(text)]


def _organisations(text: str) -> list[Span]:
    """Organisations after a seller or buyer key; then any other company name (a legal
    suffix such as GmbH or Ltd ends it) is the seller if none was found yet, else the buyer."""
    spans = []
    for keys, label in ((_SELLER_KEYS, "SELLER"), (_BUYER_KEYS, "BUYER")):
        # the key's separator stays on its line unless it is punctuation ("Supplier:\n  X")
        sep = r"(?:[ \t]*(?:[:;|]|\.{2,})\s*|[ \t]+)"
        pattern = re.compile(rf"(?i:\b(?:{keys})){sep}(?P<org>{_ORG})(?=[,;|\s]|$)")
        spans += [Span(m.start("org"), m.end("org"), label) for m in pattern.finditer(text)]
    keyed = {(s.start, s.end) for s in spans}
    for m in re.finditer(rf"(?:^|(?<=\s))(?P<org>{_ORG})(?=[,;|\s]|$)", text, re.MULTILINE):
        if (m.start("org"), m.end("org")) in keyed:
            continue
        label = "BUYER" if any(s.label == "SELLER" for s in spans) else "SELLER"
        if label == "BUYER" and any(s.label == "BUYER" for s in spans):
            continue
        spans.append(Span(m.start("org"), m.end("org"), label))
    return spans


def _fallbacks(text: str, keyed: list[Span]) -> list[Span]:
    """Without a key: the first id-shaped word is the document number; the first and second
    dates of the document are the date it was issued and the due date."""
    have = {s.label for s in keyed}
    taken = [(s.start, s.end) for s in keyed]
    out = []
    if "DOC_NUMBER" not in have:
        m = re.search(r"\b(?:INV|PO|CTR)[-/]?[\dOlIS]{2,6}(?:[-/][\dOlIS]{2,6})*\b", text)
        if m:
            out.append(Span(m.start(), m.end(), "DOC_NUMBER"))
    dates = [
        m
        for m in re.finditer(rf"(?<![\w.])(?:{_DATE})(?![\w])", text)
        if not any(a < m.end() and m.start() < b for a, b in taken)
    ]
    for label, index in (("ISSUE_DATE", 0), ("DUE_DATE", 1)):
        if label not in have and len(dates) > index:
            out.append(Span(dates[index].start(), dates[index].end(), label))
    return out


def _currency(text: str, total: Span | None) -> list[Span]:
    """The currency written right before or after the total."""
    if total is None:
        return []
    before = re.search(rf"(?:{_CUR})\s?$", text[max(0, total.start - 5) : total.start])
    if before:
        start = max(0, total.start - 5) + before.start()
        word = re.match(_CUR, text[start:])
        if word:
            return [Span(start, start + len(word.group()), "CURRENCY")]
    after = re.match(rf"\s?(?P<c>{_CUR})", text[total.end :])
    if after:
        return [Span(total.end + after.start("c"), total.end + after.end("c"), "CURRENCY")]
    return []


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """Keep spans in order of start, dropping any that overlaps one already kept."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def rule_spans(text: str) -> list[Span]:
    """See the starter for the contract."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    spans: list[Span] = []
    for label in _KEYS:
        found = _keyed(text, label)
        spans += found[:1] if label in ("DOC_NUMBER", "ISSUE_DATE", "DUE_DATE") else found[-1:]
    spans += _fallbacks(text, spans)
    spans += _organisations(text)
    spans += [Span(m.start(), m.end(), "EMAIL") for m in re.finditer(_EMAIL_ANY, text)]
    spans += [Span(m.start(), m.end(), "PHONE") for m in re.finditer(_PHONE_ANY, text)]
    spans += [Span(m.start(), m.end(), "ADDRESS") for m in re.finditer(_ADDRESS, text)]
    for row in _ITEM_ROWS:
        for m in row.finditer(text):
            spans += [Span(m.start(g), m.end(g), label) for g, label in _ITEM_PARTS]
    total = next((s for s in spans if s.label == "TOTAL"), None)
    spans += _currency(text, total)
    # Item rows and key-value fields first: an address regex must not swallow a table row.
    order = {label: k for k, label in enumerate(("ITEM_DESC", "ITEM_QTY", "ITEM_PRICE",
                                                 "ITEM_TOTAL", "EMAIL", "PHONE"))}  # fmt: skip
    ranked = sorted(spans, key=lambda s: order.get(s.label, 99))
    kept: list[Span] = []
    for span in ranked:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept)


def _day_first(text: str) -> bool:
    """US documents write month first: a dollar amount is the cue."""
    return not re.search(r"\$|\bUSD\b", text)


def _region(text: str) -> str | None:
    for cue, region in (("$", "US"), ("USD", "US"), ("£", "GB"), ("GBP", "GB"), ("CHF", "CH")):
        if cue in text:
            return region
    return None


def assemble(text: str, spans: list[Span]) -> Extraction:
    """An ``Extraction`` from spans: normalised values (a value that does not parse is left
    out), emails, phones and line items grouped in reading order."""
    out = Extraction(text=text, spans=sorted(spans))
    day_first, region = _day_first(text), _region(text)
    for span in out.spans:
        surface = text[span.start : span.end]
        try:
            if span.label in ("ISSUE_DATE", "DUE_DATE"):
                out.values.setdefault(
                    span.label, normalize_date(surface, day_first=day_first).isoformat()
                )
            elif span.label in ("SUBTOTAL", "TAX", "TOTAL"):
                out.values.setdefault(span.label, str(normalize_amount(surface).value))
            elif span.label == "CURRENCY":
                code = normalize_amount(f"{surface} 0.00").currency
                if code is not None:
                    out.values.setdefault("CURRENCY", code)
            elif span.label == "DOC_NUMBER":
                value = re.sub(r"[\w]+", lambda m: repair_digits(m.group()), surface)
                out.values.setdefault("DOC_NUMBER", value)
            elif span.label in ("SELLER", "BUYER"):
                out.values.setdefault(span.label, " ".join(surface.split()))
            elif span.label == "EMAIL":
                out.emails.append(normalize_email(surface))
            elif span.label == "PHONE":
                out.phones.append(normalize_phone(surface, region=region))
        except ValueError:
            continue  # a value that does not parse stays a span without a normalised value
    out.line_items = group_line_items(out.spans)
    return out


def group_line_items(spans: list[Span]) -> list[LineItem]:
    """Item spans in reading order, a new item whenever a part repeats."""
    items: list[dict[str, Span]] = []
    for span in spans:
        if not span.label.startswith("ITEM_"):
            continue
        if not items or span.label in items[-1]:
            items.append({})
        items[-1][span.label] = span
    return [
        LineItem(i.get("ITEM_DESC"), i.get("ITEM_QTY"), i.get("ITEM_PRICE"), i.get("ITEM_TOTAL"))
        for i in items
    ]


MAX_CHARS = 1_000_000  # longer text is refused: a document, not a data dump


def check_document(text: object) -> str:
    """``text`` as a str, or a clear error: bytes, non-text and oversized input are refused."""
    if isinstance(text, (bytes, bytearray)):
        raise TypeError("text must be a str; decode the bytes first (e.g. text.decode('utf-8'))")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ValueError(f"text has {len(text):,} characters; at most {MAX_CHARS:,} are accepted")
    if "\x00" in text:
        raise ValueError("text contains NUL characters: binary data, not a document")
    return text


def extract(text: str) -> Extraction:
    """See the starter for the contract."""
    return assemble(text, rule_spans(check_document(text)))


def __getattr__(name: str) -> Any:
    """The tagger, BIO decoding, cross-field validation and scoring are the solution's (the
    baseline's ``extract`` uses none of them); imported on first use, because the solution
    imports this module's rules."""
    if name in ("TokenTagger", "decode_bio", "evaluate", "validate"):
        from challenge_09_document_entity_extraction import solution

        return getattr(solution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

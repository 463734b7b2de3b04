"""A seeded, versioned generator of invoices, purchase orders and contracts with exact truth.

Ten layouts and six locales; seven layouts and four locales form the training split, the other
three layouts (dot leaders, contract prose, semicolon records) are held out, and held-out
documents are written in all six locales, half of them in the two held-out ones (nl_NL, de_CH).
Nothing tuned or trained here ever sees a held-out layout. OCR-like noise comes in four
levels. The ground truth survives the noise: every character keeps the id of the entity it
belongs to, so spans are recomputed exactly after characters are swapped, inserted or dropped.

``write_heldout`` writes the test set the tests read (``data/heldout_v<GENERATOR_VERSION>.jsonl``);
``python -m challenge_09_document_entity_extraction.generator`` regenerates it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from challenge_09_document_entity_extraction.records import Document, Span

GENERATOR_VERSION = 1  # bump on any change to what a seed produces
TRAIN_LAYOUTS = (
    "key_value",
    "two_column",
    "pipe_table",
    "footer_contact",
    "item_list",
    "letter",
    "stacked",
)
HELDOUT_LAYOUTS = ("dot_leaders", "contract_prose", "semicolon_records")
TRAIN_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
HELDOUT_LOCALES = ("nl_NL", "de_CH")
NOISE_LEVELS = (0, 1, 2, 3)  # clean, low, medium, high
HELDOUT_SEED = 9_000
HELDOUT_PER_LEVEL = 24
DATA_DIR = Path(__file__).parent / "data"

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Locale:
    """How one locale writes dates, amounts, phones and addresses."""

    name: str
    numeric_date: str  # strftime pattern of the numeric date
    long_date: str  # "{d} {month} {y}" style template
    months: tuple[str, ...]  # month names for long dates
    decimal: str  # decimal separator
    group: str  # thousands separator
    code: str  # ISO 4217
    symbol: str
    symbol_first: bool  # "$1.00" rather than "1,00 €"
    phones: tuple[str, ...]  # templates; each '#' becomes a digit
    streets: tuple[str, ...]  # address templates; {n} house number
    suffixes: tuple[str, ...]  # company suffixes
    tax_rate: Decimal


_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_NL = "januari februari maart april mei juni juli augustus september oktober november december"

LOCALES: dict[str, Locale] = {
    "en_US": Locale(
        "en_US", "%m/%d/%Y", "{month} {d}, {y}", tuple(_EN), ".", ",", "USD", "$", True,
        ("(212) 555-01##", "+1 415 555 01##", "212-555-01##"),
        ("{n} Market Street, San Francisco, CA 94103", "{n} Main St, Springfield, IL 62701"),
        ("Inc.", "LLC", "Corp."), Decimal("0.0825"),
    ),
    "en_GB": Locale(
        "en_GB", "%d/%m/%Y", "{d} {month} {y}", tuple(_EN), ".", ",", "GBP", "£", True,
        ("+44 20 7946 0###", "+44 161 496 0###"),
        ("{n} Baker Street, London NW1 6XE", "{n} Deansgate, Manchester M3 4LQ"),
        ("Ltd", "PLC", "LLP"), Decimal("0.20"),
    ),
    "de_DE": Locale(
        "de_DE", "%d.%m.%Y", "{d}. {month} {y}", tuple(_DE), ",", ".", "EUR", "€", False,
        ("+49 30 #######", "+49 89 #######", "0049 40 #######"),
        ("Hauptstraße {n}, 10115 Berlin", "Leopoldstraße {n}, 80802 München"),
        ("GmbH", "AG", "KG"), Decimal("0.19"),
    ),
    "fr_FR": Locale(
        "fr_FR", "%d/%m/%Y", "{d} {month} {y}", tuple(_FR), ",", " ", "EUR", "€", False,
        ("+33 1 ## ## ## ##", "+33 4 ## ## ## ##"),
        ("{n} rue de la Paix, 75002 Paris", "{n} avenue Jean Jaurès, 69007 Lyon"),
        ("SARL", "SA", "SAS"), Decimal("0.20"),
    ),
    "nl_NL": Locale(
        "nl_NL", "%d-%m-%Y", "{d} {month} {y}", tuple(_NL.split()), ",", ".", "EUR", "€", True,
        ("+31 20 ### ####", "+31 10 ### ####"),
        ("Keizersgracht {n}, 1015 CJ Amsterdam", "Coolsingel {n}, 3012 AD Rotterdam"),
        ("B.V.", "N.V."), Decimal("0.21"),
    ),
    "de_CH": Locale(
        "de_CH", "%d.%m.%Y", "{d}. {month} {y}", tuple(_DE), ".", "'", "CHF", "CHF", True,
        ("+41 44 ### ## ##", "+41 31 ### ## ##"),
        ("Bahnhofstrasse {n}, 8001 Zürich", "Marktgasse {n}, 3011 Bern"),
        ("AG", "GmbH", "SA"), Decimal("0.081"),
    ),
}  # fmt: skip

_NAMES = (
    "Acme", "Nordwind", "Blue Harbor", "Lumière", "Kestrel", "Orion Data", "Silverline",
    "Brightwater", "Falkenberg", "Meridian", "Copperleaf", "Helios", "Tidewater", "Quantix",
    "Alder & Finch", "Redwood Analytics", "Vega Systems", "Hollis", "Marlow", "Sternhaus",
)  # fmt: skip
_ITEMS = (
    "GPU server rental", "Annual support plan", "Consulting hours", "Model fine-tuning",
    "Data labelling batch", "Inference API credits", "Network switch 48-port", "Rack rail kit",
    "Training workshop", "Cloud storage 10 TB", "On-site installation", "License renewal",
    "SSD 3.84 TB NVMe", "Power distribution unit", "Annotation review", "Priority SLA",
)  # fmt: skip
_KINDS = {
    "invoice": ("INVOICE", "INV", "Invoice No", "Invoice date", "Due date"),
    "purchase_order": ("PURCHASE ORDER", "PO", "PO number", "Order date", "Delivery by"),
    "contract": ("SERVICE AGREEMENT", "CTR", "Contract No", "Effective date", "Payment due"),
}


@dataclass(frozen=True)
class _Content:
    """Everything a document says, before a layout arranges it."""

    kind: str
    loc: Locale
    number: str
    issue: dt.date
    due: dt.date
    seller: str
    buyer: str
    seller_address: str
    buyer_address: str
    email: str
    phone: str
    items: tuple[tuple[str, int, Decimal, Decimal], ...]  # description, qty, unit, total
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    date_style: str  # "numeric", "long" or "iso"
    currency_as: str  # the currency as written: code or symbol


class _Builder:
    """Collects (text, label) pieces; ``label`` None is plain text."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str | None]] = []

    def t(self, text: str) -> None:
        self.parts.append((text, None))

    def e(self, label: str, text: str) -> None:
        self.parts.append((text, label))


def format_amount(value: Decimal, loc: Locale) -> str:
    """``value`` with two decimals in the locale's separators, e.g. ``1.234,50``."""
    whole, frac = f"{value.quantize(_CENT):.2f}".split(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return f"{sign}{loc.group.join(groups)}{loc.decimal}{frac}"


def format_date(day: dt.date, loc: Locale, style: str) -> str:
    """``day`` as the locale writes it: ``numeric``, ``long`` (month name) or ``iso``."""
    if style == "iso":
        return day.isoformat()
    if style == "numeric":
        return day.strftime(loc.numeric_date)
    return loc.long_date.format(d=day.day, month=loc.months[day.month - 1], y=day.year)


def _digits(template: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in template)


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def _content(rng: random.Random, loc: Locale) -> _Content:
    kind = rng.choice(tuple(_KINDS))
    prefix = _KINDS[kind][1]
    year = rng.randrange(2024, 2028)
    number = rng.choice(
        (f"{prefix}-{year}-{rng.randrange(10_000):04d}", f"{prefix}{rng.randrange(10**5, 10**6)}",
         f"{prefix}/{year}/{rng.randrange(1000):03d}")
    )  # fmt: skip
    issue = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
    due = issue + dt.timedelta(days=rng.choice((7, 14, 30, 45, 60)))
    seller_name, buyer_name = rng.sample(_NAMES, 2)
    seller = f"{seller_name} {rng.choice(loc.suffixes)}"
    buyer = f"{buyer_name} {rng.choice(loc.suffixes)}"
    items = []
    for description in rng.sample(_ITEMS, rng.randint(1, 4)):
        qty = rng.choice((1, 1, 2, 3, 4, 5, 8, 10, 12, 20))
        unit = Decimal(rng.randrange(500, 250_000)) / 100
        items.append((description, qty, unit, (unit * qty).quantize(_CENT)))
    subtotal = sum((i[3] for i in items), Decimal(0))
    tax = (subtotal * loc.tax_rate).quantize(_CENT, rounding=ROUND_HALF_UP)
    return _Content(
        kind=kind,
        loc=loc,
        number=number,
        issue=issue,
        due=due,
        seller=seller,
        buyer=buyer,
        seller_address=rng.choice(loc.streets).format(n=rng.randint(1, 250)),
        buyer_address=rng.choice(loc.streets).format(n=rng.randint(1, 250)),
        email=f"{rng.choice(('billing', 'accounts', 'info', 'sales'))}@{_slug(seller_name)}.com",
        phone=_digits(rng.choice(loc.phones), rng),
        items=tuple(items),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        date_style=rng.choice(("numeric", "numeric", "long", "iso")),
        currency_as=rng.choice((loc.code, loc.symbol)),
    )


# ----------------------------------------------------------------------------- layouts
# Each writes one content through a builder. Helpers keep the common pieces identical.


def _amt(c: _Content, value: Decimal) -> str:
    return format_amount(value, c.loc)


def _date(c: _Content, day: dt.date) -> str:
    return format_date(day, c.loc, c.date_style)


def _money(b: _Builder, c: _Content, label: str, value: Decimal, currency: bool) -> None:
    """An amount, with the currency on the side the locale puts it when ``currency``."""
    if currency and c.loc.symbol_first:
        b.e("CURRENCY", c.currency_as)
        b.t("" if c.currency_as in "$£€" else " ")
    b.e(label, _amt(c, value))
    if currency and not c.loc.symbol_first:
        b.t(" ")
        b.e("CURRENCY", c.currency_as)


def _table(b: _Builder, c: _Content, sep: str = "  ") -> None:
    width = max(len(i[0]) for i in c.items) + 2
    b.t(f"{'Description':<{width}}{sep}Qty{sep}Unit price{sep}Amount\n")
    for desc, qty, unit, total in c.items:
        b.e("ITEM_DESC", desc)
        b.t(" " * (width - len(desc)) + sep)
        b.e("ITEM_QTY", f"{qty:>3}".strip())
        b.t(" " * (3 - len(str(qty))) + sep + " " * (10 - len(_amt(c, unit))))
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(sep + " " * (10 - len(_amt(c, total))))
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t("\n")


def _totals(b: _Builder, c: _Content, names: tuple[str, str, str], indent: int = 0) -> None:
    pct = f"{(c.loc.tax_rate * 100).normalize():f}%"
    for name, label, value in zip(
        names, ("SUBTOTAL", "TAX", "TOTAL"), (c.subtotal, c.tax, c.total), strict=True
    ):
        b.t(" " * indent + name.format(pct=pct) + ": ")
        _money(b, c, label, value, label == "TOTAL")
        b.t("\n")


def _head(b: _Builder, c: _Content, key: str = ": ") -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"{title}\n\n{number_key}{key}")
    b.e("DOC_NUMBER", c.number)
    b.t(f"\n{issue_key}{key}")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(f"\n{due_key}{key}")
    b.e("DUE_DATE", _date(c, c.due))
    b.t("\n\n")


def _party(b: _Builder, c: _Content, heading: str, seller: bool) -> None:
    b.t(f"{heading}: ")
    b.e("SELLER" if seller else "BUYER", c.seller if seller else c.buyer)
    b.t("\n" + " " * (len(heading) + 2))
    b.e("ADDRESS", c.seller_address if seller else c.buyer_address)
    b.t("\n")


def _contact(b: _Builder, c: _Content, sep: str = "\n") -> None:
    b.t("Email: ")
    b.e("EMAIL", c.email)
    b.t(f"{sep}Phone: ")
    b.e("PHONE", c.phone)
    b.t("\n")


def _key_value(b: _Builder, c: _Content, rng: random.Random) -> None:
    _head(b, c)
    _party(b, c, rng.choice(("From", "Seller", "Supplier")), True)
    _contact(b, c)
    b.t("\n")
    _party(b, c, rng.choice(("Bill to", "Buyer", "Customer")), False)
    b.t("\n")
    _table(b, c)
    b.t("\n")
    _totals(b, c, ("Subtotal", "Tax ({pct})", "Total"))


def _two_column(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"{title:<44}{number_key}: ")
    b.e("DOC_NUMBER", c.number)
    b.t(f"\n{'':<44}{issue_key}: ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(f"\n{'':<44}{due_key}: ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t(f"\n\n{'Vendor':<44}Customer\n")
    b.e("SELLER", c.seller)
    b.t(" " * (44 - len(c.seller)))
    b.e("BUYER", c.buyer)
    b.t("\n")
    b.e("ADDRESS", c.seller_address)
    b.t(" " * max(2, 44 - len(c.seller_address)))
    b.e("ADDRESS", c.buyer_address)
    b.t("\nTel ")
    b.e("PHONE", c.phone)
    b.t("  |  ")
    b.e("EMAIL", c.email)
    b.t("\n\n")
    _table(b, c, sep="    ")
    b.t("\n")
    _totals(b, c, ("Net amount", "VAT {pct}", "Amount due"), indent=30)


def _pipe_table(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"# {title}\n\n| {number_key} | ")
    b.e("DOC_NUMBER", c.number)
    b.t(f" |\n| {issue_key} | ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(f" |\n| {due_key} | ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t(" |\n| Supplier | ")
    b.e("SELLER", c.seller)
    b.t(", ")
    b.e("ADDRESS", c.seller_address)
    b.t(" |\n| Customer | ")
    b.e("BUYER", c.buyer)
    b.t(", ")
    b.e("ADDRESS", c.buyer_address)
    b.t(" |\n| Contact | ")
    b.e("EMAIL", c.email)
    b.t(", ")
    b.e("PHONE", c.phone)
    b.t(" |\n\n| Item | Qty | Unit price | Line total |\n|---|---|---|---|\n")
    for desc, qty, unit, total in c.items:
        b.t("| ")
        b.e("ITEM_DESC", desc)
        b.t(" | ")
        b.e("ITEM_QTY", str(qty))
        b.t(" | ")
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(" | ")
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t(" |\n")
    b.t("\n")
    _totals(b, c, ("Subtotal", "Tax", "Total"))


def _footer_contact(b: _Builder, c: _Content, rng: random.Random) -> None:
    _head(b, c)
    _party(b, c, "Bill to", False)
    b.t("\n")
    _table(b, c)
    b.t("\n")
    _totals(b, c, ("Subtotal", "Sales tax {pct}", "Total due"))
    b.t("\n" + "-" * 60 + "\n")
    b.e("SELLER", c.seller)
    b.t(" · ")
    b.e("ADDRESS", c.seller_address)
    b.t("\nTel. ")
    b.e("PHONE", c.phone)
    b.t(" · ")
    b.e("EMAIL", c.email)
    b.t("\n")


def _item_list(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, _number_key, _issue_key, _due_key = _KINDS[c.kind]
    b.t(f"{title} ")
    b.e("DOC_NUMBER", c.number)
    b.t(" dated ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(", due ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t("\nSeller: ")
    b.e("SELLER", c.seller)
    b.t(", ")
    b.e("ADDRESS", c.seller_address)
    b.t("\nBuyer: ")
    b.e("BUYER", c.buyer)
    b.t(", ")
    b.e("ADDRESS", c.buyer_address)
    b.t("\n")
    _contact(b, c, sep="; ")
    b.t("\nItems:\n")
    for desc, qty, unit, total in c.items:
        b.t("- ")
        b.e("ITEM_QTY", str(qty))
        b.t(" x ")
        b.e("ITEM_DESC", desc)
        b.t(" @ ")
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(" = ")
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t("\n")
    b.t("\n")
    _totals(b, c, ("Subtotal", "Tax", "Total"))


def _letter(b: _Builder, c: _Content, rng: random.Random) -> None:
    word = {"invoice": "invoice", "purchase_order": "order", "contract": "agreement"}[c.kind]
    b.e("SELLER", c.seller)
    b.t("\n")
    b.e("ADDRESS", c.seller_address)
    b.t("\n")
    b.e("PHONE", c.phone)
    b.t(" / ")
    b.e("EMAIL", c.email)
    b.t("\n\nTo: ")
    b.e("BUYER", c.buyer)
    b.t("\n    ")
    b.e("ADDRESS", c.buyer_address)
    b.t(f"\n\nDear customer,\n\nplease find our {word} ")
    b.e("DOC_NUMBER", c.number)
    b.t(" of ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(". It covers:\n")
    for desc, qty, unit, total in c.items:
        b.e("ITEM_QTY", str(qty))
        b.t(" units of ")
        b.e("ITEM_DESC", desc)
        b.t(" at ")
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(" each, ")
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t(" in total;\n")
    b.t("net ")
    b.e("SUBTOTAL", _amt(c, c.subtotal))
    b.t(" plus tax of ")
    b.e("TAX", _amt(c, c.tax))
    b.t(". Please pay the total of ")
    _money(b, c, "TOTAL", c.total, True)
    b.t(" by ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t(".\n\nKind regards\n")


def _stacked(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"{title}\n{'=' * len(title)}\n{number_key}:\n  ")
    b.e("DOC_NUMBER", c.number)
    b.t(f"\n{issue_key}:\n  ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(f"\n{due_key}:\n  ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t("\nSupplier:\n  ")
    b.e("SELLER", c.seller)
    b.t("\n  ")
    b.e("ADDRESS", c.seller_address)
    b.t("\n  Email: ")
    b.e("EMAIL", c.email)
    b.t("\n  Phone: ")
    b.e("PHONE", c.phone)
    b.t("\nCustomer:\n  ")
    b.e("BUYER", c.buyer)
    b.t("\n  ")
    b.e("ADDRESS", c.buyer_address)
    b.t("\n\n")
    _table(b, c)
    b.t("\n")
    _totals(b, c, ("Subtotal", "Tax {pct}", "Total"), indent=2)


def _dot_leaders(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"{title.title()}\n\n")
    for key, label, value in (
        (number_key, "DOC_NUMBER", c.number),
        (issue_key, "ISSUE_DATE", _date(c, c.issue)),
        (due_key, "DUE_DATE", _date(c, c.due)),
        ("Issued by", "SELLER", c.seller),
        ("Address", "ADDRESS", c.seller_address),
        ("E-mail", "EMAIL", c.email),
        ("Telephone", "PHONE", c.phone),
        ("Invoiced to", "BUYER", c.buyer),
        ("Address", "ADDRESS", c.buyer_address),
    ):
        b.t(f"{key} {'.' * (22 - len(key))} ")
        b.e(label, value)
        b.t("\n")
    b.t("\n")
    _table(b, c, sep="   ")
    b.t("\n")
    for key, label, amount in (
        ("Subtotal", "SUBTOTAL", c.subtotal),
        ("Tax", "TAX", c.tax),
        ("Total", "TOTAL", c.total),
    ):
        b.t(f"{key} {'.' * (22 - len(key))} ")
        _money(b, c, label, amount, label == "TOTAL")
        b.t("\n")


def _contract_prose(b: _Builder, c: _Content, rng: random.Random) -> None:
    b.t("SERVICES AGREEMENT\n\nThis agreement, No. ")
    b.e("DOC_NUMBER", c.number)
    b.t(", is made on ")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(" between ")
    b.e("SELLER", c.seller)
    b.t(", ")
    b.e("ADDRESS", c.seller_address)
    b.t(' (the "Supplier") and ')
    b.e("BUYER", c.buyer)
    b.t(", ")
    b.e("ADDRESS", c.buyer_address)
    b.t(' (the "Customer").\n\n1. Scope. The Supplier shall deliver:\n')
    for desc, qty, unit, total in c.items:
        b.t("   ")
        b.e("ITEM_QTY", str(qty))
        b.t(" x ")
        b.e("ITEM_DESC", desc)
        b.t(" at ")
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(" each, ")
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t(" in total\n")
    b.t("2. Fees. Net amount ")
    b.e("SUBTOTAL", _amt(c, c.subtotal))
    b.t(", tax ")
    b.e("TAX", _amt(c, c.tax))
    b.t(", total ")
    _money(b, c, "TOTAL", c.total, True)
    b.t(", payable by ")
    b.e("DUE_DATE", _date(c, c.due))
    b.t(".\n3. Notices go to ")
    b.e("EMAIL", c.email)
    b.t(" or by phone to ")
    b.e("PHONE", c.phone)
    b.t(".\n")


def _semicolon_records(b: _Builder, c: _Content, rng: random.Random) -> None:
    title, _, number_key, issue_key, due_key = _KINDS[c.kind]
    b.t(f"{title};\n{number_key};")
    b.e("DOC_NUMBER", c.number)
    b.t(f"\n{issue_key};")
    b.e("ISSUE_DATE", _date(c, c.issue))
    b.t(f"\n{due_key};")
    b.e("DUE_DATE", _date(c, c.due))
    b.t("\nSeller;")
    b.e("SELLER", c.seller)
    b.t(";")
    b.e("ADDRESS", c.seller_address)
    b.t(";")
    b.e("EMAIL", c.email)
    b.t(";")
    b.e("PHONE", c.phone)
    b.t("\nBuyer;")
    b.e("BUYER", c.buyer)
    b.t(";")
    b.e("ADDRESS", c.buyer_address)
    b.t("\n\nDescription;Qty;Unit price;Amount\n")
    for desc, qty, unit, total in c.items:
        b.e("ITEM_DESC", desc)
        b.t(";")
        b.e("ITEM_QTY", str(qty))
        b.t(";")
        b.e("ITEM_PRICE", _amt(c, unit))
        b.t(";")
        b.e("ITEM_TOTAL", _amt(c, total))
        b.t("\n")
    b.t("\nSubtotal;")
    b.e("SUBTOTAL", _amt(c, c.subtotal))
    b.t("\nTax;")
    b.e("TAX", _amt(c, c.tax))
    b.t("\nTotal;")
    _money(b, c, "TOTAL", c.total, True)
    b.t("\n")


LAYOUTS: dict[str, Callable[[_Builder, _Content, random.Random], None]] = {
    "key_value": _key_value,
    "two_column": _two_column,
    "pipe_table": _pipe_table,
    "footer_contact": _footer_contact,
    "item_list": _item_list,
    "letter": _letter,
    "stacked": _stacked,
    "dot_leaders": _dot_leaders,
    "contract_prose": _contract_prose,
    "semicolon_records": _semicolon_records,
}

# ----------------------------------------------------------------------------- noise

# Per-character probabilities of each corruption at levels 1, 2, 3 (level 0 is clean).
_NOISE_RATES = {1: 0.01, 2: 0.03, 3: 0.08}
_CONFUSIONS = {"0": "O", "O": "0", "1": "l", "l": "1", "I": "1", "5": "S", "S": "5"}
_STRAY = ("'", "`", ".", ",", "~", "·", "|")


def add_noise(
    chars: list[tuple[str, int]], level: int, rng: random.Random
) -> list[tuple[str, int]]:
    """OCR-like noise over ``(char, entity id or -1)`` pairs: O/0, l/1, I/1, S/5 swaps; stray
    marks between words; dropped spaces and broken lines, but never across an entity boundary
    (a space is dropped or broken only between two characters of the same entity, or of none).
    """
    if level == 0:
        return list(chars)
    p = _NOISE_RATES[level]
    out: list[tuple[str, int]] = []
    for k, (ch, eid) in enumerate(chars):
        left = chars[k - 1][1] if k else -2
        right = chars[k + 1][1] if k + 1 < len(chars) else -2
        roll = rng.random()
        if ch == " " and left == right == eid:
            if roll < p:
                continue  # dropped space
            if roll < 2 * p and eid == -1:
                out.append(("\n", eid))  # broken line (never inside an entity)
                continue
        if ch in _CONFUSIONS and roll < 2 * p:
            ch = _CONFUSIONS[ch]
        out.append((ch, eid))
        if ch == " " and eid == -1 and right == -1 and rng.random() < p:
            out.append((rng.choice(_STRAY), -1))  # a stray mark in a gap between words
    return out


def _spans(chars: list[tuple[str, int]], labels: list[str]) -> tuple[Span, ...]:
    found: dict[int, list[int]] = {}
    for pos, (_, eid) in enumerate(chars):
        if eid >= 0:
            found.setdefault(eid, [pos, pos])[1] = pos
    return tuple(sorted(Span(a, b + 1, labels[eid]) for eid, (a, b) in found.items()))


def _gold_values(c: _Content) -> dict[str, str]:
    return {
        "DOC_NUMBER": c.number,
        "ISSUE_DATE": c.issue.isoformat(),
        "DUE_DATE": c.due.isoformat(),
        "SELLER": c.seller,
        "BUYER": c.buyer,
        "CURRENCY": c.loc.code,
        "SUBTOTAL": str(c.subtotal),
        "TAX": str(c.tax),
        "TOTAL": str(c.total),
    }


def make_document(
    seed: int, *, layout: str, locale: str, noise: int, doc_id: str | None = None
) -> Document:
    """One document from ``seed`` (the same seed gives the same document, noise included)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}")
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {sorted(LOCALES)}, got {locale!r}")
    if noise not in NOISE_LEVELS:
        raise ValueError(f"noise must be one of {NOISE_LEVELS}, got {noise!r}")
    rng = random.Random(f"v{GENERATOR_VERSION}:{seed}")
    content = _content(rng, LOCALES[locale])
    builder = _Builder()
    LAYOUTS[layout](builder, content, rng)
    chars: list[tuple[str, int]] = []
    labels: list[str] = []
    for text, label in builder.parts:
        eid = -1
        if label is not None:
            eid = len(labels)
            labels.append(label)
        chars += [(ch, eid) for ch in text]
    chars = add_noise(chars, noise, rng)
    return Document(
        id=doc_id or f"{layout}-{locale}-n{noise}-{seed}",
        kind=content.kind,
        layout=layout,
        locale=locale,
        noise=noise,
        text="".join(ch for ch, _ in chars),
        spans=_spans(chars, labels),
        values=_gold_values(content),
    )


def generate(split: str, n: int, *, seed: int = 0, noise: int | None = None) -> list[Document]:
    """``n`` documents of ``split`` (``"train"`` or ``"heldout"``), cycling over its layouts.

    Train documents use the training layouts and locales; held-out ones the held-out layouts,
    in every locale (half of them the held-out locales). ``noise`` None draws a level per
    document; an int fixes it.
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    rng = random.Random(f"v{GENERATOR_VERSION}:{split}:{seed}")
    layouts = TRAIN_LAYOUTS if split == "train" else HELDOUT_LAYOUTS
    docs = []
    for k in range(n):
        if split == "train":
            locale = rng.choice(TRAIN_LOCALES)
        else:
            locale = rng.choice(HELDOUT_LOCALES if k % 2 else TRAIN_LOCALES)
        level = rng.choice(NOISE_LEVELS) if noise is None else noise
        docs.append(
            make_document(
                rng.randrange(2**31), layout=layouts[k % len(layouts)], locale=locale, noise=level
            )
        )
    return docs


def heldout_path() -> Path:
    return DATA_DIR / f"heldout_v{GENERATOR_VERSION}.jsonl"


def _heldout_documents() -> Iterator[Document]:
    for level in NOISE_LEVELS:
        yield from generate("heldout", HELDOUT_PER_LEVEL, seed=HELDOUT_SEED + level, noise=level)


def to_json(doc: Document) -> str:
    record = {
        "id": doc.id,
        "kind": doc.kind,
        "layout": doc.layout,
        "locale": doc.locale,
        "noise": doc.noise,
        "text": doc.text,
        "spans": [[s.start, s.end, s.label] for s in doc.spans],
        "values": doc.values,
    }
    return json.dumps(record, ensure_ascii=False)


def from_json(line: str) -> Document:
    r = json.loads(line)
    return Document(
        id=r["id"],
        kind=r["kind"],
        layout=r["layout"],
        locale=r["locale"],
        noise=r["noise"],
        text=r["text"],
        spans=tuple(Span(a, b, label) for a, b, label in r["spans"]),
        values=dict(r["values"]),
    )


def write_heldout(path: Path | None = None) -> Path:
    """Write the held-out test set (one JSON document per line) and return its path."""
    target = heldout_path() if path is None else path
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [to_json(doc) for doc in _heldout_documents()]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def load_heldout(noise: int | None = None) -> list[Document]:
    """The held-out test set shipped with the package (one noise level, or all of them)."""
    docs = [from_json(line) for line in heldout_path().read_text(encoding="utf-8").splitlines()]
    return [d for d in docs if noise is None or d.noise == noise]


if __name__ == "__main__":
    print(f"wrote {write_heldout()}")

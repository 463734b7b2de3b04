"""Task 1: dates, amounts, phones and emails; babel (CLDR) and phonenumbers are the oracles."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import ModuleType

import phonenumbers
import pytest
from babel.dates import format_date
from babel.numbers import format_decimal
from challenge_09_document_entity_extraction.generator import LOCALES
from hypothesis import given
from hypothesis import strategies as st

CLDR_LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "nl_NL", "es_ES", "de_CH"]
_dates = st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31))


@pytest.mark.task(1)
def test_ambiguous_numeric_dates_follow_day_first(impl: ModuleType) -> None:
    assert impl.normalize_date("04/03/2026") == dt.date(2026, 3, 4), "day first by default"
    assert impl.normalize_date("04.03.2026", day_first=True) == dt.date(2026, 3, 4)
    assert impl.normalize_date("04/03/2026", day_first=False) == dt.date(2026, 4, 3)
    # a part above 12 can only be the day, whatever day_first says
    assert impl.normalize_date("25/03/2026", day_first=False) == dt.date(2026, 3, 25)
    assert impl.normalize_date("03/25/2026", day_first=True) == dt.date(2026, 3, 25)


@pytest.mark.task(1)
@given(_dates, st.sampled_from(CLDR_LOCALES), st.sampled_from(["long", "medium"]))
def test_dates_as_cldr_writes_them(impl: ModuleType, day: dt.date, locale: str, width: str) -> None:
    text = format_date(day, width, locale=locale)
    assert impl.normalize_date(text) == day, f"{locale} {width}: {text!r}"


@pytest.mark.task(1)
@given(_dates, st.sampled_from(["en_GB", "fr_FR", "de_DE", "nl_NL"]))
def test_day_first_numeric_dates_as_cldr_writes_them(
    impl: ModuleType, day: dt.date, locale: str
) -> None:
    text = format_date(day, "dd/MM/yyyy" if locale != "de_DE" else "dd.MM.yyyy", locale=locale)
    assert impl.normalize_date(text, day_first=True) == day, text
    us = format_date(day, "MM/dd/yyyy", locale="en_US")
    assert impl.normalize_date(us, day_first=False) == day, us


@pytest.mark.task(1)
def test_dates_repair_ocr_and_reject_nonsense(impl: ModuleType) -> None:
    assert impl.normalize_date(" 2O26-O3-l4 ") == dt.date(2026, 3, 14)
    assert impl.normalize_date("4 MARS 2026") == dt.date(2026, 3, 4)
    assert impl.normalize_date("4 Marz 2026") == dt.date(2026, 3, 4), "accents are optional"
    for bad in ("", "   ", "soon", "31/02/2026", "2026-13-01", "March 2026", "12/12"):
        with pytest.raises(ValueError, match=r"text|empty"):
            impl.normalize_date(bad)
    with pytest.raises(TypeError, match="text"):
        impl.normalize_date(20260304)


@pytest.mark.task(1)
@given(
    st.decimals(Decimal("-99999999.99"), Decimal("99999999.99"), places=2),
    st.sampled_from(CLDR_LOCALES),
)
def test_amounts_as_cldr_writes_them(impl: ModuleType, value: Decimal, locale: str) -> None:
    text = format_decimal(value, format="#,##0.00", locale=locale)
    got = impl.normalize_amount(text)
    assert got.value == value, f"{locale}: {text!r} -> {got.value}, expected {value}"
    assert got.currency is None


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1,234.50", "1234.50", None),
        ("1.234,50", "1234.50", None),
        ("EUR 1 234,50", "1234.50", "EUR"),
        ("1.234,50 €", "1234.50", "EUR"),
        ("$1,234.50", "1234.50", "USD"),
        ("£12.5", "12.5", "GBP"),
        ("CHF 1'234.50", "1234.50", "CHF"),
        ("1.234", "1234", None),
        ("12,50", "12.50", None),
        ("1,2O4.5O", "1204.50", None),
        ("-7,00 EUR", "-7.00", "EUR"),
    ],
)
def test_amount_examples(impl: ModuleType, text: str, value: str, currency: str | None) -> None:
    got = impl.normalize_amount(text)
    assert (got.value, got.currency) == (Decimal(value), currency), text


@pytest.mark.task(1)
def test_amounts_reject_nonsense(impl: ModuleType) -> None:
    for bad in ("", "EUR", "12 apples", "one hundred"):
        with pytest.raises(ValueError, match="text"):
            impl.normalize_amount(bad)
    with pytest.raises(TypeError, match="text"):
        impl.normalize_amount(12.5)


_phone_templates = [t for loc in LOCALES.values() for t in loc.phones]


@pytest.mark.task(1)
@given(st.sampled_from(_phone_templates), st.lists(st.integers(0, 9), min_size=10, max_size=10))
def test_international_phones_match_libphonenumber(
    impl: ModuleType, template: str, digits: list[int]
) -> None:
    fill = iter(digits)
    text = "".join(str(next(fill)) if c == "#" else c for c in template)
    region = "US" if not text.startswith(("+", "00")) else None
    expected = phonenumbers.format_number(
        phonenumbers.parse(text, region), phonenumbers.PhoneNumberFormat.E164
    )
    assert impl.normalize_phone(text, region=region) == expected, text


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("text", "region"),
    [("020 7946 0958", "GB"), ("030 1234567", "DE"), ("01 42 68 53 00", "FR"),
     ("(212) 555-0142", "US"), ("1-212-555-0142", "US"), ("044 668 18 00", "CH")],
)  # fmt: skip
def test_national_phones_match_libphonenumber(impl: ModuleType, text: str, region: str) -> None:
    expected = phonenumbers.format_number(
        phonenumbers.parse(text, region), phonenumbers.PhoneNumberFormat.E164
    )
    assert impl.normalize_phone(text, region=region) == expected


@pytest.mark.task(1)
def test_phones_reject_what_they_cannot_place(impl: ModuleType) -> None:
    assert impl.normalize_phone("+49 3O 1234567") == "+49301234567", "OCR O for 0"
    with pytest.raises(ValueError, match="region"):
        impl.normalize_phone("030 1234567")
    with pytest.raises(ValueError, match="region"):
        impl.normalize_phone("030 1234567", region="XX")
    for bad in ("", "call us", "+12"):
        with pytest.raises(ValueError, match="text"):
            impl.normalize_phone(bad)


@pytest.mark.task(1)
def test_emails(impl: ModuleType) -> None:
    assert impl.normalize_email(" Billing@Acme.COM ") == "billing@acme.com"
    assert impl.normalize_email("accounts@blue harbor.com.") == "accounts@blueharbor.com"
    for bad in ("", "acme.com", "a@b", "a@@b.com"):
        with pytest.raises(ValueError, match="text"):
            impl.normalize_email(bad)
    with pytest.raises(TypeError, match="text"):
        impl.normalize_email(None)

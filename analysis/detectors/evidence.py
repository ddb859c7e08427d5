"""Redacted evidence: enough of a value to recognise it in a report, not enough to use it.

Deterministic (same value, same evidence), so reports and golden files stay stable.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

import phonenumbers

from borderflow.analysis.detectors.contacts import parse_phone
from borderflow.analysis.detectors.location import coordinates
from borderflow.analysis.records import Category

_TENTH: Final = Decimal("0.1")
_SUMMARY: Final = re.compile(r"\d+ (?:contacts|packages|attributes)")


def redact(category: Category, value: str) -> str:
    """The redacted form of ``value`` for a finding of ``category``."""
    if category is Category.CONTACT_EMAIL:
        return redact_email(value)
    if category is Category.CONTACT_PHONE:
        return redact_phone(value)
    if category is Category.FINANCIAL_CARD:
        return redact_card(value)
    if category is Category.FINANCIAL_BANK_ACCOUNT:
        return _mask_middle(re.sub(r"[^0-9A-Za-z]", "", value), 4, 4)
    if category is Category.CREDENTIALS:
        return redact_secret(value)
    if category in (Category.LOCATION_PRECISE, Category.LOCATION_COARSE):
        return redact_coordinates(value)
    if _SUMMARY.fullmatch(value):
        return value  # "3 contacts", "12 packages": a count, not the data
    return redact_identifier(value)


def redact_email(value: str) -> str:
    """``jane.doe@example.com`` becomes ``j***@example.com``."""
    local, at, domain = value.rpartition("@")
    if not at:
        return redact_identifier(value)
    return f"{local[:1]}***@{domain}"


def redact_phone(value: str) -> str:
    """``+8613812345678`` becomes ``+86 138****5678``: country code, head and tail."""
    number = parse_phone(value)
    if number is None:
        return _mask_middle(re.sub(r"\D", "", value), 3, 4)
    national = phonenumbers.national_significant_number(number)
    head, tail = (3, 4) if len(national) >= 10 else (2, 2)
    return f"+{number.country_code} {_mask_middle(national, head, tail)}"


def redact_card(value: str) -> str:
    """``4111 1111 1111 1111`` becomes ``4111********1111``."""
    return _mask_middle(re.sub(r"\D", "", value), 4, 4)


def redact_coordinates(value: str) -> str:
    """``48.137154,11.576124`` (or ``48137154,11576124``, scaled) becomes ``48.1,11.6``."""
    texts = value.split(",")
    if len(texts) == 2:
        pair = coordinates(texts[0], texts[1])  # undoes a 1e6 or 1e7 scale
        if pair is not None:
            texts = [str(pair[0]), str(pair[1])]
    try:
        parts = [Decimal(p).quantize(_TENTH, ROUND_HALF_EVEN) for p in texts]
    except InvalidOperation:
        return redact_identifier(value)
    return ",".join(str(p) for p in parts)


def redact_secret(value: str) -> str:
    """A password or token shows nothing but its length: ``***(8 chars)``."""
    return f"***({len(value)} chars)"


def redact_identifier(value: str) -> str:
    """``490154203237518`` becomes ``4901...(15 digits)``; other ids keep 4 characters."""
    kind = "digits" if value.isdigit() else "chars"
    return f"{value[:4]}...({len(value)} {kind})"


def _mask_middle(digits: str, head: int, tail: int) -> str:
    if len(digits) <= head + tail:
        return "*" * len(digits)
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]

"""Bank accounts (IBAN, account and routing numbers) and other financial facts about a person
(balance, income, credit score). Prices and order amounts are not personal: they describe
the purchase, and payment traffic is full of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.financial import card_scheme
from borderflow.analysis.detectors.keys import has_kind, kinds
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.detectors.values import is_placeholder
from borderflow.analysis.records import Category

_IBAN_HINT: Final = re.compile(r"[A-Za-z]{2}\d{2}")
_IBAN: Final = re.compile(r"(?<![A-Z0-9])([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})(?![A-Z0-9])")
# Lengths of IBANs by country (ISO 13616 registry), for the countries apps meet most.
_IBAN_LENGTHS: Final = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SK": 24, "TR": 26, "AE": 23, "SA": 24, "IL": 23, "HR": 21,
    "SI": 19, "BG": 22, "LT": 20, "LV": 21, "EE": 20, "CY": 28, "MT": 31, "IS": 26, "LI": 21,
}  # fmt: skip


def iban_valid(text: str) -> bool:
    """Country length and the ISO 7064 mod-97 check."""
    compact = text.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


@detector(
    Category.FINANCIAL_BANK_ACCOUNT,
    examples=('{"iban": "DE89370400440532013000"}', "pay to GB82 WEST 1234 5698 7654 32 today"),
    counterexamples=('{"iban": "DE89370400440532013001"}', "build=AB12CDEFGHIJKLMNOP"),
    pattern=r"[A-Za-z]{2}\d{2}",
    needs="0123456789",
)
def iban(field: Field) -> Iterator[Hit]:
    """An IBAN passing its country length and mod-97 check, under any key or in text."""
    if len(field.text) < 15 or _IBAN_HINT.search(field.text) is None:
        return
    for match in _IBAN.finditer(field.text.upper()):
        compact = match.group(1).replace(" ", "")
        candidate = compact[: _IBAN_LENGTHS.get(compact[:2], len(compact))]
        if iban_valid(candidate):
            reason = "IBAN with a valid mod-97 check digit"
            yield Hit(field=field, value=candidate, confidence=0.95, reason=reason)


_ACCOUNT_NUMBER: Final = re.compile(r"\d[\d -]{4,32}\d")
_ROUTING: Final = re.compile(r"\d{9}")


def aba_valid(digits: str) -> bool:
    """The ABA routing number checksum (3-7-1 weights)."""
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


@detector(
    Category.FINANCIAL_BANK_ACCOUNT,
    examples=(
        "bank_account[account_number]=000123456789",
        '{"routing_number": "110000000"}',
        '{"银行账号": "1001 2345 6789 0123 456"}',
        '{"acctNo": "31050161393600000123"}',
    ),
    counterexamples=(
        '{"account_number": "12"}',
        '{"routing_number": "110000001"}',
        '{"bank_account": "****1234"}',
        '{"bank_name": "ICBC"}',
    ),
    kinds="bank_account",
)
def bank_account(field: Field) -> Iterator[Hit]:
    """A bank account number under an account key (a Luhn-valid card number there is left to
    the card detector), or a routing number passing the ABA checksum."""
    found = kinds(field.key)
    if "bank_account" not in found:
        return
    text = field.text.strip()
    if is_placeholder(text) or _ACCOUNT_NUMBER.fullmatch(text) is None:
        return
    digits = re.sub(r"[ -]", "", text)
    if "routing" in field.key or "aba" in field.key:
        if _ROUTING.fullmatch(digits) and aba_valid(digits):
            reason = f"ABA routing number under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.85, reason=reason)
        return
    if card_scheme(digits) is not None and luhn_valid(digits):
        return  # a card number: financial.card
    if 6 <= len(digits) <= 34:
        reason = f"Account number under key '{field.key}'"
        yield Hit(field=field, value=text, confidence=0.8, reason=reason)


_AMOUNT: Final = re.compile(r"[+-]?\d{1,15}(?:[.,]\d{1,4})?")


@detector(
    Category.FINANCIAL_OTHER,
    examples=(
        '{"balance": "1024.50"}',
        '{"zmScore": "712"}',
        '{"monthly_income": "25000"}',
        '{"余额": "88.00"}',
    ),
    counterexamples=(
        '{"total_amount": "88.88"}',
        '{"price": "9.99"}',
        '{"balance_visible": "true"}',
        '{"balance": ""}',
    ),
    kinds="money",
)
def financial_fact(field: Field) -> Iterator[Hit]:
    """A number under a key naming a balance, income, debt, assets or a credit score."""
    if not has_kind(field.key, "money"):
        return
    text = field.text.strip()
    if _AMOUNT.fullmatch(text):
        reason = f"Amount under key '{field.key}' (balance, income or credit standing)"
        yield Hit(field=field, value=text, confidence=0.75, reason=reason)

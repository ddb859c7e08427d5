"""Payment card numbers (PANs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key, kinds
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.records import Category

_CANDIDATE: Final = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,]\d)(?!\d)")
_NOT_CARD_KINDS: Final = frozenset({"imei", "meid", "iccid", "imsi", "device_id"})

# (scheme, IIN ranges as (low, high) on the leading digits, allowed lengths)
_SCHEMES: Final = (
    ("Visa", ((4, 4),), (13, 16, 19)),
    ("Mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("American Express", ((34, 34), (37, 37)), (15,)),
    ("Discover", ((6011, 6011), (644, 649), (65, 65)), (16, 17, 18, 19)),
    ("UnionPay", ((62, 62),), (16, 17, 18, 19)),
    ("JCB", ((3528, 3589),), (16, 17, 18, 19)),
)


def card_scheme(digits: str) -> str | None:
    """The card scheme whose IIN prefix and length fit ``digits``, if any."""
    for scheme, ranges, lengths in _SCHEMES:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return scheme
    return None


def _well_grouped(candidate: str) -> bool:
    """No separators, or one kind of separator between groups as printed on cards."""
    separators = set(re.findall(r"[ -]", candidate))
    if not separators:
        return True
    if len(separators) > 1:
        return False
    sizes = [len(g) for g in re.split(r"[ -]", candidate)]
    return sizes == [4, 6, 5] or (all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4)


@detector(
    Category.FINANCIAL_CARD,
    examples=(
        '{"card_no": "4111111111111111"}',
        "pay with 5500 0000 0000 0004 now",
        "pan=6212345678901232",
        "amex 3782-822463-10005",
    ),
    counterexamples=(
        "ts=4111111111111111",
        '{"order_id": "6212345678901232"}',
        "n=4111111111111112",
        "imei=378282246310005",
        "pi=3.141111111111111111",
    ),
    kinds="card bank_account",
    pattern=r"(?:\d[ -]?){12}\d",
    needs="0123456789",
)
def payment_card(field: Field) -> Iterator[Hit]:
    """Luhn-valid 13-19 digits with a card scheme's prefix, not under a time or id key."""
    found = kinds(field.key)
    named = "card" in found or "bank_account" in found
    if not named and (is_time_or_id_key(field.key) or not _NOT_CARD_KINDS.isdisjoint(found)):
        return
    whole = field.text.strip()
    for match in _CANDIDATE.finditer(field.text):
        candidate = match.group()
        digits = re.sub(r"[ -]", "", candidate)
        scheme = card_scheme(digits)
        if scheme is None or not luhn_valid(digits) or not _well_grouped(candidate):
            continue
        where = f"under key '{field.key}'" if named else "as a whole value"
        if not named and candidate != whole:
            where = "in text"
        yield Hit(
            field=field,
            value=candidate,
            confidence=0.95 if named else (0.8 if candidate == whole else 0.7),
            reason=f"Luhn-valid {len(digits)}-digit {scheme} number {where}",
        )


_CVV: Final = re.compile(r"\d{3,4}")


@detector(
    Category.FINANCIAL_CARD,
    examples=('{"cvv": "123"}', "card[cvc]=4567", '{"securityCode": "737"}'),
    counterexamples=('{"cvv": "12"}', '{"cvv": "abc"}', '{"cvc_required": "true"}'),
    kinds="cvv",
)
def card_security_code(field: Field) -> Iterator[Hit]:
    """3 or 4 digits under a CVV/CVC key: the code that authorises a card payment."""
    if has_kind(field.key, "cvv") and _CVV.fullmatch(field.text.strip()):
        reason = f"Card security code under key '{field.key}'"
        yield Hit(field=field, value=field.text.strip(), confidence=0.85, reason=reason)

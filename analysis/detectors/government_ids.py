"""Government-issued identity numbers: Chinese resident ID, Hong Kong and Taiwan IDs, US SSN,
passport and licence numbers. Formats with a check digit are found anywhere; the rest only
under a key that names them."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, group_detector
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key, normalized
from borderflow.analysis.detectors.values import is_placeholder
from borderflow.analysis.records import Category

_CN_ID: Final = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")
_CN_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_PROVINCES: Final = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
_HK_ID: Final = re.compile(r"(?<![A-Z])([A-Z]{1,2})(\d{6})\(?([0-9A])\)?(?![\dA-Z])")
_TW_ID: Final = re.compile(r"(?<![A-Z\d])([A-Z])([12]\d{8})(?!\d)")
_TW_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # A=10, B=11, ... in this order
_SSN: Final = re.compile(r"(?<!\d)(\d{3})-?(\d{2})-?(\d{4})(?!\d)")
_DOCUMENT_NUMBER: Final = re.compile(r"[A-Za-z0-9-]{5,20}")


def cn_resident_id_valid(text: str) -> bool:
    """Province code, a real birth date and the ISO 7064 check character."""
    value = text.upper()
    if len(value) != 18 or value[:2] not in _CN_PROVINCES:
        return False
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= datetime.date.today().year:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _CN_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def hk_id_valid(prefix: str, digits: str, check: str) -> bool:
    values = [36] * (2 - len(prefix)) + [ord(c) - 55 for c in prefix] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


def tw_id_valid(letter: str, digits: str) -> bool:
    code = _TW_LETTERS.index(letter) + 10
    total = code // 10 + (code % 10) * 9
    total += sum(int(d) * w for d, w in zip(digits[:8], range(8, 0, -1), strict=True))
    return (total + int(digits[8])) % 10 == 0


def ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


@group_detector(
    Category.GOVERNMENT_ID,
    examples=(
        '{"cert_no": "11010519491231002X"}',
        "身份证 11010519491231002X 已认证",
        '{"hkid": "A123456(3)"}',
        '{"id_number": "A123456789"}',
        '{"ssn": "078-05-1120"}',
        '{"passport_no": "E12345678"}',
        '{"passport": {"number": "C01X00T47", "country": "DEU"}}',
    ),
    counterexamples=(
        '{"order_no": "11010519491231002X"}',
        "110105194913310029",
        '{"cert_type": "IDENTITY_CARD"}',
        '{"ssn": "000-12-3456"}',
        '{"passport_no": "unknown"}',
        '{"trade_no": "202311151200001234"}',
    ),
    kinds="gov_id",
    pattern=r"\d{17}[\dXx]|[A-Z]{1,2}\d{6}|[A-Z][12]\d{8}|(?i:passport|id_?card|identity_card"
    r"|national_?id|driver|hkid|residence)|身份证|护照",
)
def government_id(group: Group) -> Iterator[Hit]:
    """A checksum-valid Chinese, Hong Kong or Taiwan ID anywhere but under time and id keys;
    an SSN or a passport or licence number under a key that names it, or under ``number`` in
    a container that does (``{"passport": {"number": ...}}``)."""
    document = has_kind(group.key, "gov_id") or any(
        normalized(f.text.lower()) in _DOCUMENT_TYPES for f in group.fields
    )
    for field in group.fields:
        named = has_kind(field.key, "gov_id") or (
            document and normalized(field.key) in _DOCUMENT_MEMBERS
        )
        yield from _in_field(field, named)


_DOCUMENT_TYPES: Final = frozenset({"passport", "idcard", "identitycard", "nationalid",
                                    "driverlicense", "driverslicense", "drivinglicence", "hkid",
                                    "residencepermit", "身份证", "护照"})  # fmt: skip
_DOCUMENT_MEMBERS: Final = frozenset({"number", "no", "num", "id", "value", "code", "idno"})


def _in_field(field: Field, named: bool) -> Iterator[Hit]:
    if not named and is_time_or_id_key(field.key):
        return
    text = field.text
    for match in _CN_ID.finditer(text):
        if cn_resident_id_valid(match.group(1)):
            where = f" under key '{field.key}'" if named else ""
            reason = f"Chinese resident ID with a valid birth date and check digit{where}"
            yield Hit(
                field=field, value=match.group(1), confidence=0.95 if named else 0.85, reason=reason
            )
            return
    upper = text.upper() if named else text
    for match in _HK_ID.finditer(upper):
        if hk_id_valid(*match.groups()):
            reason = "Hong Kong identity card number with a valid check digit"
            yield Hit(
                field=field, value=match.group(), confidence=0.9 if named else 0.7, reason=reason
            )
            return
    for match in _TW_ID.finditer(upper):
        if tw_id_valid(*match.groups()):
            reason = "Taiwan national ID with a valid check digit"
            yield Hit(
                field=field, value=match.group(), confidence=0.9 if named else 0.7, reason=reason
            )
            return
    if not named:
        return
    yield from _named_document(field)


def _named_document(field: Field) -> Iterator[Hit]:
    text = field.text.strip()
    if is_placeholder(text):
        return
    if "ssn" in field.key or "socialsecurity" in field.key:
        match = _SSN.fullmatch(text)
        if match and ssn_valid(*match.groups()):
            reason = f"US Social Security number under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.9, reason=reason)
        elif text.isdigit() and len(text) == 4:
            reason = f"Last four SSN digits under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.6, reason=reason)
        return
    digits = sum(c.isdigit() for c in text)
    if _DOCUMENT_NUMBER.fullmatch(text) and digits >= 5:
        reason = f"Identity document number under key '{field.key}'"
        yield Hit(field=field, value=text, confidence=0.8, reason=reason)

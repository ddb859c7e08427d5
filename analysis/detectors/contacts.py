"""Ways to reach a person: e-mail addresses and phone numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import phonenumbers

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import is_time_or_id_key, mentions, normalized, tokens
from borderflow.analysis.records import Category

_EMAIL: Final = re.compile(
    r"(?<![\w.%+-])([a-z0-9](?:[a-z0-9._%+-]{0,62}[a-z0-9_+-])?)"
    r"@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))(?![\w-])",
    re.IGNORECASE | re.ASCII,
)
# "icon@2x.png" and "lib@1.2.js" look like addresses; real top-level domains are not file types.
_FILE_SUFFIXES: Final = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico",
                                   "js", "mjs", "css", "json", "html", "htm", "xml", "txt",
                                   "mp3", "mp4", "wav", "pdf", "zip", "gz", "so", "dylib",
                                   "jar", "aar", "apk", "dex", "ttf", "otf", "woff", "map"})  # fmt: skip
_EMAIL_KEYS: Final = ("mail", "邮箱")


@detector(
    Category.CONTACT_EMAIL,
    examples=('{"email": "jane.doe@example.com"}', "contact jane+news@mail.example.org today"),
    counterexamples=("icon=image@2x.png", '{"dep": "lodash@4.17.21"}', "a@b", "user@localhost"),
)
def email(field: Field) -> Iterator[Hit]:
    """An address with a real-looking domain; a key naming mail raises confidence."""
    named = mentions(field.key, _EMAIL_KEYS)
    for match in _EMAIL.finditer(field.text):
        if match.group(3).lower() in _FILE_SUFFIXES or ".." in match.group(1):
            continue
        yield Hit(
            field=field,
            value=match.group(),
            confidence=0.95 if named else 0.85,
            reason="E-mail address" + (f" under key '{field.key}'" if named else " in text"),
        )


_PHONE_PARTS: Final = ("phone", "mobile", "msisdn", "shouji", "手机", "电话", "手机号")
_PHONE_TOKENS: Final = frozenset({"tel", "telno", "telnum", "telephone", "mob", "cell", "sjh"})
_CN_MOBILE: Final = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_PHONE_VALUE: Final = re.compile(r"\+?[\d\s().-]{6,24}")
_E164_IN_TEXT: Final = re.compile(r"(?<![\w+])\+[1-9](?:[ .-]?\(?\d\)?){6,16}(?!\w)")
# Regions a number written without +CC is tried in, in this order (only under a phone key).
_REGIONS: Final = ("CN", "HK", "TW", "SG", "US", "GB", "DE", "FR", "IN", "JP", "KR")


def is_phone_key(key: str) -> bool:
    """phone, mobile, tel, msisdn, shouji, 手机, 电话 and their compounds."""
    return (
        mentions(key, _PHONE_PARTS)
        or bool(_PHONE_TOKENS.intersection(tokens(key)))
        or (normalized(key) in _PHONE_TOKENS)
    )


def parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    """A valid number in E.164 form, a Chinese mobile, or valid in one of a few regions."""
    digits = re.sub(r"[\s().-]", "", text)
    candidates: tuple[str | None, ...] = (None,) if digits.startswith("+") else _REGIONS
    if not digits.startswith("+") and _CN_MOBILE.fullmatch(digits):
        candidates = ("CN",)
    for region in candidates:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


@detector(
    Category.CONTACT_PHONE,
    examples=(
        "mobile=13812345678",
        '{"user": {"phone": "+86 138 1234 5678"}}',
        "call me on +49 30 12345678 please",
        '{"手机": "13912345678"}',
    ),
    counterexamples=(
        "ts=1700000000000",
        "order_no=13812345678",
        '{"nonce": "13912345678"}',
        "call me on 030 12345678",
        '{"phone": "1700000000000"}',
    ),
)
def phone(field: Field) -> Iterator[Hit]:
    """Digits under a phone key, or an E.164 number (+CC...) anywhere but under id keys."""
    text = field.text.strip()
    if is_phone_key(field.key) and _PHONE_VALUE.fullmatch(text):
        if parse_phone(text) is not None:
            yield Hit(
                field=field,
                value=text,
                confidence=0.9,
                reason=f"Valid phone number under key '{field.key}'",
            )
        return
    if is_time_or_id_key(field.key):
        return
    for match in _E164_IN_TEXT.finditer(field.text):
        number = parse_phone(match.group())
        if number is not None:
            yield Hit(
                field=field,
                value=match.group(),
                confidence=0.8,
                reason=f"Valid E.164 number for country code +{number.country_code}",
            )

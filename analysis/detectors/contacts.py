"""Ways to reach a person: e-mail addresses and phone numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import phonenumbers

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key
from borderflow.analysis.detectors.values import base64_digest, hex_digest
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
_UI_TEXT: Final = ("placeholder", "hint", "example", "sample", "label", "tip")
# Mailboxes of an organisation, not of a person: reported, but below the usual threshold.
_ROLE_MAILBOXES: Final = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply",
                                    "support", "service", "help", "info", "admin", "contact",
                                    "feedback", "sales", "privacy", "webmaster", "postmaster",
                                    "hostmaster", "abuse", "security", "notifications", "news",
                                    "newsletter", "marketing", "kefu", "hello", "team", "jobs",
                                    "dpo", "legal", "press", "service-center"})  # fmt: skip


@detector(
    Category.CONTACT_EMAIL,
    examples=(
        '{"email": "jane.doe@example.com"}',
        "contact jane+news@mail.example.org today",
        '{"email_sha256": "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"}',
    ),
    counterexamples=(
        "icon=image@2x.png",
        '{"dep": "lodash@4.17.21"}',
        "a@b",
        "user@localhost",
        '{"email_md5": "d41d8cd98f00b204e9800998ecf8427e"}',
        '{"mailbox_size": "1234567890abcdef1234567890abcdef"}',
        '{"email_placeholder": "you@example.com"}',
    ),
    kinds="email",
    pattern=r"@",
)
def email(field: Field) -> Iterator[Hit]:
    """An address with a real-looking domain, or a digest under an e-mail key."""
    if any(word in field.key for word in _UI_TEXT):
        return  # "email_placeholder": you@example.com is an interface's example, no one's address
    named = has_kind(field.key, "email")
    if "@" not in field.text:
        if named and (hex_digest(field.text) or base64_digest(field.text)):
            yield Hit(
                field=field,
                value=field.text.strip(),
                confidence=0.7,
                reason=f"Digest under e-mail key '{field.key}' (a hashed address still links)",
            )
        return
    for match in _EMAIL.finditer(field.text):
        local = match.group(1).lower()
        if match.group(3).lower() in _FILE_SUFFIXES or ".." in local:
            continue
        role = local in _ROLE_MAILBOXES
        yield Hit(
            field=field,
            value=match.group(),
            confidence=0.3 if role else (0.95 if named else 0.85),
            reason=("Role mailbox of an organisation" if role else "E-mail address")
            + (f" under key '{field.key}'" if named else " in text"),
        )


_CN_MOBILE: Final = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_PHONE_VALUE: Final = re.compile(r"\+?[\d\s().-]{6,24}")
_E164_IN_TEXT: Final = re.compile(r"(?<![\w+])\+[1-9](?:[ .-]?\(?\d\)?){6,16}(?!\w)")
# Regions a number written without +CC is tried in, in this order (only under a phone key).
_REGIONS: Final = ("CN", "HK", "TW", "SG", "US", "GB", "DE", "FR", "IN", "JP", "KR")


def is_phone_key(key: str) -> bool:
    """phone, mobile, tel, msisdn, shouji, 手机, 电话 and their compounds."""
    return has_kind(key, "phone")


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
        '{"account": "13912345678"}',
        '{"lianxidianhua": "021-62345678"}',
    ),
    counterexamples=(
        "ts=1700000000000",
        "order_no=13812345678",
        '{"nonce": "13912345678"}',
        "call me on 030 12345678",
        '{"phone": "1700000000000"}',
        '{"phone": "138****5678"}',
        '{"phone_model": "13912345678"}',
        '{"ts": "13912345678"}',
    ),
    kinds="phone user_id",
    pattern=r"\+\d|(?<!\d)1[3-9]\d{9}(?!\d)",
    needs="0123456789",
)
def phone(field: Field) -> Iterator[Hit]:
    """Digits under a phone key, a Chinese mobile number as a whole value, or an E.164
    number (+CC...) anywhere but under time and id keys."""
    text = field.text.strip()
    if is_phone_key(field.key):
        if _PHONE_VALUE.fullmatch(text) and parse_phone(text) is not None:
            yield Hit(
                field=field,
                value=text,
                confidence=0.9,
                reason=f"Valid phone number under key '{field.key}'",
            )
        elif hex_digest(text):
            reason = f"Digest under phone key '{field.key}' (a hashed number still links)"
            yield Hit(field=field, value=text, confidence=0.7, reason=reason)
        return
    if is_time_or_id_key(field.key):
        return
    account = has_kind(field.key, "user_id")
    keyless = not field.key or field.key.isdigit() or field.path.startswith("url/path:")
    if (account or keyless) and _CN_MOBILE.fullmatch(text):
        yield Hit(
            field=field,
            value=text,
            confidence=0.8 if account else 0.55,
            reason=f"Chinese mobile number as the value of account key '{field.key}'"
            if account
            else "Chinese mobile number as a whole value without a key",
        )
        return
    if "+" not in text:
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

"""What lets someone act as the person: passwords and PINs, one-time codes, and the tokens
that stand for a login (OAuth access and refresh tokens, Basic and Bearer authorisation).

An app's own keys (``appkey``, ``api_secret``) are the developer's, not the person's, and
request signatures and nonces authorise nothing on their own: neither is reported.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import kinds, normalized
from borderflow.analysis.detectors.values import is_placeholder
from borderflow.analysis.records import Category

_BASIC: Final = re.compile(r"basic\s+([A-Za-z0-9+/=]{4,})", re.I)
_BEARER: Final = re.compile(r"(?:bearer|token|mac)\s+([\w.~+/=-]{12,})", re.I)
_TOKEN: Final = re.compile(r"[\w.~+/=:-]{16,4096}")
_OTP: Final = re.compile(r"\d{4,8}")
# Publishable API keys sent as bearer tokens (Stripe's SDKs): the app's, not the person's.
_APP_KEY: Final = re.compile(r"\s(?:pk|rk)_(?:live|test)_")
_GENERIC_TOKEN_KEYS: Final = frozenset({"token", "ticket"})
_JWT: Final = re.compile(r"eyJ[\w-]{8,}\.eyJ")
_MASKED: Final = re.compile(r"[*•·x]{3,}", re.I)


def _authorization(field: Field) -> Iterator[Hit]:
    text = field.text.strip()
    basic = _BASIC.fullmatch(text)
    if basic is not None:
        try:
            user, sep, _ = base64.b64decode(basic.group(1)).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return
        if sep:
            reason = f"HTTP Basic credentials (user '{user[:2]}...' and password)"
            yield Hit(field=field, value=text, confidence=0.95, reason=reason)
        return
    if _BEARER.fullmatch(text) and not _APP_KEY.search(text):
        reason = "Bearer token in the Authorization header (stands for the login)"
        yield Hit(field=field, value=text, confidence=0.8, reason=reason)


@detector(
    Category.CREDENTIALS,
    examples=(
        '{"username": "jane", "password": "hunter2!"}',
        "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
        '{"pay_pwd": "123456"}',
        '{"sms_code": "482913"}',
        '{"access_token": "ya29.a0AfH6SMBx3kP2lQ"}',
    ),
    counterexamples=(
        '{"appkey": "5f8d0a7b1c2e3d4f5a6b7c8d"}',
        '{"password": "******"}',
        '{"sign": "0CB01533B8C1EF103065174F50BCA001"}',
        '{"push_token": "dQw4w9WgXcQ:APA91bH"}',
        '{"token_type": "bearer"}',
        '{"captcha_code": "4821"}',
        '{"has_password": "true"}',
    ),
    kinds="password otp token",
)
def credential(field: Field) -> Iterator[Hit]:
    """A password, PIN or one-time code, a login token, or an Authorization header."""
    flat = normalized(field.key)
    if flat in ("authorization", "proxyauthorization"):
        yield from _authorization(field)
        return
    found = kinds(field.key)
    text = field.text.strip()
    if not found or is_placeholder(text) or _MASKED.search(text):
        return
    if "password" in found and 1 <= len(text) <= 256:
        reason = f"Password or PIN under key '{field.key}'"
        yield Hit(field=field, value=text, confidence=0.9, reason=reason)
    elif "otp" in found and _OTP.fullmatch(text):
        reason = f"One-time login code under key '{field.key}'"
        yield Hit(field=field, value=text, confidence=0.7, reason=reason)
    elif "token" in found and _TOKEN.fullmatch(text) and not text.isalpha():
        generic = normalized(field.key) in _GENERIC_TOKEN_KEYS
        if generic and not _JWT.match(text):
            reason = f"Opaque value under generic key '{field.key}' (a login token, or an app's)"
            yield Hit(field=field, value=text, confidence=0.45, reason=reason)
        else:
            reason = f"Login or access token under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.8, reason=reason)

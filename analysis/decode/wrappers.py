"""Text wrappers around bytes: base64, base64url, hex, and the payload of a JWT.

Unwrapping only proposes bytes; ``value`` keeps them only when they turn out to be
something (compressed data, JSON, text, msgpack, protobuf). Most values that merely look
like base64 or hex (ids, hashes, tokens) decode to noise and are left alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

MIN_BASE64: Final = 12  # shortest wrapper tried: base64 of '{"a":1}'
MIN_HEX: Final = 16
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_HEX: Final = re.compile(r"(?:[0-9a-f]{2})+|(?:[0-9A-F]{2})+")
_JWT: Final = re.compile(r"(?:bearer\s+)?(eyJ[\w-]{6,})\.(eyJ[\w-]{2,})\.([\w-]*)", re.I | re.A)
_WHITESPACE: Final = re.compile(r"\s+")


def unwrap(text: str) -> tuple[str, bytes] | None:
    """(step name, bytes) for a hex, base64 or base64url string; None for anything else."""
    candidate = text.strip()
    if len(candidate) < MIN_BASE64:
        return None
    if "\n" in candidate:  # MIME base64 comes in lines
        candidate = _WHITESPACE.sub("", candidate)
    if len(candidate) >= MIN_HEX and _HEX.fullmatch(candidate):
        return "hex", bytes.fromhex(candidate)
    if candidate.isdigit():
        return None  # a number, whatever else it could be
    if _BASE64.fullmatch(candidate):
        return _b64("base64", candidate)
    if _BASE64URL.fullmatch(candidate):
        return _b64("base64url", candidate)
    return None


def _b64(step: str, candidate: str) -> tuple[str, bytes] | None:
    stripped = candidate.rstrip("=")
    if len(stripped) % 4 == 1:
        return None
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        data = (
            base64.b64decode(padded, validate=True)
            if step == "base64"
            else base64.urlsafe_b64decode(padded)
        )
    except (binascii.Error, ValueError):
        return None
    return step, data


def jwt_payload(text: str) -> bytes | None:
    """The decoded payload (claims) of a JWT, optionally after ``Bearer``; None otherwise."""
    match = _JWT.fullmatch(text.strip())
    if match is None:
        return None
    claims = match.group(2)
    try:
        return base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
    except (binascii.Error, ValueError):
        return None

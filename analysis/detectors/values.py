"""What a value looks like: shared shape tests that keep detectors quiet on placeholders.

SDKs send placeholders where a permission is missing (``02:00:00:00:00:00``, the all-zero
advertising ID, ``unknown``) and digests of nothing (``d41d8cd9...`` is the MD5 of "").
None of these is personal data, so detectors ask here before reporting.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
MAC: Final = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}", re.I)
_BARE_MAC: Final = re.compile(r"[0-9a-f]{12}", re.I)
_HEX_DIGEST: Final = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", re.I)
_B64_DIGEST: Final = re.compile(
    r"[A-Za-z0-9+/_-]{22}(?:==)?|[A-Za-z0-9+/_-]{27}=?|[A-Za-z0-9+/_-]{43}=?"
)
_NUMBER: Final = re.compile(r"[+-]?\d+(?:\.\d+)?")

PLACEHOLDERS: Final = frozenset(
    {"", "0", "-1", "null", "nil", "none", "undefined", "unknown", "n/a", "na", "empty",
     "default", "test", "true", "false", "anonymous", "guest", "<unknown ssid>",
     "02:00:00:00:00:00", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "020000000000",
     "000000000000", "00000000-0000-0000-0000-000000000000", "9774d56d682e549c", "unknow"}
)  # fmt: skip
# Digests of nothing and of placeholders: an app hashing an empty IMEI sends one of these.
EMPTY_DIGESTS: Final = frozenset(
    getattr(hashlib, name)(value.encode()).hexdigest()
    for name in ("md5", "sha1", "sha256")
    for value in ("", "null", "0", "unknown", "02:00:00:00:00:00", "000000000000000",
                  "00000000-0000-0000-0000-000000000000", "undefined", "none")
)  # fmt: skip


def is_placeholder(text: str) -> bool:
    """Empty, a null word, one character repeated, or a known placeholder value."""
    value = text.strip().lower()
    if value in PLACEHOLDERS or value in EMPTY_DIGESTS:
        return True
    compact = value.replace("-", "").replace(":", "")
    return len(set(compact)) <= 1 or "*" * 3 in value  # 0000..., or masked like 138****5678


def is_uuid(text: str) -> bool:
    return UUID.fullmatch(text.strip()) is not None


def mac_address(text: str) -> str | None:
    """The MAC in ``text`` (``aa:bb:..``, ``aa-bb-..`` or 12 bare hex digits), normalised to
    lower case with colons; None for anything else and for placeholders."""
    value = text.strip()
    if MAC.fullmatch(value):
        bare = value.replace(":", "").replace("-", "").lower()
    elif _BARE_MAC.fullmatch(value) and not value.isdigit():
        bare = value.lower()
    else:
        return None
    mac = ":".join(bare[i : i + 2] for i in range(0, 12, 2))
    if is_placeholder(mac):
        return None
    return mac


def hex_digest(text: str) -> str | None:
    """``"md5"``, ``"sha1"`` or ``"sha256"`` for a hex digest of that length that is not the
    digest of nothing; None otherwise."""
    value = text.strip()
    if _HEX_DIGEST.fullmatch(value) is None or value.lower() in EMPTY_DIGESTS:
        return None
    if len(set(value.lower())) < 6:
        return None
    return {32: "md5", 40: "sha1", 64: "sha256"}[len(value)]


def base64_digest(text: str) -> bool:
    """Base64 of a 16-, 20- or 32-byte digest (mixed case, so not a hex string)."""
    value = text.strip()
    return (
        _B64_DIGEST.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None


def is_url(text: str) -> bool:
    value = text.strip().lower()
    return value.startswith(("http://", "https://")) and " " not in value and len(value) > 10


def has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)

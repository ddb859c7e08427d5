"""Identifiers that outlive a session and link a person across apps: IMEI, advertising IDs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import is_time_or_id_key, mentions, normalized
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.records import Category

_FIFTEEN_DIGITS: Final = re.compile(r"(?<![\d.])\d{15}(?![\d.]?\d)")
_IMEI_KEYS: Final = ("imei", "meid", "deviceid", "devid")
# Reporting-body prefixes (first two digits of the TAC) seen on real devices; an unnamed
# 15-digit number needs one of these to be taken for an IMEI.
_REPORTING_BODIES: Final = frozenset(
    {"01", "10", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86", "91",
     "98", "99"}
)  # fmt: skip


@detector(
    Category.IDENTIFIERS_DEVICE,
    examples=("imei=490154203237518", '{"deviceId": "860123456789014"}', "490154203237518"),
    counterexamples=(
        "imei=490154203237519",
        "ts=490154203237518",
        '{"order_id": "860123456789014"}',
        "imei=000000000000000",
        "v=1.490154203237518",
    ),
)
def imei(field: Field) -> Iterator[Hit]:
    """15 Luhn-valid digits; under an IMEI key with high confidence, elsewhere only weakly."""
    named = mentions(field.key, _IMEI_KEYS)
    if not named and is_time_or_id_key(field.key):
        return
    for match in _FIFTEEN_DIGITS.finditer(field.text):
        digits = match.group()
        if not luhn_valid(digits) or len(set(digits)) == 1:
            continue
        if named:
            reason = f"Luhn-valid 15-digit number under key '{field.key}'"
            yield Hit(field=field, value=digits, confidence=0.9, reason=reason)
        elif digits[:2] in _REPORTING_BODIES:
            reason = "Luhn-valid 15-digit number with an IMEI type-allocation prefix, no key"
            yield Hit(field=field, value=digits, confidence=0.4, reason=reason)


_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_HEX_OAID: Final = re.compile(r"[0-9a-f]{16}|[0-9a-f]{64}", re.I)
_AD_KEY_PARTS: Final = ("gaid", "idfa", "oaid", "aaid", "advertisingid", "googleadid", "gpsadid")
_AD_KEY_NAMES: Final = frozenset({"adid", "ifa", "advid", "adsid", "adtrackingid"})


def is_advertising_key(key: str) -> bool:
    """gaid, adid, advertising_id, idfa, oaid, aaid, google_ad_id and their compounds."""
    return normalized(key) in _AD_KEY_NAMES or mentions(key, _AD_KEY_PARTS)


@detector(
    Category.IDENTIFIERS_ADVERTISING,
    examples=(
        "gaid=38400000-8cf0-11bd-b23e-10b96e40000d",
        '{"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}',
        '{"oaid": "a1b2c3d4e5f60718"}',
    ),
    counterexamples=(
        '{"request_id": "38400000-8cf0-11bd-b23e-10b96e40000d"}',
        "gaid=00000000-0000-0000-0000-000000000000",
        '{"adid": "not-an-id"}',
        '{"gaid": "a1b2c3d4e5f60718"}',
    ),
)
def advertising_id(field: Field) -> Iterator[Hit]:
    """A UUID under an advertising-ID key (or 16/64 hex digits under an OAID key).

    The all-zero ID is what a device sends when ad tracking is limited: not personal data.
    """
    if not is_advertising_key(field.key):
        return
    text = field.text.strip()
    is_uuid = _UUID.fullmatch(text) is not None
    is_oaid_hex = "oaid" in normalized(field.key) and _HEX_OAID.fullmatch(text) is not None
    if not (is_uuid or is_oaid_hex) or not text.strip("0-"):
        return
    shape = "UUID" if is_uuid else f"{len(text)}-hex-digit OAID"
    yield Hit(
        field=field,
        value=text,
        confidence=0.9 if is_uuid else 0.8,
        reason=f"{shape} under advertising-ID key '{field.key}'",
    )

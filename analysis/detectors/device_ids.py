"""Identifiers that outlive a session and link a person across apps: IMEI, MEID, Android ID,
MAC, vendor and install IDs, and the resettable advertising IDs (GAID, IDFA, OAID)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, detector, group_detector
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key, kinds, normalized
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.detectors.network import wifi_context
from borderflow.analysis.detectors.values import (
    hex_digest,
    is_placeholder,
    is_uuid,
    mac_address,
)
from borderflow.analysis.records import Category

_FIFTEEN_DIGITS: Final = re.compile(r"(?<![\d.])\d{15}(?![\d.]?\d)")
_IMEI_KINDS: Final = frozenset({"imei", "meid", "device_id"})
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
    kinds="imei meid device_id",
    pattern=r"\d{15}",
    needs="0123456789",
)
def imei(field: Field) -> Iterator[Hit]:
    """15 Luhn-valid digits; under an IMEI key with high confidence, elsewhere only weakly."""
    named = not _IMEI_KINDS.isdisjoint(kinds(field.key))
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


_HEX_OAID: Final = re.compile(r"[0-9a-f]{16}|[0-9a-f]{64}", re.I)
_ADJUST_ADID: Final = re.compile(r"[0-9a-f]{32}")
APPSFLYER_ID: Final = re.compile(r"1[3-9]\d{11}-\d{15,19}")  # install time (ms) - random


def is_advertising_key(key: str) -> bool:
    """gaid, adid, advertising_id, idfa, oaid, aaid, google_ad_id and their compounds."""
    return has_kind(key, "advertising")


@detector(
    Category.IDENTIFIERS_ADVERTISING,
    examples=(
        "gaid=38400000-8cf0-11bd-b23e-10b96e40000d",
        '{"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}',
        '{"oaid": "a1b2c3d4e5f60718"}',
        '{"advertiserId": "38400000-8cf0-11bd-b23e-10b96e40000d"}',
    ),
    counterexamples=(
        '{"request_id": "38400000-8cf0-11bd-b23e-10b96e40000d"}',
        "gaid=00000000-0000-0000-0000-000000000000",
        '{"adid": "not-an-id"}',
        '{"gaid": "a1b2c3d4e5f60718"}',
        '{"adid": "5a3b8c7d9e1f2a4b6c8d0e2f4a6b8c0d"}',
    ),
    kinds="advertising",
)
def advertising_id(field: Field) -> Iterator[Hit]:
    """A UUID under an advertising-ID key (or 16/64 hex digits under an OAID key).

    The all-zero ID is what a device sends when ad tracking is limited: not personal data.
    """
    if not is_advertising_key(field.key):
        return
    text = field.text.strip()
    is_uuid_ = is_uuid(text)
    is_oaid_hex = "oaid" in normalized(field.key) and _HEX_OAID.fullmatch(text) is not None
    if not (is_uuid_ or is_oaid_hex) or is_placeholder(text):
        return
    shape = "UUID" if is_uuid_ else f"{len(text)}-hex-digit OAID"
    yield Hit(
        field=field,
        value=text,
        confidence=0.9 if is_uuid_ else 0.8,
        reason=f"{shape} under advertising-ID key '{field.key}'",
    )


_ANDROID_ID: Final = re.compile(r"[0-9a-f]{13,16}", re.I)
_MEID: Final = re.compile(r"[0-9a-f]{14}|\d{18}", re.I)
_ID_SHAPE: Final = re.compile(r"[\w.:+/=-]{6,200}")
_DEVICE_KINDS: Final = frozenset({"android_id", "meid", "device_id", "mac", "imei"})


@group_detector(
    Category.IDENTIFIERS_DEVICE,
    examples=(
        '{"android_id": "9f3b2c1d0e4a5b6c"}',
        '{"meid": "A0000012345678"}',
        '{"utdid": "XwKZc2Hq3BADAKnVmQKfD1x0"}',
        '{"app_instance_id": "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7"}',
        '{"adid": "5a3b8c7d9e1f2a4b6c8d0e2f4a6b8c0d"}',
        '{"idmd5": "8d777f385d3dfec8815d20f7496026dc"}',
        '{"serial": "R58M12ABCDE", "model": "SM-G9910", "brand": "samsung"}',
    ),
    counterexamples=(
        '{"android_id": "9774d56d682e549c"}',
        '{"device_id": "unknown"}',
        '{"request_id": "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7"}',
        '{"device_type": "phone"}',
        '{"deviceId": "0"}',
        '{"imei_md5": "d41d8cd98f00b204e9800998ecf8427e"}',
        '{"uuid": "123e4567-e89b-12d3-a456-426614174000", "trace": "abc"}',
        '{"serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", "effective_time": "2023"}',
    ),
    kinds="android_id meid device_id mac imei advertising",
    pattern=r"1[3-9]\d{11}-\d{15}",
    needs="-",
)
def device_identifier(group: Group) -> Iterator[Hit]:
    """An opaque ID under a key naming a device ID (Android ID, MEID, install, vendor, push
    and SDK device IDs, Adjust's 32-hex adid), or a digest under such a key. A bare ``uuid``
    or ``guid`` key counts only beside other device data: alone it is as often a request's."""
    device_context: bool | None = None
    for field in group.fields:
        hit = _device_id(field)
        if hit is None:
            continue
        if normalized(field.key) in _GENERIC_ID_KEYS:
            if device_context is None:
                device_context = any(
                    f is not field and (not _DEVICE_KINDS.isdisjoint(kinds(f.key)) or
                                        any(w in normalized(f.key) for w in _DEVICE_WORDS))
                    for f in group.fields
                )  # fmt: skip
            if not device_context:
                continue
        yield hit


# Keys that name a device's ID only beside other device data: alone, a uuid is as often a
# request's and a serial number a transaction's or a certificate's.
_GENERIC_ID_KEYS: Final = frozenset({"uuid", "guid", "did", "cid", "iid", "serial", "serialno",
                                     "sn", "serialnumber"})  # fmt: skip
_DEVICE_WORDS: Final = ("model", "brand", "manufacturer", "osversion", "osver", "platform",
                        "carrier", "resolution", "screen", "imei", "sdk", "device", "muid")  # fmt: skip


def _device_id(field: Field) -> Hit | None:
    found = kinds(field.key)
    text = field.text.strip()
    if APPSFLYER_ID.fullmatch(text):
        reason = "AppsFlyer ID (install time and random number): an install-level device ID"
        return Hit(field=field, value=text, confidence=0.8, reason=reason)
    adjust_adid = normalized(field.key) == "adid" and _ADJUST_ADID.fullmatch(text)
    if _DEVICE_KINDS.isdisjoint(found) and not adjust_adid:
        return None
    if is_placeholder(text) or _ID_SHAPE.fullmatch(text) is None or text.isalpha():
        return None
    if field.path.startswith("url/path:") and not any(c.isdigit() for c in text):
        return None  # a REST path segment naming a resource, not an ID
    if "imei" in found and _FIFTEEN_DIGITS.fullmatch(text):
        return None  # the imei detector judges those, with the Luhn check
    if "mac" in found and mac_address(text) is not None:
        return None  # device_mac judges MACs: a device's own, or an access point's in a scan
    if "android_id" in found and _ANDROID_ID.fullmatch(text):
        reason = f"Android ID (hex) under key '{field.key}'"
    elif "meid" in found and _MEID.fullmatch(text):
        reason = f"MEID under key '{field.key}'"
    elif hex_digest(text) and not is_uuid(text):
        digest = hex_digest(text)
        reason = f"{len(text)}-hex-digit ID (or {digest} digest) under device-ID key '{field.key}'"
    elif text.isdigit() and len(text) < 8:
        return None  # a small number: a counter or a type code, not an identifier
    else:
        reason = f"Opaque identifier under device-ID key '{field.key}'"
    return Hit(field=field, value=text, confidence=0.8, reason=reason)


@group_detector(
    Category.IDENTIFIERS_DEVICE,
    examples=(
        '{"mac": "a4:5e:60:c2:1f:0b"}',
        "wifi_mac=A45E60C21F0B",
        '{"mc": "a4-5e-60-c2-1f-0b"}',
    ),
    counterexamples=(
        '{"mac": "02:00:00:00:00:00"}',
        '{"hmac": "a45e60c21f0b"}',
        '{"bssid": "a4:5e:60:c2:1f:0b"}',
        '{"mac": "123456789012"}',
        '{"wifiList": [{"mac": "a4:5e:60:c2:1f:0b", "rssi": -60}]}',
    ),
    kinds="mac",
)
def device_mac(group: Group) -> Iterator[Hit]:
    """The device's own MAC address (Wi-Fi, Bluetooth) under a MAC key; not an access
    point's (a BSSID, or a MAC in a Wi-Fi scan, is network.wifi), not Android's
    02:00:00:00:00:00 placeholder."""
    context: bool | None = None
    for field in group.fields:
        found = kinds(field.key)
        if "mac" not in found or "bssid" in found or mac_address(field.text) is None:
            continue
        if context is None:
            context = wifi_context(group)
        if not context:
            reason = f"MAC address under key '{field.key}'"
            yield Hit(field=field, value=field.text.strip(), confidence=0.85, reason=reason)

"""The networks around the device: its IP address, the Wi-Fi it sees (SSID, BSSID) and the
cell towers it hears. Access points and cell IDs are in public databases with positions,
so they locate the person as well as GPS does."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, detector, group_detector
from borderflow.analysis.detectors.keys import has_kind, kinds, normalized
from borderflow.analysis.detectors.values import MAC, is_placeholder, mac_address
from borderflow.analysis.records import Category

_IP_CANDIDATE: Final = re.compile(r"[0-9a-fA-F:.]{2,45}")


def personal_ip(text: str) -> str | None:
    """An IPv4 or IPv6 address other than loopback, unspecified, multicast or link-local."""
    value = text.strip().strip("[]")
    if _IP_CANDIDATE.fullmatch(value) is None:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return None
    if address.is_link_local:
        return None
    return str(address)


@detector(
    Category.NETWORK_IP,
    examples=(
        '{"client_ip": "203.0.113.7"}',
        "ip=198.51.100.23",
        '{"spbill_create_ip": "14.23.150.211"}',
        '{"local_ip": "192.168.1.23"}',
    ),
    counterexamples=(
        '{"server_ip": "203.0.113.7"}',
        '{"ip": "127.0.0.1"}',
        '{"version": "1.2.3.4"}',
        '{"ip": "0.0.0.0"}',
        '{"zip": "10115"}',
    ),
    kinds="ip",
)
def ip_address(field: Field) -> Iterator[Hit]:
    """An IP address under a key naming the device's or client's address (X-Forwarded-For
    lists included), not a server's."""
    if not has_kind(field.key, "ip"):
        return
    for part in field.text.split(","):
        address = personal_ip(part)
        if address is not None:
            scope = "private" if ipaddress.ip_address(address).is_private else "public"
            reason = f"{scope.capitalize()} IP address under key '{field.key}'"
            confidence = 0.85 if scope == "public" else 0.7
            yield Hit(field=field, value=address, confidence=confidence, reason=reason)


_WIFI_CONTEXT: Final = ("wifi", "wlan", "accesspoint", "scanresult", "hotspot", "bssid",
                        "router", "nearbyap", "aplist")  # fmt: skip
_SIGNAL_KEYS: Final = frozenset({"rssi", "signal", "signalstrength", "frequency", "freq", "snr",
                                 "signaltonoiseratio", "dbm"})  # fmt: skip
# Amap's hardware-location API: "mac,signal,ssid|mac,signal,ssid".
_SCAN_ENTRY: Final = re.compile(r"([0-9a-f]{2}(?::[0-9a-f]{2}){5}),(-?\d{1,3})(?:,[^|]*)?", re.I)


def wifi_context(group: Group) -> bool:
    """The group is about Wi-Fi access points: its key says so, or a member is a signal
    strength. A MAC address here is an access point's, not the device's."""
    flat = normalized(group.key)
    if any(word in flat for word in _WIFI_CONTEXT):
        return True
    return any(normalized(f.key) in _SIGNAL_KEYS for f in group.fields)


@group_detector(
    Category.NETWORK_WIFI,
    examples=(
        '{"bssid": "a4:5e:60:c2:1f:0b", "ssid": "HomeNet"}',
        '{"wifiAccessPoints": [{"macAddress": "3c:37:86:5d:75:d4", "signalStrength": -35}]}',
        "macs=3c:37:86:5d:75:d4,-35,HomeNet|30:86:2d:c4:29:d0,-57,CMCC",
        '{"wifi_name": "Starbucks_5G"}',
    ),
    counterexamples=(
        '{"ssid": "<unknown ssid>"}',
        '{"bssid": "02:00:00:00:00:00"}',
        '{"mac": "a4:5e:60:c2:1f:0b"}',
        '{"wifi": "true"}',
        '{"mac": "a4:5e:60:c2:1f:0b", "channel": "huawei"}',
    ),
    kinds="bssid ssid mac",
    pattern=r"[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}",
    needs=":",
)
def wifi_network(group: Group) -> Iterator[Hit]:
    """SSIDs and access-point MACs (BSSIDs): under their own keys, as scan strings, or as
    MACs beside signal strengths in a Wi-Fi container."""
    context = None
    for field in group.fields:
        found = kinds(field.key)
        text = field.text.strip()
        if "bssid" in found and mac_address(text):
            reason = f"Access point MAC (BSSID) under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.9, reason=reason)
        elif "ssid" in found and not is_placeholder(text) and text.strip('"'):
            reason = f"Wi-Fi network name (SSID) under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.85, reason=reason)
        elif "," in text and _SCAN_ENTRY.match(text) and mac_address(text.split(",")[0]):
            reason = f"Wi-Fi scan (MAC,signal,...) under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.9, reason=reason)
        elif mac_address(text) and (MAC.fullmatch(text) or "mac" in found):
            if context is None:
                context = wifi_context(group)
            if context:
                reason = f"MAC address of an access point in '{group.key or 'a scan'}'"
                yield Hit(field=field, value=text, confidence=0.85, reason=reason)


_CELL_AREA: Final = frozenset({"lac", "tac", "locationareacode", "trackingareacode", "lacid"})
_CELL_ID: Final = frozenset({"cid", "ci", "cellid", "eci", "nci", "cellidentity", "ecgi",
                             "basestationid", "bid", "bsid"})  # fmt: skip
# "mcc,mnc,lac,cellid[,signal]" as Amap and Baidu send base stations (bts, nearbts).
_BTS: Final = re.compile(r"(?:\d{3}),(?:\d{1,3}),(?:\d{1,8}),(?:\d{1,12})(?:,-?\d{1,3})?")
_CELL_KEYS: Final = ("bts", "cell", "基站", "jizhan", "basestation", "tower")


@group_detector(
    Category.NETWORK_CELL,
    examples=(
        '{"mcc": 460, "mnc": 1, "lac": 40977, "cid": 2205409}',
        "bts=460,01,40977,2205409,-65",
        '{"cellTowers": [{"cellId": 42, "locationAreaCode": 415, "mobileCountryCode": 310}]}',
        '{"nearbts": "460,01,40977,2205409,-65|460,01,40977,2205410,-70"}',
    ),
    counterexamples=(
        '{"mcc": 460, "mnc": 1}',
        '{"cid": "abc", "lac": ""}',
        '{"carrier": "China Mobile"}',
        '{"bts": "1,2"}',
    ),
    kinds="cell",
)
def cell_tower(group: Group) -> Iterator[Hit]:
    """A location area (LAC/TAC) beside a cell ID, or base-station strings (mcc,mnc,lac,ci)."""
    area = cell = None
    for field in group.fields:
        flat = normalized(field.key)
        if flat in _CELL_AREA and field.text.strip().lstrip("-").isdigit():
            area = area or field
        elif flat in _CELL_ID and field.text.strip().isdigit() and field.text.strip() != "0":
            cell = cell or field
        elif any(word in flat for word in _CELL_KEYS) and _BTS.match(field.text.strip()):
            reason = f"Base station (mcc,mnc,lac,cell id) under key '{field.key}'"
            yield Hit(field=field, value=field.text.strip(), confidence=0.9, reason=reason)
    if area is not None and cell is not None:
        reason = f"Cell tower: area code '{area.key}' and cell ID '{cell.key}' side by side"
        yield Hit(field=area, value=f"{area.text},{cell.text}", confidence=0.85, reason=reason)

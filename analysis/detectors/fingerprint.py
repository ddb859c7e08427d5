"""Device fingerprints: risk-control and fraud SDK tokens (Alipay APDID, Tongdun black box,
Braintree device data, Adyen client data), and groups that collect many stable, high-entropy
device attributes at once.

Model, OS version, screen size, carrier and language travel in almost every analytics
payload, and together with an IP they do narrow a device down; reporting them all as a
fingerprint would make the category meaningless. So a group counts as a fingerprint only
when it also holds attributes that analytics does not need and fingerprinting does: boot
time, exact memory and storage, battery, kernel and baseband versions, sensor lists, root
and emulator checks, build fingerprints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Group
from borderflow.analysis.detectors._api import Hit, group_detector
from borderflow.analysis.detectors.keys import kinds, normalized
from borderflow.analysis.detectors.values import is_placeholder
from borderflow.analysis.records import Category

_COMMON: Final = ("model", "brand", "manufacturer", "osversion", "osver", "sdkint", "resolution",
                  "screen", "dpi", "density", "carrier", "operator", "timezone", "language",
                  "locale", "cpu", "abi", "arch", "network", "useragent", "devicetype",
                  "hardware", "board", "product", "display", "width", "height")  # fmt: skip
_RARE: Final = ("boottime", "uptime", "elapsedrealtime", "totalmemory", "totalram", "ramsize",
                "memtotal", "totalstorage", "disksize", "romsize", "totaldisk", "battery",
                "kernel", "baseband", "buildfingerprint", "fingerprint", "sensor", "root",
                "jailbreak", "emulator", "simulator", "hook", "xposed", "frida", "debug",
                "bootloader", "radioversion", "cpuinfo", "cpufreq", "serial", "fonts",
                "brightness", "volume", "buildtime", "buildid", "incremental", "btl", "adb",
                "vpn", "proxy", "charging", "usb", "macs", "installtime")  # fmt: skip
_FROM_WRAPPER: Final = re.compile(r"/(?:base64|base64url|hex|jwt)/[^/]*$")
_MIN_COMMON: Final = 3
_MIN_RARE: Final = 3


def _attribute_counts(group: Group) -> tuple[int, int]:
    common: set[str] = set()
    rare: set[str] = set()
    for field in group.fields:
        flat = normalized(field.key)
        for word in _RARE:
            if word in flat:
                rare.add(word)
                break
        else:
            for word in _COMMON:
                if word in flat:
                    common.add(word)
                    break
    return len(common), len(rare)


@group_detector(
    Category.DEVICE_FINGERPRINT,
    examples=(
        '{"apdidToken": "eY0ZKH1lR2rDCcq0ALVkn4JTvGx0AgX2QkA0jEMnEJoGZgkAAAAA"}',
        '{"device_data": "{\\"correlation_id\\": \\"3c2f0e1b8a7d4e6f9a0b1c2d3e4f5a6b\\"}"}',
        '{"model": "SM-G9910", "brand": "samsung", "os_version": "12", "boot_time": '
        '"1699990000", "total_memory": "7823451136", "battery": "87", "kernel": "5.4.61", '
        '"is_root": "0"}',
    ),
    counterexamples=(
        '{"model": "SM-G9910", "brand": "samsung", "os_version": "12", "screen": "1080x2400", '
        '"carrier": "CMCC", "language": "zh-CN", "timezone": "8"}',
        '{"cert_fingerprint": "AB:CD:EF:01:23:45:67:89"}',
        '{"fingerprint": "unknown"}',
    ),
    kinds="fingerprint fp_attr",
)
def device_fingerprint(group: Group) -> Iterator[Hit]:
    """A fraud or risk SDK's device token under its own key, or a group of device
    attributes that includes several only fingerprinting needs."""
    if (
        group.fields
        and "fingerprint" in kinds(group.key)
        and not _FROM_WRAPPER.search(group.path)  # a wrapper keeps its own field: reported there
        and not any("fingerprint" in kinds(f.key) for f in group.fields)
    ):  # a token decoded from JSON in a string, or an object of device data
        reason = f"Device data collected for fraud scoring under key '{group.key}'"
        yield Hit(field=group.fields[0], value=group.key, confidence=0.75, reason=reason)
        return
    for field in group.fields:
        text = field.text.strip()
        if "fingerprint" in kinds(field.key) and len(text) >= 16 and not is_placeholder(text):
            reason = f"Device fingerprint or risk token under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.8, reason=reason)
            return
    common, rare = _attribute_counts(group)
    if rare >= _MIN_RARE and common + rare >= _MIN_COMMON + _MIN_RARE:
        reason = (
            f"{common + rare} device attributes in one place, {rare} of them rarely needed "
            "except to fingerprint (boot time, memory, battery, root checks, ...)"
        )
        first = group.fields[0]
        yield Hit(field=first, value=f"{common + rare} attributes", confidence=0.7, reason=reason)

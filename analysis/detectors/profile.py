"""A device profile: the values a researcher planted on the test phone, read from TOML.

Known values are the precise way to find leaks (AppCensus, nogotofail): the IMEI, the
advertising ID, the phone number, the e-mail, the account, the GPS position, the Wi-Fi and
the contacts entered on the test device. ``load_profile`` reads them; ``known_search``
finds them in a message in every form apps send them. The format is documented in
``docs/profile.example.toml``::

    [device]
    imei = "490154203237518"
    advertising_id = "38400000-8cf0-11bd-b23e-10b96e40000d"

    [person]
    phone = "+86 138 1234 5678"
    email = "jane.doe@example.com"

    [location]
    latitude = 31.230416
    longitude = 121.473701

    [[contacts]]
    name = "张伟"
    phone = "13900001111"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from borderflow.analysis.errors import InputError
from borderflow.analysis.records import Category

# [section] key -> category. A key may hold one value or a list of values.
FIELDS: Final[dict[str, dict[str, Category]]] = {
    "device": {
        **dict.fromkeys(
            ("imei", "imei2", "meid", "android_id", "imsi", "iccid", "serial", "mac",
             "bluetooth_mac", "device_id", "idfv"),
            Category.IDENTIFIERS_DEVICE,
        ),
        **dict.fromkeys(
            ("advertising_id", "gaid", "idfa", "oaid"), Category.IDENTIFIERS_ADVERTISING
        ),
        "ip": Category.NETWORK_IP,
    },
    "person": {
        "phone": Category.CONTACT_PHONE,
        "email": Category.CONTACT_EMAIL,
        "name": Category.CONTACT_NAME,
        "address": Category.CONTACT_ADDRESS,
        "account_id": Category.IDENTIFIERS_USER,
        "user_id": Category.IDENTIFIERS_USER,
        "username": Category.IDENTIFIERS_USER,
        "id_number": Category.GOVERNMENT_ID,
        "card": Category.FINANCIAL_CARD,
        "iban": Category.FINANCIAL_BANK_ACCOUNT,
        "bank_account": Category.FINANCIAL_BANK_ACCOUNT,
        "password": Category.CREDENTIALS,
    },
    "wifi": {"ssid": Category.NETWORK_WIFI, "bssid": Category.NETWORK_WIFI},
    "contacts": {
        "name": Category.CONTACTS_LIST,
        "phone": Category.CONTACTS_LIST,
        "email": Category.CONTACTS_LIST,
    },
}  # fmt: skip
MIN_LENGTH: Final = 4  # UTF-8 bytes; shorter values would match everywhere


@dataclass(frozen=True, slots=True)
class KnownValue:
    """One planted value: where it came from in the profile, its category and text."""

    name: str  # e.g. "device.imei", "contacts[1].phone"
    category: Category
    value: str


@dataclass(frozen=True, slots=True)
class Position:
    """The test device's GPS position."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything planted on the test device."""

    values: tuple[KnownValue, ...]
    position: Position | None = None


def load_profile(path: Path) -> Profile:
    """Read a profile file; ``InputError`` names the file and what is wrong with it."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the profile ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return parse_profile(data)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc


def parse_profile(data: Mapping[str, object]) -> Profile:
    """A profile from parsed TOML; ``ValueError`` says which entry is wrong."""
    values: list[KnownValue] = []
    for section, content in data.items():
        if section == "location":
            continue
        if section == "contacts":
            entries = content if isinstance(content, list) else [content]
            for index, entry in enumerate(entries):
                values.extend(_section(f"contacts[{index}]", "contacts", entry))
        elif section == "values":
            values.extend(_free_values(content))
        elif section in FIELDS:
            values.extend(_section(section, section, content))
        else:
            raise ValueError(f"unknown section [{section}] (known: {', '.join(_SECTIONS)})")
    return Profile(tuple(values), _position(data.get("location")))


_SECTIONS: Final = (*FIELDS, "location", "values")


def _section(prefix: str, kind: str, content: object) -> list[KnownValue]:
    if not isinstance(content, Mapping):
        raise ValueError(f"[{prefix}] must be a table of key = value")
    found: list[KnownValue] = []
    for key, raw in content.items():
        category = FIELDS[kind].get(key)
        if category is None:
            known = ", ".join(FIELDS[kind])
            raise ValueError(f"unknown key {key!r} in [{prefix}] (known: {known})")
        for value in raw if isinstance(raw, list) else [raw]:
            found.append(_value(f"{prefix}.{key}", category, value))
    return found


def _free_values(content: object) -> list[KnownValue]:
    """``[[values]]`` entries: ``category``, ``value`` and an optional ``name``."""
    entries = content if isinstance(content, list) else [content]
    found: list[KnownValue] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "category" not in entry or "value" not in entry:
            raise ValueError(f"[[values]] entry {index} needs category and value")
        try:
            category = Category(str(entry["category"]))
        except ValueError:
            raise ValueError(
                f"[[values]] entry {index}: unknown category {entry['category']!r}"
            ) from None
        name = str(entry.get("name", f"values[{index}]"))
        found.append(_value(name, category, entry["value"]))
    return found


def _value(name: str, category: Category, value: object) -> KnownValue:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a string")
    text = str(value).strip()
    if len(text.encode()) < MIN_LENGTH:
        raise ValueError(f"{name} is too short to search for ({text!r})")
    return KnownValue(name, category, text)


def _position(content: object) -> Position | None:
    if content is None:
        return None
    if not isinstance(content, Mapping):
        raise ValueError("[location] must be a table with latitude and longitude")
    try:
        latitude = float(content["latitude"])
        longitude = float(content["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("[location] needs numeric latitude and longitude") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("[location] latitude or longitude out of range")
    return Position(latitude, longitude)

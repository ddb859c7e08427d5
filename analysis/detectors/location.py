"""Where the person is: a latitude and a longitude, as sibling fields or in one string.

A coordinate alone is just a number; only a latitude next to a longitude is a location, so
this detector looks at a whole group of sibling fields. Fewer than 3 decimals (about 100 m
and coarser) is reported as coarse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Final, Literal

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, group_detector
from borderflow.analysis.detectors.keys import has_kind, normalized, tokens
from borderflow.analysis.detectors.values import has_letters, is_placeholder
from borderflow.analysis.records import Category

type Axis = Literal["lat", "lng"]

_AXIS_WORDS: Final[dict[str, Axis]] = {
    "lat": "lat", "latitude": "lat", "纬度": "lat", "weidu": "lat", "lati": "lat",
    "lng": "lng", "lon": "lng", "long": "lng", "longitude": "lng", "经度": "lng", "jingdu": "lng",
    "longi": "lng",
}  # fmt: skip
_LOCATION_WORDS: Final = frozenset({"location", "loc", "latlng", "latlon", "lnglat", "lonlat",
                                    "coord", "coords", "coordinate", "coordinates", "gps", "geo",
                                    "position", "pos", "point", "位置", "定位", "坐标", "经纬度"})  # fmt: skip
_NUMBER: Final = re.compile(r"\s*([+-]?\d{1,10})(?:\.(\d{1,20}))?\s*")
_PAIR_TEXT: Final = re.compile(
    r"\s*([+-]?\d{1,3}\.\d{1,20})\s*[,;| ]\s*([+-]?\d{1,3}\.\d{1,20})\s*"
)
PRECISE_DECIMALS: Final = 3


def axis(key: str) -> tuple[Axis, str] | None:
    """Which coordinate a key names, and the rest of the key (to pair user_lat/user_lng)."""
    words = tokens(key)
    if len(words) > 1 and words[-1] in ("e6", "e7"):  # lat_e6: an integer scaled by 1e6
        words = words[:-1]
    if words and words[-1] in _AXIS_WORDS:
        return _AXIS_WORDS[words[-1]], "_".join(words[:-1])
    flat = normalized(key)
    for word in ("latitude", "longitude"):  # long enough to trust inside a compound
        if flat.endswith(word):
            return _AXIS_WORDS[word], flat[: -len(word)]
    for word in ("lat", "lng", "lon"):  # gpsLat, curLng: short stems only, paired by stem
        if flat.endswith(word) and 0 < len(flat) - len(word) <= 8:
            return _AXIS_WORDS[word], flat[: -len(word)]
    return None


def _number(text: str) -> tuple[Decimal, int] | None:
    """The number and its count of decimals."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    return Decimal(match.group().strip()), len(match.group(2) or "")


def coordinates(lat_text: str, lng_text: str) -> tuple[Decimal, Decimal, int] | None:
    """A checked (lat, lng, decimals); integers scaled by 1e6 or 1e7 are accepted."""
    lat, lng = _number(lat_text), _number(lng_text)
    if lat is None or lng is None:
        return None
    (lat_value, lat_decimals), (lng_value, lng_decimals) = lat, lng
    candidates = [(lat_value, lng_value, min(lat_decimals, lng_decimals))]
    if lat_decimals == lng_decimals == 0 and max(abs(lat_value), abs(lng_value)) > 180:
        candidates = [(lat_value.scaleb(-e), lng_value.scaleb(-e), e) for e in (6, 7)]
    for la, ln, decimals in candidates:
        if abs(la) <= 90 and abs(ln) <= 180 and not (la == 0 and ln == 0):
            return la, ln, decimals
    return None


def _hit(field: Field, coordinate: tuple[Decimal, Decimal, int], source: str) -> Hit:
    lat, lng, decimals = coordinate
    precise = decimals >= PRECISE_DECIMALS
    return Hit(
        field=field,
        value=f"{lat},{lng}",
        confidence=(0.9 if precise else 0.6) if decimals else 0.4,
        reason=f"{source} a valid coordinate pair with {decimals} decimals",
        category=Category.LOCATION_PRECISE if precise else Category.LOCATION_COARSE,
    )


def _sibling_pairs(group: Group) -> Iterator[tuple[Field, Field]]:
    """Latitude fields with the longitude of the same stem, or the only two there are."""
    lats: list[tuple[Field, str]] = []
    lngs: list[tuple[Field, str]] = []
    for field in group.fields:
        found = axis(field.key)
        if found is not None:
            (lats if found[0] == "lat" else lngs).append((field, found[1]))
    for lat_field, stem in lats:
        same_stem = [f for f, s in lngs if s == stem]
        if same_stem:
            yield lat_field, same_stem[0]
        elif len(lats) == len(lngs) == 1:
            yield lat_field, lngs[0][0]


def _pair_in_text(field: Field) -> tuple[Decimal, Decimal, int] | None:
    """A "48.137,11.575" string under a location key; "lng,lat" if the key or values say so."""
    if not (
        _LOCATION_WORDS.intersection(tokens(field.key))
        or normalized(field.key).endswith(
            ("location", "latlng", "latlon", "lnglat", "lonlat", "coordinate", "coordinates", "gps")
        )
    ):
        return None
    match = _PAIR_TEXT.fullmatch(field.text)
    if match is None:
        return None
    first, second = match.group(1), match.group(2)
    lng_first = "lnglat" in normalized(field.key) or "lonlat" in normalized(field.key)
    if lng_first or (abs(Decimal(first)) > 90 >= abs(Decimal(second))):
        first, second = second, first
    return coordinates(first, second)


@group_detector(
    Category.LOCATION_PRECISE,
    examples=(
        '{"loc": {"lat": 48.137154, "lng": 11.576124}}',
        "latitude=31.2304&longitude=121.4737",
        '{"user_lat": 481371540, "user_lng": 115761240}',
        '{"location": "39.990464,116.481488"}',
        '{"纬度": "31.23", "经度": "121.47"}',
    ),
    counterexamples=(
        '{"lat": 0, "lng": 0}',
        '{"lat": 95.5, "lng": 11.5}',
        '{"lat": 48.137154}',
        '{"price": "48.13", "amount": "11.57"}',
        '{"version": "1.2,3.4"}',
    ),
    kinds="geo numbered",
)
def lat_lon_pair(group: Group) -> Iterator[Hit]:
    """Sibling lat/lng fields, or one "lat,lng" string under a location key."""
    for lat_field, lng_field in _sibling_pairs(group):
        coordinate = coordinates(lat_field.text, lng_field.text)
        if coordinate is not None:
            source = f"Sibling fields '{lat_field.key}' and '{lng_field.key}' form"
            yield _hit(lat_field, coordinate, source)
    for field in group.fields:
        coordinate = _pair_in_text(field)
        if coordinate is not None:
            yield _hit(field, coordinate, f"Text under key '{field.key}' is")
    if group.fields and _is_field_number(group.fields[0].key):
        yield from _unnamed_pairs(group)


def _is_field_number(key: str) -> bool:
    """Protobuf field numbers are ASCII digits (``str.isdigit`` also accepts '¹' and '٣')."""
    return key.isascii() and key.isdecimal()


def _unnamed_pairs(group: Group) -> Iterator[Hit]:
    """Protobuf has no key names: two consecutive fields that are both fractional numbers
    with 4+ decimals, in latitude and longitude range, are taken for a coordinate pair."""
    numbered = {f.key: f for f in group.fields if "." in f.text and _is_field_number(f.key)}
    for key, first in numbered.items():
        second = numbered.get(str(int(key) + 1))
        if second is None:
            continue
        lat, lng = _number(first.text), _number(second.text)
        if lat is None or lng is None or min(lat[1], lng[1]) < 4:
            continue
        coordinate = coordinates(first.text, second.text)
        if coordinate is not None and abs(coordinate[0]) > 0.01 and abs(coordinate[1]) > 0.01:
            hit = _hit(first, coordinate, f"Unnamed fields {key} and {second.key} (protobuf) form")
            yield Hit(
                field=hit.field,
                value=hit.value,
                confidence=0.55,
                reason=hit.reason,
                category=hit.category,
            )


_ADCODE: Final = re.compile(r"\d{6}")
_IN_ADDRESS: Final = re.compile(r"address|billing|shipping|delivery|地址", re.I)
_PLACE_TEXT: Final = re.compile(r"[^\d@/\\{}<>=]{2,40}")


@group_detector(
    Category.LOCATION_COARSE,
    examples=('{"city": "杭州市"}', '{"province": "Zhejiang"}', '{"adcode": "330106"}'),
    counterexamples=(
        '{"city": ""}',
        '{"billing_address_city": "Berlin"}',
        '{"city": "0"}',
        '{"citycode": "unknown"}',
        '{"address": {"street": "6th St", "city": "San Francisco"}}',
        '{"city": "广州市", "detail_address": "天河路385号"}',
    ),
    kinds="place",
)
def place_name(group: Group) -> Iterator[Hit]:
    """A city, province or district (or a Chinese adcode) under a key naming one: where the
    person is, to a few kilometres. Parts of a postal address are contact.address instead."""
    if _IN_ADDRESS.search(group.path) or any(has_kind(f.key, "address") for f in group.fields):
        return
    for field in group.fields:
        if not has_kind(field.key, "place") or _IN_ADDRESS.search(field.key):
            continue
        text = field.text.strip()
        if is_placeholder(text):
            continue
        if _ADCODE.fullmatch(text):
            reason = f"Administrative area code under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.6, reason=reason)
        elif has_letters(text) and _PLACE_TEXT.fullmatch(text):
            reason = f"Place name under key '{field.key}'"
            yield Hit(field=field, value=text, confidence=0.6, reason=reason)

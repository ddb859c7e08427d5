"""Finding a profile's planted values in every form apps send them.

Each value is expanded once into needles: the value and its variants (separators stripped,
a phone number in E.164, national and international form, a MAC or UUID without colons or
dashes), each plain, URL-encoded, hex, base64 (whole, and the part that does not depend on
alignment, at each of the three byte offsets a value can start at inside a longer base64
blob), and each variant's MD5, SHA-1 and SHA-256 as hex and base64. Case-insensitive needles
(plain, hex) and case-sensitive ones (base64) go into two trie-shaped regular expressions,
so one scan of a field finds every needle at once. The GPS position is matched separately:
its latitude and longitude rounded or truncated to 2-6 decimals, or scaled by 1e6 or 1e7,
must both occur among a group's numbers.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final
from urllib.parse import quote, quote_plus

import phonenumbers

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.profile import KnownValue, Profile
from borderflow.analysis.records import Category

_SEPARATORS: Final = re.compile(r"[\s\-:.()/+]")
_NUMBER: Final = re.compile(r"-?\d+(?:\.\d+)?")
_MIN_NEEDLE: Final = 6  # UTF-8 bytes; shorter needles would match noise


@dataclass(frozen=True, slots=True)
class KnownHit:
    """A planted value found in a field, and the form it was found in."""

    field: Field
    value: KnownValue
    matched: str  # the text that matched, as sent
    transform: str  # e.g. "plain", "SHA-256 (hex)", "base64 (offset 1)"


type Form = tuple[KnownValue, str]  # the value, and the transform that made the needle


@dataclass(slots=True)
class _Needles:
    folded: dict[str, Form] = field(default_factory=dict)  # lower-cased needle -> form
    exact: dict[str, Form] = field(default_factory=dict)

    def add(self, text: str, value: KnownValue, transform: str, *, fold: bool) -> None:
        if len(text.encode()) >= _MIN_NEEDLE:
            if fold:
                self.folded.setdefault(text.lower(), (value, transform))
            else:
                self.exact.setdefault(text, (value, transform))


@dataclass(frozen=True, slots=True)
class Search:
    """A profile compiled for searching; build once with ``compile_profile``, share freely."""

    folded: re.Pattern[str] | None  # case-insensitive needles (plain, hex)
    exact: re.Pattern[str] | None  # case-sensitive needles (base64)
    folded_forms: dict[str, Form]
    exact_forms: dict[str, Form]
    position: tuple[KnownValue, dict[str, str], dict[str, str]] | None  # value, lat/lng forms


def variants(value: KnownValue) -> dict[str, str]:
    """The value's spellings, named: as given, separators stripped, phone forms."""
    text = value.value
    found = {"as given": text}
    stripped = _SEPARATORS.sub("", text)
    if stripped != text and len(stripped) >= _MIN_NEEDLE:
        found["separators stripped"] = stripped
    if value.category in (Category.CONTACT_PHONE, Category.CONTACTS_LIST) and any(
        c.isdigit() for c in text
    ):
        found.update(_phone_forms(text))
    return found


def _phone_forms(text: str) -> dict[str, str]:
    from borderflow.analysis.detectors.contacts import parse_phone  # a cycle otherwise

    number = parse_phone(text)
    if number is None:
        return {}
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(number)
    return {
        "E.164": e164,
        "country code without +": e164[1:],
        "national number": national,
        "international with 00": "00" + e164[1:],
    }


def _encodings(data: bytes) -> Iterator[tuple[str, str, bool]]:
    """(transform, text, case-insensitive) for one byte string."""
    yield "hex", data.hex(), True
    standard = base64.b64encode(data).decode()
    yield "base64", standard, False
    yield "base64 without padding", standard.rstrip("="), False
    yield "base64url", standard.translate(_URLSAFE).rstrip("="), False
    for offset in (0, 1, 2):
        core = _base64_core(data, offset)
        yield f"base64 inside a longer blob (offset {offset})", core, False
        yield f"base64url inside a longer blob (offset {offset})", core.translate(_URLSAFE), False


_URLSAFE: Final = str.maketrans("+/", "-_")


def _base64_core(data: bytes, offset: int) -> str:
    """The base64 characters that depend only on ``data`` when it starts ``offset`` bytes
    into a 3-byte group of a longer encoded stream."""
    encoded = base64.b64encode(bytes(offset) + data).decode()
    start = math.ceil(offset * 8 / 6)
    end = (offset + len(data)) * 8 // 6
    return encoded[start:end]


@lru_cache(maxsize=8)
def compile_profile(profile: Profile) -> Search:
    """Every needle of every value, and the position's number forms (cached: a proxy
    classifies every message with the same profile)."""
    needles = _Needles()
    for value in profile.values:
        for name, text in variants(value).items():
            label = "" if name == "as given" else f", {name}"
            raw = text.encode()
            needles.add(text, value, f"plain{label}", fold=True)
            for encoder, encoded in (("URL-encoded", quote(text, safe="")),
                                     ("form-encoded", quote_plus(text, safe=""))):  # fmt: skip
                if encoded != text:
                    needles.add(encoded, value, f"{encoder}{label}", fold=True)
            for transform, encoded, fold in _encodings(raw):
                needles.add(encoded, value, f"{transform}{label}", fold=fold)
            for digest_name in ("md5", "sha1", "sha256"):
                for case in dict.fromkeys((text, text.lower(), text.upper())):
                    digest = hashlib.new(digest_name, case.encode()).digest()
                    spelled = _digest_label(digest_name, case, text)
                    needles.add(digest.hex(), value, f"{spelled} (hex){label}", fold=True)
                    b64 = base64.b64encode(digest).decode()
                    needles.add(b64, value, f"{spelled} (base64){label}", fold=False)
                    needles.add(b64.rstrip("=").translate(_URLSAFE), value,
                                f"{spelled} (base64url){label}", fold=False)  # fmt: skip
    return Search(
        folded=_trie(needles.folded, re.IGNORECASE) if needles.folded else None,
        exact=_trie(needles.exact, 0) if needles.exact else None,
        folded_forms=needles.folded,
        exact_forms=needles.exact,
        position=_position_forms(profile),
    )


def _digest_label(name: str, case: str, text: str) -> str:
    label = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}[name]
    if case == text:
        return label
    return f"{label} of the {'lower' if case == text.lower() else 'upper'}-cased value"


def _trie(words: Iterable[str], flags: int) -> re.Pattern[str]:
    """One regular expression matching any of ``words``, shaped as a prefix tree so that
    matching costs about one step per character, however many words there are."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]  # a recursive dict
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_regex(root), flags)


def _trie_regex(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    ends = "" in node
    branches = [re.escape(char) + _trie_regex(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


def _position_forms(profile: Profile) -> tuple[KnownValue, dict[str, str], dict[str, str]] | None:
    position = profile.position
    if position is None:
        return None
    value = KnownValue(
        "location", Category.LOCATION_PRECISE, f"{position.latitude},{position.longitude}"
    )
    return value, _coordinate_forms(position.latitude), _coordinate_forms(position.longitude)


def _coordinate_forms(number: float) -> dict[str, str]:
    """Text forms of one coordinate -> how it was made."""
    forms: dict[str, str] = {}
    for decimals in range(6, 1, -1):
        rounded = f"{number:.{decimals}f}"
        truncated = f"{math.trunc(number * 10**decimals) / 10**decimals:.{decimals}f}"
        forms.setdefault(rounded, f"rounded to {decimals} decimals")
        forms.setdefault(truncated, f"truncated to {decimals} decimals")
        forms.setdefault(rounded.rstrip("0").rstrip("."), f"rounded to {decimals} decimals")
    for scale, label in ((6, "1e6"), (7, "1e7")):
        forms.setdefault(str(round(number * 10**scale)), f"scaled by {label}")
        forms.setdefault(str(math.trunc(number * 10**scale)), f"scaled by {label}")
    return forms


def known_hits(search: Search, groups: Iterable[Group]) -> Iterator[KnownHit]:
    """Every planted value in every field of ``groups``; the position once per group."""
    for group in groups:
        for item in group.fields:
            yield from _field_hits(search, item)
        if search.position is not None:
            hit = _position_hit(search.position, group)
            if hit is not None:
                yield hit


def _field_hits(search: Search, item: Field) -> Iterator[KnownHit]:
    text = item.text
    if len(text) < 2:
        return
    seen: set[str] = set()
    for pattern, forms, fold in (
        (search.folded, search.folded_forms, True),
        (search.exact, search.exact_forms, False),
    ):
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            found = forms.get(match.group().lower() if fold else match.group())
            if found is None or found[0].name in seen:
                continue
            seen.add(found[0].name)
            yield KnownHit(item, found[0], match.group(), found[1])


def _position_hit(
    position: tuple[KnownValue, dict[str, str], dict[str, str]], group: Group
) -> KnownHit | None:
    value, latitudes, longitudes = position
    for item in group.fields:
        numbers = _NUMBER.findall(item.text)
        lat = next((n for n in numbers if n in latitudes), None)
        if lat is None:
            continue
        siblings = [n for f in group.fields for n in _NUMBER.findall(f.text)]
        lng = next((n for n in siblings if n in longitudes), None)
        if lng is not None:
            how = latitudes[lat]
            return KnownHit(item, value, f"{lat},{lng}", f"GPS position {how}")
    return None

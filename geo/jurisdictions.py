"""Whose law reaches a destination, and whether it is cross-border for a given home.

Rules come from ``data/jurisdictions.toml``: groups (EU, EEA, ...), homes, adequacy decisions
with their scope, and laws with their citations. Cross-border is decided from stored facts
(located in, operator's country, operator's parent's headquarters, hosting network's parent's
headquarters), so a report can decide it again for any home without looking anything up.
The registry country is deliberately not used: an address block registered in the US says
nothing about whose law governs the company that runs it.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from borderflow.geo.errors import GeoError

REACHING_KINDS = frozenset({"access", "transfer"})

# The destination fields that name a jurisdiction, in the order they are reported, with what
# each one is. ``registered_country`` is not among them (see the module docstring).
PLACES: tuple[tuple[str, str], ...] = (
    ("country", "located in"),
    ("operator_country", "operator based in"),
    ("operator_hq_country", "operator's parent headquartered in"),
    ("host_hq_country", "hosting network's parent headquartered in"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Law:
    """A state-access or data-transfer law, with its citation."""

    id: str
    jurisdiction: str  # an ISO code, or "EU"
    name: str
    citation: str
    effect: str
    kind: str  # see data/jurisdictions.toml
    source: str
    flag: str | None = None  # why it is uncertain; None when the source is solid


@dataclass(frozen=True, slots=True, kw_only=True)
class Adequacy:
    """An adequacy decision (or UK regulation) covering a country, with what it covers."""

    code: str
    instrument: str
    scope: str
    source: str
    flag: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Home:
    """Where data is at home: the countries inside it, and whose adequacy list applies."""

    code: str  # EU, EEA, GB or an ISO country code
    name: str
    countries: frozenset[str]
    adequacy: str | None  # key into the adequacy lists, e.g. "eu", "uk"
    flags: Mapping[str, str]  # country -> why its membership is uncertain


class Rules:
    """The parsed rules file; build with ``Rules.load()`` (cached) or from a mapping in tests."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._groups = {name: g for name, g in data.get("groups", {}).items()}
        self._homes = data.get("homes", {})
        self.laws: tuple[Law, ...] = tuple(
            Law(
                id=x["id"],
                jurisdiction=x["jurisdiction"],
                name=x["name"],
                citation=x["citation"],
                effect=x["effect"],
                kind=x["kind"],
                source=x["source"],
                flag=x.get("flag"),
            )
            for x in data.get("laws", ())
        )
        self._adequacy = {
            key: {a["code"]: _adequacy(a) for a in entries}
            for key, entries in data.get("adequacy", {}).items()
        }
        self._uk_base = data.get("adequacy_uk_base")

    @staticmethod
    @functools.cache
    def load() -> Rules:
        """The rules shipped in ``geo/data/jurisdictions.toml``."""
        path = resources.files("borderflow.geo") / "data" / "jurisdictions.toml"
        try:
            return Rules(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, KeyError) as e:
            raise GeoError(f"{path}: unreadable jurisdiction rules ({e})") from e

    def home(self, name: str) -> Home:
        """The home called ``name`` ("EU", "EEA", "GB") or a single ISO country code."""
        key = name.strip().upper()
        key = "GB" if key == "UK" else key
        spec = self._homes.get(key)
        if spec is None:
            if len(key) == 2 and key.isalpha():
                return Home(code=key, name=key, countries=frozenset({key}), adequacy=None, flags={})
            raise GeoError(f"--home {name}: not EU, EEA, GB or a two-letter country code")
        groups = [self._groups[g] for g in spec.get("groups", ())]
        certain: set[str] = set(spec.get("countries", ()))
        for g in groups:
            if "flag" not in g:
                certain.update(g["members"])
        # A member only of flagged groups is inside home, with the group's flag shown beside it.
        flags = {
            m: f"{g['name']}: {g['flag']}"
            for g in groups
            if "flag" in g
            for m in g["members"]
            if m not in certain
        }
        countries = certain | set(flags)
        return Home(
            code=key,
            name=spec.get("name", key),
            countries=frozenset(countries),
            adequacy=spec.get("adequacy"),
            flags=flags,
        )

    def laws_of(self, country: str) -> tuple[Law, ...]:
        """Every law of ``country``, and of the groups it belongs to (EU law for DE)."""
        eu = country in self._groups.get("eu", {}).get("members", ())
        return tuple(
            law
            for law in self.laws
            if law.jurisdiction == country or (eu and law.jurisdiction == "EU")
        )

    def reaching(self, countries: Iterable[str]) -> tuple[Law, ...]:
        """The laws that reach data held in or by ``countries`` (kinds access and transfer)."""
        seen: dict[str, Law] = {}
        for c in countries:
            for law in self.laws_of(c):
                if law.kind in REACHING_KINDS:
                    seen.setdefault(law.id, law)
        return tuple(seen.values())

    def law(self, law_id: str) -> Law | None:
        return next((law for law in self.laws if law.id == law_id), None)

    def adequacy(self, country: str, home: Home) -> Adequacy | None:
        """The adequacy decision of ``home``'s list that covers ``country``, if any."""
        if home.adequacy is None:
            return None
        found = self._adequacy.get(home.adequacy, {}).get(country)
        if found is not None or home.adequacy != "uk" or self._uk_base is None:
            return found
        base = self._uk_base
        covered = {m for g in base.get("covers_groups", ()) for m in self._groups[g]["members"]}
        if country not in covered and country not in base.get("extra_members", ()):
            return None
        return Adequacy(
            code=country,
            instrument="Data Protection Act 2018, Schedule 21 para 5",
            scope=base.get("note", "country"),
            source=base["source"],
            flag=base.get("flag"),
        )


def _adequacy(a: Mapping[str, Any]) -> Adequacy:
    return Adequacy(
        code=a["code"],
        instrument=a["instrument"],
        scope=a["scope"],
        source=a["source"],
        flag=a.get("flag"),
    )


def outside_places(dest_fields: Mapping[str, object], home: Home) -> list[tuple[str, str]]:
    """``(what, country)`` for each jurisdiction of the destination that lies outside home."""
    out = []
    for field, what in PLACES:
        value = dest_fields.get(field)
        if isinstance(value, str) and value and value not in home.countries:
            out.append((what, value))
    return out


def is_cross_border(
    dest_fields: Mapping[str, object], home: str | Home = "EU", rules: Rules | None = None
) -> tuple[bool, tuple[Law, ...]]:
    """Whether a destination is cross-border for ``home``, and the laws that reach it.

    ``dest_fields`` is a destination row (``country``, ``operator_country``,
    ``operator_hq_country``, ``host_hq_country``; missing keys count as unknown). It is
    cross-border when any of them lies outside home; the laws are those of every such
    jurisdiction. Unknown facts cannot make it cross-border: ``False`` means "nothing known
    lies outside home", not "known to stay inside".
    """
    rules = rules or Rules.load()
    where = home if isinstance(home, Home) else rules.home(home)
    outside = outside_places(dest_fields, where)
    countries = list(dict.fromkeys(country for _, country in outside))
    return bool(outside), rules.reaching(countries)

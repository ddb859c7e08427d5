"""The record layouts of the MaxMind-format databases borderflow reads, and how to tell them apart.

Several vendors publish .mmdb files with different records: MaxMind (GeoLite2/GeoIP2) and DB-IP
nest ``country.iso_code``; IPinfo and ip-location-db use flat ``country_code``/``asn`` fields.
``database_type`` in the metadata names the vendor for most, but not what a file answers
(ip-location-db calls a DB-IP geolocation file and a registry-country file both
``country ipvAll``), so a sample record decides the layout and, for ip-location-db country
files, the file name decides between "located in" and "registered in".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Schema(enum.StrEnum):
    """How a database's records are laid out.

    - ``maxmind-country``: ``country.iso_code`` (+ ``registered_country``): GeoLite2/GeoIP2
      Country, DB-IP Lite country.
    - ``maxmind-city``: the same plus ``city.names``: GeoLite2/GeoIP2 City, DB-IP Lite city.
    - ``maxmind-asn``: ``autonomous_system_number``/``_organization``: GeoLite2-ASN, DB-IP ASN
      Lite, ip-location-db ASN, and the ASN file ``borderflow geo update`` writes.
    - ``ipinfo-lite``: flat ``country_code``, ``asn`` ("AS15169"), ``as_name``: IPinfo Lite.
    - ``ipinfo-country-asn``: flat ``country`` (a code), ``asn``, ``as_name``: IPinfo's older
      free country_asn file.
    - ``ip-location-db-country``: ``country_code`` only.
    - ``ip-location-db-city``: ``country_code`` and ``city`` (a plain string).
    """

    MAXMIND_COUNTRY = "maxmind-country"
    MAXMIND_CITY = "maxmind-city"
    MAXMIND_ASN = "maxmind-asn"
    IPINFO_LITE = "ipinfo-lite"
    IPINFO_COUNTRY_ASN = "ipinfo-country-asn"
    LOCATION_DB_COUNTRY = "ip-location-db-country"
    LOCATION_DB_CITY = "ip-location-db-city"


class Role(enum.StrEnum):
    """What a database answers: ``location`` (where the server is), ``registry`` (the country
    the address block is registered to), ``asn`` (the autonomous system announcing it)."""

    LOCATION = "location"
    REGISTRY = "registry"
    ASN = "asn"


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What the databases say about one address; ``None`` means no database knew."""

    country: str | None = None
    city: str | None = None
    registered_country: str | None = None
    asn: int | None = None
    as_org: str | None = None


def vendor(database_type: str) -> str:
    """The publisher a ``database_type`` names, for ``geo info`` and attribution."""
    t = database_type.lower()
    if t.startswith("geolite2"):
        return "MaxMind GeoLite2"
    if t.startswith("geoip2"):
        return "MaxMind GeoIP2"
    if t.startswith("dbip"):
        return "DB-IP"
    if "ipinfo" in t:
        return "IPinfo"
    if t.startswith("borderflow"):
        return "borderflow"
    if t.split(" ")[-1] in ("ipv4", "ipv6", "ipvall"):
        return "ip-location-db"
    return "unknown"


def recognise(database_type: str, sample: Mapping[str, Any] | None) -> Schema | None:
    """The layout of a database, from a sample record and else its ``database_type``."""
    t = database_type.lower()
    if "ipinfo" in t:
        flat_country = sample is not None and "country_code" not in sample
        return Schema.IPINFO_COUNTRY_ASN if flat_country else Schema.IPINFO_LITE
    if sample is not None:
        return _from_record(sample)
    maxmind_like = t.startswith(("geolite2", "geoip2", "dbip"))
    if maxmind_like and ("asn" in t or "isp" in t):
        return Schema.MAXMIND_ASN
    if maxmind_like and ("city" in t or "enterprise" in t):
        return Schema.MAXMIND_CITY
    if maxmind_like and "country" in t:
        return Schema.MAXMIND_COUNTRY
    return None


def _from_record(r: Mapping[str, Any]) -> Schema | None:
    if "autonomous_system_number" in r:
        return Schema.MAXMIND_ASN
    if isinstance(r.get("country"), Mapping) or isinstance(r.get("registered_country"), Mapping):
        return Schema.MAXMIND_CITY if isinstance(r.get("city"), Mapping) else Schema.MAXMIND_COUNTRY
    if "country_code" in r and "asn" in r:
        return Schema.IPINFO_LITE
    if isinstance(r.get("country"), str) and "asn" in r:
        return Schema.IPINFO_COUNTRY_ASN
    if "country_code" in r:
        return Schema.LOCATION_DB_CITY if "city" in r else Schema.LOCATION_DB_COUNTRY
    return None


def roles(schema: Schema, file_name: str, sample: Mapping[str, Any] | None) -> frozenset[Role]:
    """What a database of ``schema`` answers.

    An ip-location-db country file answers "registered in" when its name says it was built
    from registry data (``*whois*``, ``*asn-country*``), else "located in".
    """
    match schema:
        case Schema.MAXMIND_ASN:
            return frozenset({Role.ASN})
        case Schema.MAXMIND_COUNTRY | Schema.MAXMIND_CITY:
            has_registry = sample is None or "registered_country" in sample
            return frozenset({Role.LOCATION, Role.REGISTRY} if has_registry else {Role.LOCATION})
        case Schema.IPINFO_LITE | Schema.IPINFO_COUNTRY_ASN:
            return frozenset({Role.LOCATION, Role.ASN})
        case Schema.LOCATION_DB_COUNTRY:
            name = file_name.lower()
            registry = "whois" in name or "asn-country" in name
            return frozenset({Role.REGISTRY if registry else Role.LOCATION})
        case Schema.LOCATION_DB_CITY:
            return frozenset({Role.LOCATION})


def extract(schema: Schema, wanted: frozenset[Role], r: Mapping[str, Any]) -> Facts:
    """The facts for the ``wanted`` roles in record ``r``; malformed fields count as unknown."""
    country = city = registered = org = None
    asn: int | None = None
    match schema:
        case Schema.MAXMIND_COUNTRY | Schema.MAXMIND_CITY:
            country = _code(_get(r, "country", "iso_code"))
            registered = _code(_get(r, "registered_country", "iso_code"))
            names = _get(r, "city", "names")
            if isinstance(names, Mapping):
                city = _text(names.get("en") or next(iter(names.values()), None))
        case Schema.MAXMIND_ASN:
            asn = _asn(r.get("autonomous_system_number"))
            org = _text(r.get("autonomous_system_organization"))
        case Schema.IPINFO_LITE | Schema.IPINFO_COUNTRY_ASN:
            key = "country_code" if schema is Schema.IPINFO_LITE else "country"
            country = _code(r.get(key))
            asn = _asn(r.get("asn"))
            org = _text(r.get("as_name"))
        case Schema.LOCATION_DB_COUNTRY | Schema.LOCATION_DB_CITY:
            country = registered = _code(r.get("country_code"))
            city = _text(r.get("city"))
    location = Role.LOCATION in wanted
    return Facts(
        country=country if location else None,
        city=city if location and country else None,
        registered_country=registered if Role.REGISTRY in wanted else None,
        asn=asn if Role.ASN in wanted else None,
        as_org=org if Role.ASN in wanted and asn is not None else None,
    )


def _get(r: Mapping[str, Any], outer: str, inner: str) -> object:
    value = r.get(outer)
    return value.get(inner) if isinstance(value, Mapping) else None


def _code(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper case; anything else (e.g. "ZZ" unknown) is None."""
    if isinstance(value, str) and len(value) == 2 and value.isalpha() and value.upper() != "ZZ":
        return value.upper()
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _asn(value: object) -> int | None:
    if isinstance(value, str) and value.upper().startswith("AS"):
        value = value[2:]
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None

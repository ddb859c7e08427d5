"""Open every .mmdb file in a folder and answer "located in", "registered in" and "which AS".

Several files usually share the work (a country file, a registry file, an ASN file, or IPv4 and
IPv6 halves), so each role is asked of the files that can answer it, in priority order, until
one knows: the user's own files before the ones ``geo update`` installed (someone who copied
GeoLite2 files in wants them used), city-level files before country-level ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError

from borderflow.geo import manifest
from borderflow.geo.errors import GeoDatabaseError
from borderflow.geo.schemas import Facts, Role, Schema, extract, recognise, roles, vendor

# Licence and attribution of databases users bring themselves, by publisher.
_LICENCES: Mapping[str, tuple[str, str | None]] = {
    "MaxMind GeoLite2": (
        "GeoLite2 End User License Agreement (MaxMind)",
        "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com.",
    ),
    "MaxMind GeoIP2": ("MaxMind commercial licence", None),
    "DB-IP": ("CC BY 4.0 (DB-IP Lite)", "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0."),
    "IPinfo": (
        "CC BY-SA 4.0 (IPinfo Lite)",
        "IP address data powered by IPinfo (https://ipinfo.io), CC BY-SA 4.0.",
    ),
    "ip-location-db": ("see the ip-location-db package it came from", None),
}

NO_DATABASES_HINT = "run `borderflow geo update`, or copy GeoLite2-City.mmdb (or -Country) and GeoLite2-ASN.mmdb there"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseInfo:
    """One open database, as ``geo info`` lists it."""

    path: Path
    schema: Schema
    roles: frozenset[Role]
    vendor: str
    database_type: str
    ip_version: int
    built: dt.datetime
    licence: str | None
    attribution: str | None
    package: str | None = None  # the npm package and version, for installed defaults
    sha256: str | None = None  # as recorded at install time; None for the user's own files


@dataclass(slots=True)
class _Open:
    info: DatabaseInfo
    reader: Any  # maxminddb.Reader (C extension or pure Python)
    rank: tuple[int, int, str]


class GeoDatabases:
    """The databases in one folder; ``lookup`` merges their answers. Safe to share between
    threads for reading."""

    def __init__(self, folder: Path, opened: list[_Open]) -> None:
        self.folder = folder
        self._dbs = sorted(opened, key=lambda o: o.rank)

    @classmethod
    def open(cls, folder: Path) -> GeoDatabases:
        """Open every ``*.mmdb`` in ``folder``; a missing folder or a corrupt file is an error."""
        if not folder.is_dir():
            raise GeoDatabaseError(f"{folder}: no such folder; {NO_DATABASES_HINT}")
        installed = manifest.read(folder)
        opened = [_open(path, installed.get(path.name)) for path in sorted(folder.glob("*.mmdb"))]
        return cls(folder, opened)

    @property
    def infos(self) -> tuple[DatabaseInfo, ...]:
        """The databases, in the order they are asked."""
        return tuple(o.info for o in self._dbs)

    def answers(self, role: Role) -> bool:
        """Whether any database can answer ``role``."""
        return any(role in o.info.roles for o in self._dbs)

    def lookup(self, address: str) -> Facts:
        """What the databases know about ``address`` (an IP address in text form)."""
        country = city = registered = org = None
        asn: int | None = None
        missing = {Role.LOCATION, Role.REGISTRY, Role.ASN}
        ipv6 = ":" in address
        for db in self._dbs:
            wanted = db.info.roles & missing
            if not wanted or (ipv6 and db.info.ip_version == 4):
                continue
            try:
                record = db.reader.get(address)
            except InvalidDatabaseError as e:
                raise GeoDatabaseError(f"{db.info.path}: corrupt database ({e})") from e
            if not isinstance(record, Mapping):
                continue
            found = extract(db.info.schema, frozenset(wanted), record)
            if found.country:
                country, city = found.country, found.city
                missing.discard(Role.LOCATION)
            if found.registered_country:
                registered = found.registered_country
                missing.discard(Role.REGISTRY)
            if found.asn is not None:
                asn, org = found.asn, found.as_org
                missing.discard(Role.ASN)
            if not missing:
                break
        return Facts(country=country, city=city, registered_country=registered, asn=asn, as_org=org)

    def attributions(self) -> tuple[str, ...]:
        """The attribution lines the licences of the databases in use ask for."""
        seen: dict[str, None] = {}
        for o in self._dbs:
            if o.info.attribution:
                seen.setdefault(o.info.attribution)
        return tuple(seen)

    def close(self) -> None:
        for o in self._dbs:
            o.reader.close()
        self._dbs = []


def _open(path: Path, entry: manifest.Installed | None) -> _Open:
    try:
        reader = maxminddb.open_database(str(path))
    except (InvalidDatabaseError, ValueError, OSError) as e:
        raise GeoDatabaseError(f"{path}: not a readable MaxMind DB file ({e})") from e
    try:
        meta = reader.metadata()
        database_type = str(meta.database_type)
        sample: Mapping[str, Any] | None = None
        for _network, record in reader:
            sample = record if isinstance(record, Mapping) else None
            break
    except (InvalidDatabaseError, ValueError) as e:
        reader.close()
        raise GeoDatabaseError(f"{path}: corrupt database ({e})") from e
    schema = recognise(database_type, sample)
    if schema is None:
        reader.close()
        raise GeoDatabaseError(
            f"{path}: unknown database layout (database_type {database_type!r}); "
            "supported: GeoLite2/GeoIP2, DB-IP Lite, IPinfo Lite, ip-location-db"
        )
    who = vendor(database_type)
    licence, attribution = _LICENCES.get(who, (None, None))
    if entry is not None:
        licence, attribution = entry.licence, entry.attribution
    role_set = roles(schema, path.name, sample)
    if entry is not None and entry.role in Role:
        role_set = frozenset({Role(entry.role)})
    info = DatabaseInfo(
        path=path,
        schema=schema,
        roles=role_set,
        vendor=who if entry is None else entry.package,
        database_type=database_type,
        ip_version=int(meta.ip_version),
        built=dt.datetime.fromtimestamp(int(meta.build_epoch), dt.UTC),
        licence=licence,
        attribution=attribution,
        package=None if entry is None else f"{entry.package}@{entry.version}",
        sha256=None if entry is None else entry.sha256,
    )
    city_level = schema in (Schema.MAXMIND_CITY, Schema.LOCATION_DB_CITY)
    rank = (0 if entry is None else 1, 0 if city_level else 1, path.name)
    return _Open(info=info, reader=reader, rank=rank)

"""Convert ip-location-db's ASN ranges (CSV) into an ASN .mmdb with GeoLite2-ASN's record layout.

Input rows are ``first,last,asn,organisation`` with addresses as integers (the ``-num.csv``
files), IPv4 and IPv6 in separate files. The output answers like GeoLite2-ASN
(``autonomous_system_number``, ``autonomous_system_organization``), so one reader serves both.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from borderflow.geo.errors import GeoUpdateError
from borderflow.geo.mmdb_build import MmdbBuildError, Value, build_mmdb

DATABASE_TYPE = "borderflow-ASN (ip-location-db asn)"
_IPV4_END = 1 << 32


def convert(sources: Iterable[tuple[str, TextIO]], out: Path) -> int:
    """Write ``out`` from ``(name, text stream)`` CSV sources; returns the number of ranges."""
    ranges: list[tuple[int, int, int]] = []
    values: list[dict[str, Value]] = []
    index: dict[tuple[int, str], int] = {}
    for name, stream in sources:
        ipv4 = "ipv4" in name
        for line, row in enumerate(csv.reader(stream), start=1):
            try:
                first, last, asn, org = int(row[0]), int(row[1]), int(row[2]), row[3]
            except (ValueError, IndexError) as e:
                raise GeoUpdateError(f"{name}:{line}: not a first,last,asn,organisation row") from e
            if asn <= 0 or (not ipv4 and first < _IPV4_END) or (ipv4 and last >= _IPV4_END):
                continue  # unrouted, or IPv6 rows inside ::/96 where IPv4 lives in the tree
            key = (asn, org)
            i = index.get(key)
            if i is None:
                i = index[key] = len(values)
                record: dict[str, Value] = {"autonomous_system_number": asn}
                if org:
                    record["autonomous_system_organization"] = org
                values.append(record)
            ranges.append((first, last, i))
    ranges.sort()
    try:
        build_mmdb(
            out,
            ranges,
            values,
            database_type=DATABASE_TYPE,
            description="Autonomous systems by address, from ip-location-db's asn package",
        )
    except MmdbBuildError as e:
        raise GeoUpdateError(f"{out}: cannot write the ASN database ({e})") from e
    return len(ranges)

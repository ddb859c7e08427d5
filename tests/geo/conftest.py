"""Small .mmdb files made by the tests themselves (mmdb-writer), one per supported layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

# Two public networks every fixture database answers for, one IPv4 and one IPv6.
V4_NET, V4_ADDR = "8.209.64.0/18", "8.209.64.1"
V6_NET, V6_ADDR = "2a01:4f8::/32", "2a01:4f8::1"

WriteMmdb = Callable[..., Path]


def write_mmdb(
    path: Path,
    database_type: str,
    networks: Sequence[tuple[str, dict[str, Any]]],
    *,
    ip_version: int = 6,
) -> Path:
    """Write ``networks`` (CIDR, record) into ``path`` with mmdb-writer."""
    writer = MMDBWriter(
        ip_version=ip_version,
        database_type=database_type,
        languages=["en"],
        description={"en": f"borderflow test database {path.name}"},
        ipv4_compatible=ip_version == 6,
    )
    for cidr, record in networks:
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def mmdb(tmp_path: Path) -> WriteMmdb:
    """``mmdb(name, database_type, networks, ip_version=6)`` writes a database in tmp_path."""

    def make(
        name: str,
        database_type: str,
        networks: Sequence[tuple[str, dict[str, Any]]],
        ip_version: int = 6,
    ) -> Path:
        return write_mmdb(tmp_path / name, database_type, networks, ip_version=ip_version)

    return make

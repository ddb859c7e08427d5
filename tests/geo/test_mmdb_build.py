"""Files from borderflow's MaxMind DB writer read back exactly, as mmdb-writer's do."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmdb_writer import MMDBWriter
from netaddr import IPRange, IPSet

from borderflow.geo.mmdb_build import MmdbBuildError, Value, build_mmdb

V4 = 1 << 32
V6 = 1 << 128


def expected(ranges: list[tuple[int, int, int]], n: int) -> int | None:
    for first, last, value in ranges:
        if first <= n <= last:
            return value
    return None


def as_ip(n: int) -> str:
    return str(ipaddress.IPv4Address(n) if n < V4 else ipaddress.IPv6Address(n))


def lookup(path: Path, n: int) -> Any:
    with maxminddb.open_database(str(path)) as r:
        return r.get(as_ip(n))


@pytest.mark.parametrize("record_size", [24, 28, 32])
def test_ranges_read_back_at_every_record_size(tmp_path: Path, record_size: int) -> None:
    rng = random.Random(record_size)
    ranges: list[tuple[int, int, int]] = []
    start = 0
    while start < V4 - 1:
        first = start + rng.randrange(0, 1 << 24)
        if first >= V4:
            break
        last = min(first + rng.randrange(0, 1 << 22), V4 - 1)
        ranges.append((first, last, len(ranges) % 7))
        start = last + 1
    ranges.append((0x2A01_04F8 << 96, (0x2A01_04F8 << 96) + (1 << 96) - 1, 3))
    values: list[dict[str, Value]] = [
        {"autonomous_system_number": i + 1, "autonomous_system_organization": f"AS {i}"}
        for i in range(7)
    ]
    path = tmp_path / "t.mmdb"
    build_mmdb(
        path, ranges, values, database_type="test", description="t", min_record_size=record_size
    )
    with maxminddb.open_database(str(path)) as r:
        meta = r.metadata()
        assert meta.record_size == record_size
        assert meta.ip_version == 6
        assert meta.database_type == "test"
        probes = [p for f, last, _ in ranges for p in (f, last, rng.randint(f, last), last + 1)]
        for n in probes[:3000]:
            want = expected(ranges, n)
            got = r.get(as_ip(n)) if n < V6 else None
            assert got == (None if want is None else values[want]), as_ip(n)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, V4 - 1), st.integers(0, 1 << 16), st.integers(0, 3)),
        max_size=30,
    ),
    st.lists(st.integers(0, V4 - 1), min_size=1, max_size=50),
)
def test_any_sorted_disjoint_ranges_read_back_like_mmdb_writer(
    tmp_path_factory: pytest.TempPathFactory, raw: list[tuple[int, int, int]], probes: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    ranges, end = [], -1
    for first, length, value in sorted(raw):
        first = max(first, end + 1)
        last = min(first + length, V4 - 1)
        if first <= last:
            ranges.append((first, last, value))
            end = last
    values: list[dict[str, Value]] = [{"n": i, "s": "x" * i} for i in range(4)]
    ours = tmp / "ours.mmdb"
    build_mmdb(ours, ranges, values, database_type="t", description="t")
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="t")
    for first, last, value in ranges:
        writer.insert_network(IPSet(IPRange(as_ip(first), as_ip(last))), values[value])
    theirs = tmp / "theirs.mmdb"
    writer.to_db_file(str(theirs))
    probes += [p for f, last, _ in ranges for p in (f, last)]
    with maxminddb.open_database(str(ours)) as a, maxminddb.open_database(str(theirs)) as b:
        for n in probes:
            assert a.get(as_ip(n)) == b.get(as_ip(n))


def test_values_of_every_type_read_back(tmp_path: Path) -> None:
    value: dict[str, Value] = {
        "s": "Zhejiang 浙江",
        "long": "y" * 70000,
        "u16": 65535,
        "u32": 1 << 31,
        "u64": 1 << 40,
        "neg": -5,
        "f": 1.5,
        "t": True,
        "list": ["a", 1, {"k": "a"}],
        "nested": {"names": {"en": "a", "de": "a"}},
    }
    path = tmp_path / "t.mmdb"
    build_mmdb(
        path,
        [(0, 255, 0), (256, 511, 1)],
        [value, {"s": "Zhejiang 浙江"}],
        database_type="t",
        description="t",
    )
    assert lookup(path, 1) == value
    assert lookup(path, 300) == {"s": "Zhejiang 浙江"}


def test_overlapping_ranges_keep_the_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "t.mmdb"
    build_mmdb(
        path, [(0, 100, 0), (50, 200, 1)], [{"v": 0}, {"v": 1}], database_type="t", description="t"
    )
    assert lookup(path, 75) == {"v": 0}
    assert lookup(path, 150) == {"v": 1}


def test_unsorted_ranges_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MmdbBuildError, match="sorted"):
        build_mmdb(
            tmp_path / "t.mmdb",
            [(10, 20, 0), (0, 5, 0)],
            [{"v": 0}],
            database_type="t",
            description="t",
        )


def test_an_empty_database_answers_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.mmdb"
    build_mmdb(path, [], [], database_type="t", description="t")
    assert lookup(path, 5) is None


def test_a_range_covering_everything_answers_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "t.mmdb"
    build_mmdb(path, [(0, V6 - 1, 0)], [{"v": 0}], database_type="t", description="t")
    assert lookup(path, 5) == {"v": 0}
    assert lookup(path, V6 - 1) == {"v": 0}

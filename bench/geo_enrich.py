"""Destination enrichment throughput: full answers per second against raw .mmdb reads, same run.

Why both: a raw ``maxminddb`` read is the floor any enrichment pays; the full path adds the
special-address check, the merge of three databases, the Public Suffix List, the operator and
domain tables and the law lookup. The ratio says what the extra work costs on this machine,
where absolute numbers move from minute to minute. The cached figure is what a capture sees in
practice: apps reach the same few servers again and again.

Three figures, each the median of ``--repeats`` passes over the same addresses:

- raw: ``Reader.get`` on every database in the geo folder, per address;
- full, uncached: ``Attributor.describe(address, hostname)`` (everything a row needs);
- row, cached: ``Enricher.destination`` as the pipeline calls it, 90 % repeats.

Usage (from the repository root, after ``borderflow geo update``)::

    python bench/geo_enrich.py [--addresses 20000] [--repeats 5] [--geo-dir DIR]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import maxminddb

from borderflow.analysis.enrich import Enricher
from borderflow.geo import operators
from borderflow.geo.addresses import address_kind
from borderflow.geo.attribution import Attributor
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.paths import default_geo_dir


def sample(n: int, seed: int = 4) -> list[tuple[str, str | None]]:
    """Public addresses (80 % IPv4), a third with a hostname from the domain table."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    names = [f"api.{d}" for d in operators.by_domain()] + ["cdn.example.com", "www.example.org"]
    out: list[tuple[str, str | None]] = []
    while len(out) < n:
        if rng.random() < 0.8:
            ip: str = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        else:
            ip = str(ipaddress.IPv6Address((0x2000 << 112) | rng.getrandbits(125 - 16)))
        if address_kind(ip) != "public":
            continue
        out.append((ip, rng.choice(names) if rng.random() < 1 / 3 else None))
    return out


def rate(fn: Callable[[], None], count: int, repeats: int) -> float:
    """Median items per second over ``repeats`` runs of ``fn`` (which handles ``count`` items)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--geo-dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.geo_dir or default_geo_dir(os.environ)
    databases = GeoDatabases.open(folder) if folder.is_dir() else None
    if databases is None or not databases.infos:
        print(f"no databases in {folder}: run `borderflow geo update` first", file=sys.stderr)
        return 1
    targets = sample(args.addresses)
    addresses = [a for a, _ in targets]
    readers = [maxminddb.open_database(str(i.path)) for i in databases.infos]
    v6 = {id(r): r.metadata().ip_version == 6 for r in readers}

    def raw() -> None:
        for a in addresses:
            for r in readers:
                if ":" not in a or v6[id(r)]:
                    r.get(a)

    attributor = Attributor(databases)

    def full() -> None:
        for a, host in targets:
            attributor.describe(a, host)

    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    hot = targets[: max(1, len(targets) // 10)]
    stream = [rng.choice(hot) if rng.random() < 0.9 else t for t in targets]

    def cached() -> None:
        enricher = Enricher(folder)
        for a, host in stream:
            enricher.destination(a, first_seen=0.0, server_name=host)
        enricher.close()

    full()  # warm the tables, the PSL and the page cache before timing
    raw_rate = rate(raw, len(addresses), args.repeats)
    full_rate = rate(full, len(targets), args.repeats)
    cached_rate = rate(cached, len(stream), args.repeats)
    print(f"geo enrichment, {len(targets)} public addresses, {len(readers)} databases in {folder}")
    print(f"  raw maxminddb reads (all databases): {raw_rate:>10,.0f} addresses/s")
    print(
        f"  full enrichment, uncached:           {full_rate:>10,.0f} destinations/s"
        f"  ({full_rate / raw_rate:.2f} x raw)"
    )
    print(
        f"  destination rows, 90 % cache hits:   {cached_rate:>10,.0f} rows/s"
        f"  ({cached_rate / raw_rate:.2f} x raw)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

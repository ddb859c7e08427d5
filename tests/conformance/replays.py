"""Replay shared captures once per test session and read back what borderflow made of them.

The figures compared with the oracles are plain counts and sets, read from the database the
way a user would query it: connections per protocol, SNI values, DNS query names, HTTP
requests by version.
"""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from borderflow.analysis.errors import InputError
from borderflow.analysis.replay import replay_file

HERE = Path(__file__).resolve().parent
KNOWN_DIFFERENCES = HERE / "known_differences.toml"
EXTRA_ORACLES = HERE / "extra_oracles.toml"

# oracle_results.json key -> what borderflow's database says
METRICS = ("tcp_streams", "udp_streams", "sni", "dns_qry_names", "http1_requests", "http2_requests")


@dataclass
class Replayed:
    """One capture replayed into its own database."""

    capture: str
    db: Path
    error: str | None
    metrics: dict[str, Any] = field(default_factory=dict)

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()


def replay(shared: Path, capture: str, key_log: str | None, workdir: Path) -> Replayed:
    name = capture + (f"+{key_log}" if key_log else "")
    db = workdir / (name.replace("/", "_") + ".db")
    error = None
    try:
        replay_file(shared / capture, db, key_log=shared / key_log if key_log else None)
    except InputError as e:
        error = str(e)
    result = Replayed(capture, db, error)
    result.metrics = tshark_like_metrics(result)
    return result


def tshark_like_metrics(r: Replayed) -> dict[str, Any]:
    """The figures oracle_results.json holds, counted in borderflow's database."""
    versions = r.rows("SELECT coalesce(http_version, ''), count(*) FROM http GROUP BY 1")
    return {
        "tcp_streams": r.rows("SELECT count(*) FROM conn WHERE proto = 'tcp'")[0][0],
        "udp_streams": r.rows("SELECT count(*) FROM conn WHERE proto = 'udp'")[0][0],
        "sni": sorted(
            {s for (s,) in r.rows("SELECT server_name FROM tls WHERE server_name IS NOT NULL")}
        ),
        "dns_qry_names": sorted({q for (q,) in r.rows("SELECT query FROM dns")}),
        "http1_requests": sum(n for v, n in versions if not v.startswith("HTTP/2")),
        "http2_requests": sum(n for v, n in versions if v.startswith("HTTP/2")),
    }


def known_differences() -> dict[str, dict[str, dict[str, Any]]]:
    with KNOWN_DIFFERENCES.open("rb") as f:
        return tomllib.load(f)


def extra_oracles() -> dict[str, dict[str, Any]]:
    with EXTRA_ORACLES.open("rb") as f:
        return tomllib.load(f)


def zeek_log(path: Path) -> list[dict[str, str]]:
    """A Zeek TSV log as dicts (btest baselines keep the #fields header)."""
    fields: list[str] = []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            rows.append(dict(zip(fields, line.split("\t"), strict=False)))
    return rows

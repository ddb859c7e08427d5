"""Zeek's own logs for its test traces (zeek/Baseline), a second oracle beside tshark.

For every trace with a conn, http, ssl or dns baseline: the connections (5-tuples, Zeek's
conn_state, packets each way), the HTTP requests (method and URI, in order), the TLS server
names and versions, and the DNS query names must agree with what Zeek logged, unless
``known_differences.toml`` lists the difference under ``[zeek."<trace>"]`` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.conformance.replays import Replayed, known_differences, zeek_log
from tests.conformance.test_tshark import ORACLE
from tests.conftest import SHARED_CAPTURES

ZEEK = SHARED_CAPTURES / "zeek"
MAP_FILE = ZEEK / "baseline_map.json"
LOGS = ("conn.log", "http.log", "ssl.log", "dns.log")
KNOWN: dict[str, dict[str, Any]] = known_differences().get("zeek", {})


def _cases() -> list[tuple[str, str]]:
    if not MAP_FILE.is_file():
        return []
    cases = []
    for trace, tests in json.loads(MAP_FILE.read_text()).items():
        for test in tests:
            for baseline in test["baseline"]:
                if baseline.endswith(LOGS) and (ZEEK / "Traces" / trace).is_file():
                    cases.append((trace, baseline))
    return sorted(cases)


CASES = _cases()
_VERSIONS = {"TLSv10": "TLSv1", "TLSv11": "TLSv1.1", "TLSv12": "TLSv1.2", "TLSv13": "TLSv1.3"}


def _version(zeek: str) -> str:
    """Zeek's version names in borderflow's (OpenSSL's) spelling."""
    if zeek.startswith("unknown-") and zeek[8:].isdigit():
        return f"unknown (0x{int(zeek[8:]):04x})"
    return _VERSIONS.get(zeek, zeek)


def zeek_figures(kind: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    if kind == "conn.log":
        return {
            "connections": sorted(
                f"{r['proto']} {r['id.orig_h']}:{r['id.orig_p']} > {r['id.resp_h']}:{r['id.resp_p']} "
                f"{r['conn_state']} {r['orig_pkts']}/{r['resp_pkts']} pkts"
                for r in rows
            )
        }
    if kind == "http.log":
        return {"requests": [f"{r['method']} {r['uri']}" for r in rows if r["method"] != "-"]}
    if kind == "ssl.log":
        return {
            "server_names": sorted({r["server_name"] for r in rows if r["server_name"] != "-"}),
            "versions": sorted({_version(r["version"]) for r in rows if r["version"] != "-"}),
        }
    return {"queries": sorted({r["query"] for r in rows if r["query"] != "-"})}


def our_figures(kind: str, r: Replayed) -> dict[str, Any]:
    if kind == "conn.log":
        return {
            "connections": sorted(
                f"{p} {oh}:{op} > {rh}:{rp} {state} {opk}/{rpk} pkts"
                for p, oh, op, rh, rp, state, opk, rpk in r.rows(
                    "SELECT proto, orig_h, orig_p, resp_h, resp_p, conn_state, orig_pkts, resp_pkts FROM conn"
                )
            )
        }
    if kind == "http.log":
        rows = r.rows("SELECT method, uri FROM http ORDER BY ts, uid, trans_depth")
        # Zeek logs the URI percent-decoded, and an empty string as "(empty)".
        return {"requests": [f"{m} {unquote(u) or '(empty)'}" for m, u in rows]}
    if kind == "ssl.log":
        return {
            "server_names": sorted(
                {s for (s,) in r.rows("SELECT server_name FROM tls WHERE server_name IS NOT NULL")}
            ),
            "versions": sorted(
                {v for (v,) in r.rows("SELECT version FROM tls WHERE version IS NOT NULL")}
            ),
        }
    return {"queries": sorted({q for (q,) in r.rows("SELECT query FROM dns")})}


@pytest.mark.parametrize(("trace", "baseline"), CASES or [("(none)", "(none)")])
def test_replay_agrees_with_zeek(
    trace: str,
    baseline: str,
    shared_captures: Path,
    replayed: Callable[[str, str | None], Replayed],
) -> None:
    capture = f"zeek/Traces/{trace}"
    key_log = ORACLE.get(capture, {}).get("keylog")
    result = replayed(capture, key_log)
    kind = baseline.rsplit("/", 1)[-1]
    expected = zeek_figures(kind, zeek_log(ZEEK / baseline))
    ours = our_figures(kind, result)
    known = KNOWN.get(trace, {})
    problems = []
    for metric, value in expected.items():
        listed = known.get(metric)
        if listed is not None:
            if ours[metric] != listed["ours"]:
                problems.append(f"{metric}: listed as {listed['ours']}, now {ours[metric]}")
        elif ours[metric] != value:
            problems.append(f"{metric}: borderflow {ours[metric]}, Zeek {value}")
    assert not problems, f"{trace} ({baseline}):\n  " + "\n  ".join(problems)

"""Databases for the report tests: the demo capture through the real pipeline, and hand-made
rows for what the demo cannot show (geography, shared addresses, pinning, two captures)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from borderflow.analysis import store
from borderflow.analysis.records import (
    Capture,
    Connection,
    Destination,
    Finding,
    HttpExchange,
    NotDecryptedWhy,
    Record,
    SourceKind,
    Weird,
)
from borderflow.analysis.replay import replay_file
from tests.conftest import REPO

DEMO = REPO / "captures" / "demo.mitm"
KA, KB = "KAAAAAAAAAAAAAAAA", "KBBBBBBBBBBBBBBBB"


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BORDERFLOW_GEO_DIR", str(folder / "no-geo"))  # the same rows on any machine
        replay_file(DEMO, path, app="com.example.wallet")
    return path


@pytest.fixture
def demo_db(demo_db_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the replayed demo capture, free to change."""
    path = tmp_path / "demo.db"
    src, dst = sqlite3.connect(demo_db_template), sqlite3.connect(path)
    try:
        src.backup(dst)  # the database is in WAL mode: a file copy could miss rows
    finally:
        src.close()
        dst.close()
    return path


def capture(id: str, started: float) -> Capture:
    return Capture(
        id=id,
        source=SourceKind.LIVE,
        path=None,
        sha256=None,
        started=started,
        ended=started + 100,
        app="com.example.wallet",
        device="test",
        tool_version="test",
    )


def conn(
    uid: str,
    capture_id: str,
    ts: float,
    resp_h: str,
    server_name: str | None,
    *,
    why: NotDecryptedWhy | None = None,
    orig_bytes: int = 100,
    resp_bytes: int = 200,
) -> Connection:
    return Connection(
        uid=uid,
        capture_id=capture_id,
        ts=ts,
        duration=1.0,
        orig_h="10.0.0.2",
        orig_p=40000,
        resp_h=resp_h,
        resp_p=443,
        proto="tcp",
        service="tls" if why is None else None,
        server_name=server_name,
        app="com.example.wallet",
        decrypted=why is None,
        not_decrypted_why=why,
        orig_bytes=orig_bytes,
        resp_bytes=resp_bytes,
        community_id=None,
        resolved_by="device",
        proxy_mode=None,
    )


def dest(resp_h: str, reached_as: str, **facts: str | None) -> Destination:
    return Destination(resp_h=resp_h, reached_as=reached_as, first_seen=0.0, **facts)  # type: ignore[arg-type]


def finding(
    uid: str,
    ts: float,
    category: str,
    *,
    direction: str = "request",
    location: str | None = None,
    evidence: str = "ev",
    reason: str = "test",
) -> Finding:
    return Finding(
        uid=uid,
        trans_depth=1,
        ts=ts,
        direction=direction,  # type: ignore[arg-type]
        category=category,  # type: ignore[arg-type]
        detector="test",
        location=location or f"body/json:$.{category}",
        confidence=0.9,
        reason=reason,
        evidence=evidence,
    )


def http(uid: str, ts: float, host: str, uri: str = "/collect") -> HttpExchange:
    return HttpExchange(
        uid=uid,
        trans_depth=1,
        ts=ts,
        method="POST",
        host=host,
        uri=uri,
        http_version="HTTP/1.1",
        status_code=200,
        request_content_type="application/json",
        request_body_len=10,
        response_content_type=None,
        response_body_len=None,
        error=None,
    )


CN = {
    "country": "CN",
    "operator": "Tencent Cloud",
    "operator_country": "CN",
    "operator_parent": "Tencent Holdings",
    "operator_hq_country": "CN",
    "laws": "cn-nil-2017,cn-pipl-2021",
}
DE = {"country": "DE", "operator": "Shop GmbH", "operator_country": "DE", "laws": "eu-e-evidence"}
GB = {"country": "GB", "operator": "UK Ltd", "operator_country": "GB", "laws": "gb-ipa-2016"}
US = {
    "country": "US",
    "operator": "Amazon Web Services",
    "operator_country": "US",
    "operator_parent": "Amazon",
    "operator_hq_country": "US",
    "laws": "us-cloud-act,us-fisa-702",
}
# Located in the EU, run by a US company: cross-border for an EU home through its operator.
DE_US = {**US, "country": "DE"}


def synthetic_records() -> list[Record]:
    """Two captures of one app; KA then KB (an update that changed where data goes)."""
    records: list[Record] = [capture(KA, 1000.0), capture(KB, 2000.0)]
    # One address serving two names, operated by different companies in different places.
    records += [
        conn("C1", KA, 1001, "203.0.113.5", "track.cn.example"),
        http("C1", 1001, "track.cn.example"),
    ]
    records += [
        conn("C2", KA, 1002, "203.0.113.5", "shop.eu.example"),
        http("C2", 1002, "shop.eu.example"),
    ]
    records += [
        dest("203.0.113.5", "track.cn.example", **CN),
        dest("203.0.113.5", "shop.eu.example", **DE),
    ]
    records += [
        finding("C1", 1001.1, "location.precise", location="body/json:$.lat"),
        finding("C1", 1001.2, "location.precise", location="body/json:$.lng"),
        finding("C1", 1001.3, "contact.phone", direction="response"),  # received, not sent
        finding("C2", 1002.1, "contact.email"),
    ]
    # No destination row at all: geography unknown.
    records += [conn("C3", KA, 1003, "198.51.100.7", "mystery.example")]
    records += [finding("C3", 1003.1, "identifiers.device")]
    # Not inspected: pinned, and a capture without keys and without a name.
    records += [
        conn(
            "C4",
            KA,
            1004,
            "203.0.113.9",
            "pinned.example",
            why=NotDecryptedWhy.PINNED_TLS,
            orig_bytes=517,
            resp_bytes=0,
        ),
        dest("203.0.113.9", "pinned.example", **US),
        conn(
            "C5",
            KA,
            1005,
            "192.0.2.1",
            None,
            why=NotDecryptedWhy.NO_KEY_LOG,
            orig_bytes=1000,
            resp_bytes=2000,
        ),
        dest("192.0.2.1", "", **GB),
    ]
    records += [
        conn("C6", KA, 1006, "192.0.2.50", "uk.example"),
        dest("192.0.2.50", "uk.example", **GB),
    ]
    records += [finding("C6", 1006.1, "contact.name")]
    records += [
        conn("C7", KA, 1007, "192.0.2.60", "us-owned.example"),
        dest("192.0.2.60", "us-owned.example", **DE_US),
    ]
    records += [finding("C7", 1007.1, "identifiers.device")]
    records += [Weird(ts=1007.5, uid="C7", name="binary_body", addl=None, source="classify")]
    # Capture B.
    records += [conn("C8", KB, 2001, "203.0.113.5", "track.cn.example")]
    records += [
        finding("C8", 2001.1, "location.precise"),
        finding("C8", 2001.2, "identifiers.user"),
    ]
    records += [
        conn("C9", KB, 2002, "203.0.113.77", "newsdk.example"),
        dest("203.0.113.77", "newsdk.example", **US),
    ]
    records += [finding("C9", 2002.1, "contact.email")]
    return records


def write_db(path: Path, records: Sequence[Record]) -> Path:
    db = store.open_db(path)
    store.write(db, records)
    db.close()
    return path


@pytest.fixture
def synthetic_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "synthetic.db", synthetic_records())

"""analysis/enrich.py: destination rows filled by the pipeline, named by SNI/Host or by DNS
answers seen earlier, cached, and written even when the databases are missing or broken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from borderflow.analysis.enrich import Enricher
from borderflow.analysis.pipeline import Pipeline
from borderflow.analysis.records import (
    Capture,
    Connection,
    DnsRecord,
    Observation,
    SourceKind,
)
from borderflow.geo.jurisdictions import is_cross_border
from tests.geo.conftest import write_mmdb


@pytest.fixture
def geo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "geo"
    folder.mkdir()
    write_mmdb(
        folder / "asn.mmdb",
        "asn ipvAll",
        [
            (
                "8.209.64.0/18",
                {
                    "autonomous_system_number": 45102,
                    "autonomous_system_organization": "Alibaba (US) Technology Co., Ltd.",
                },
            )
        ],
    )
    write_mmdb(
        folder / "dbip-country.mmdb", "country ipvAll", [("8.209.64.0/18", {"country_code": "DE"})]
    )
    write_mmdb(
        folder / "geo-whois-asn-country.mmdb",
        "country ipvAll",
        [("8.209.64.0/18", {"country_code": "SG"})],
    )
    return folder


def conn(uid: str, resp_h: str, server_name: str | None, ts: float = 10.0) -> Connection:
    return Connection(
        uid=uid,
        capture_id="K1",
        ts=ts,
        duration=None,
        orig_h="10.0.0.2",
        orig_p=40000,
        resp_h=resp_h,
        resp_p=443,
        proto="tcp",
        service="tls",
        server_name=server_name,
        app=None,
        decrypted=False,
        not_decrypted_why=None,
        orig_bytes=None,
        resp_bytes=None,
        community_id=None,
        resolved_by="device",
        proxy_mode=None,
    )


def test_a_destination_row_holds_the_three_answers_and_the_laws(geo_dir: Path) -> None:
    row = Enricher(geo_dir).destination("8.209.64.1", first_seen=1.0, server_name="g.alicdn.com")
    assert (row.country, row.registered_country, row.asn) == ("DE", "SG", 45102)
    assert (row.operator_parent, row.operator_hq_country, row.attributed_by) == (
        "Alibaba Group",
        "CN",
        "domain",
    )
    assert (row.server_name, row.server_name_source, row.domain) == (
        "g.alicdn.com",
        "connection",
        "alicdn.com",
    )
    assert row.laws is not None
    assert "cn-nil-2017" in row.laws.split(",")
    cross, laws = is_cross_border(vars_of(row), "EU")
    assert cross
    assert "cn-pipl-2021" in [law.id for law in laws]


def vars_of(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]


def test_a_connection_without_a_name_is_named_by_an_earlier_dns_answer(geo_dir: Path) -> None:
    e = Enricher(geo_dir)
    e.note(
        DnsRecord(
            uid="D1",
            ts=1.0,
            trans_id=1,
            query="api.qq.com",
            qtype=1,
            qtype_name="A",
            rcode=0,
            answers="cname.example,8.209.64.9",
        )
    )
    row = e.destination("8.209.64.9", first_seen=2.0)
    assert (row.server_name, row.server_name_source) == ("api.qq.com", "dns")
    assert (row.operator_parent, row.attributed_by, row.host_operator) == (
        "Tencent Holdings",
        "domain",
        "Alibaba Cloud (international regions)",
    )


def test_lookups_are_cached_per_address_and_name(
    geo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = Enricher(geo_dir)
    e.destination("8.209.64.1", first_seen=1.0)
    attributor = e._open()
    calls: list[str] = []
    real = attributor.describe

    def counting(address: str, name: str | None = None) -> object:
        calls.append(address)
        return real(address, name)

    monkeypatch.setattr(attributor, "describe", counting)
    for _ in range(5):
        e.destination("8.209.64.1", first_seen=1.0)
    e.destination("8.209.64.1", first_seen=1.0, server_name="x.qq.com")
    assert calls == ["8.209.64.1"]


def test_without_databases_rows_are_still_written_with_what_is_known(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    e = Enricher(tmp_path / "missing")
    row = e.destination("8.209.64.1", first_seen=1.0, server_name="x.umeng.com")
    assert row.country is None
    assert row.address_kind == "public"
    assert (row.operator, row.attributed_by) == ("Umeng", "domain")
    e.destination("10.0.0.1", first_seen=1.0)
    assert sum("no geolocation" in r.message for r in caplog.records) == 1


def test_a_corrupt_database_costs_geography_not_the_row(tmp_path: Path) -> None:
    (tmp_path / "GeoLite2-City.mmdb").write_bytes(b"garbage" * 100)
    row = Enricher(tmp_path).destination("8.209.64.1", first_seen=1.0)
    assert row.resp_h == "8.209.64.1"
    assert row.country is None


def test_ipv4_mapped_addresses_keep_their_spelling_so_rows_join_conn(geo_dir: Path) -> None:
    row = Enricher(geo_dir).destination("::ffff:8.209.64.1", first_seen=1.0)
    assert row.resp_h == "::ffff:8.209.64.1"
    assert row.country == "DE"


def test_the_pipeline_fills_the_destination_table(
    tmp_path: Path, geo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BORDERFLOW_GEO_DIR", str(geo_dir))
    path = tmp_path / "t.db"
    pipeline = Pipeline.open(path)
    capture = Capture(
        id="K1",
        source=SourceKind.PCAP,
        path=None,
        sha256=None,
        started=0.0,
        ended=None,
        app=None,
        device=None,
        tool_version="test",
    )
    pipeline.submit(Observation(records=(capture,)))
    pipeline.submit(
        Observation(
            records=(
                DnsRecord(
                    uid="D1",
                    ts=1.0,
                    trans_id=1,
                    query="api.qq.com",
                    qtype=1,
                    qtype_name="A",
                    rcode=0,
                    answers="8.209.64.9",
                ),
            )
        )
    )
    pipeline.submit(
        Observation(
            records=(conn("C1", "8.209.64.1", "mapi.alipayobjects.com"),),
            destinations=("8.209.64.1",),
        )
    )
    pipeline.submit(
        Observation(records=(conn("C2", "8.209.64.9", None),), destinations=("8.209.64.9",))
    )
    pipeline.submit(
        Observation(
            records=(conn("C3", "192.168.1.1", "www.google.com"),), destinations=("192.168.1.1",)
        )
    )
    pipeline.close()
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        got = {r["resp_h"]: dict(r) for r in db.execute("SELECT * FROM destination")}
    assert got["8.209.64.1"]["country"] == "DE"
    assert got["8.209.64.1"]["operator_parent"] == "Ant Group"
    assert got["8.209.64.1"]["attributed_by"] == "domain"
    assert got["8.209.64.1"]["host_hq_country"] == "CN"
    assert got["8.209.64.9"]["server_name_source"] == "dns"
    assert got["8.209.64.9"]["operator_parent"] == "Tencent Holdings"
    assert got["192.168.1.1"]["address_kind"] == "private"
    assert got["192.168.1.1"]["country"] is None
    assert got["192.168.1.1"]["operator"] is None
    assert got["192.168.1.1"]["domain"] == "google.com"


def test_a_shared_address_gets_a_row_per_name_so_each_connection_keeps_its_operator(
    tmp_path: Path, geo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BORDERFLOW_GEO_DIR", str(geo_dir))
    path = tmp_path / "t.db"
    pipeline = Pipeline.open(path)
    pipeline.submit(
        Observation(
            records=(
                Capture(
                    id="K1",
                    source=SourceKind.PCAP,
                    path=None,
                    sha256=None,
                    started=0.0,
                    ended=None,
                    app=None,
                    device=None,
                    tool_version="test",
                ),
            )
        )
    )
    for uid, name in (("C1", "mapi.alipayobjects.com"), ("C2", "api.qq.com"), ("C3", None)):
        pipeline.submit(
            Observation(records=(conn(uid, "8.209.64.1", name),), destinations=("8.209.64.1",))
        )
    pipeline.close()
    with sqlite3.connect(path) as db:
        joined = dict(
            db.execute(
                "SELECT conn.uid, destination.operator_parent FROM conn JOIN destination"
                " ON destination.resp_h = conn.resp_h"
                " AND destination.reached_as = coalesce(conn.server_name, '')"
            ).fetchall()
        )
    assert joined == {"C1": "Ant Group", "C2": "Tencent Holdings", "C3": "Alibaba Group"}

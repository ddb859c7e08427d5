"""report.build: headline, categories, cross-border, not inspected, scope and determinism."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from borderflow.analysis import report, store
from borderflow.analysis.report_model import FORMAT, Report
from borderflow.geo.jurisdictions import Rules
from tests.report.conftest import KA, KB, finding, synthetic_records, write_db


def build(path: Path, **kwargs: object) -> Report:
    db = store.open_db(path)
    try:
        kwargs.setdefault("database_name", path.name)
        return report.build(db, **kwargs)  # type: ignore[arg-type]
    finally:
        db.close()


def by_category(r: Report) -> dict[str, dict[str, object]]:
    return {c["category"]: dict(c) for c in r["categories"]}


def test_demo_headline_counts_what_the_database_holds(demo_db: Path) -> None:
    r = build(demo_db)
    with sqlite3.connect(demo_db) as conn:
        (sent,) = conn.execute(
            "SELECT count(*) FROM finding WHERE direction = 'request'"
        ).fetchone()
        (requests,) = conn.execute("SELECT count(*) FROM http").fetchone()
    h = r["headline"]
    assert r["format"] == FORMAT
    assert (h["connections"], h["decrypted"], h["not_inspected"]) == (10, 9, 1)
    assert h["destinations"] == 10
    assert h["requests"] == requests
    assert h["findings"] == sent
    assert h["categories"] == len(r["categories"])
    assert sum(c["findings"] for c in r["categories"]) == sent


def test_a_replayed_capture_is_dated_by_its_traffic_not_by_the_replay(demo_db: Path) -> None:
    with sqlite3.connect(demo_db) as conn:
        first, last = conn.execute("SELECT min(ts), max(ts) FROM conn").fetchone()
        (replayed,) = conn.execute("SELECT started FROM capture").fetchone()
    assert replayed > last  # the demo was recorded before this test replayed it
    scope = build(demo_db)["scope"]
    assert (scope["first_seen"], scope["last_seen"]) == (first, last)


def test_demo_categories_name_the_hosts_the_planted_data_went_to(demo_db: Path) -> None:
    r = build(demo_db)
    hosts = {(d["host"], c["category"]) for c in r["categories"] for d in c["destinations"]}
    assert {
        ("mobilegw.alipay.com", "location.precise"),
        ("restapi.amap.com", "location.precise"),
        ("tsis.jpush.cn", "contact.email"),
        ("api.example-pay.test", "financial.card"),
        ("push.example-pay.test", "contact.phone"),
    } <= hosts
    card = next(c for c in r["categories"] if c["category"] == "financial.card")
    assert card["store"]["google"] == ["Financial info / User payment info"]
    assert card["evidence"][0]["uri"] == "/v1/cards"
    assert card["evidence"][0]["method"] == "POST"


def test_demo_opaque_connection_is_listed_as_not_inspected(demo_db: Path) -> None:
    (row,) = build(demo_db)["not_inspected"]
    assert (row["why"], row["host"], row["connections"]) == ("not_tls", "tcp.example-pay.test", 1)
    assert row["orig_bytes"] > 0


def test_response_findings_are_not_counted_as_sent(synthetic_db: Path) -> None:
    r = build(synthetic_db)
    assert "contact.phone" not in by_category(r)
    assert r["headline"]["findings"] == 9


def test_a_shared_address_is_two_destinations_with_their_own_operator(synthetic_db: Path) -> None:
    r = build(synthetic_db, capture=KA)
    where = {
        d["host"]: d
        for c in r["categories"]
        for d in c["destinations"]
        if d["resp_h"] == "203.0.113.5"
    }
    assert where["track.cn.example"]["operator_parent"] == "Tencent Holdings"
    assert where["track.cn.example"]["cross_border"] is True
    assert where["track.cn.example"]["laws"] == ["cn-nil-2017", "cn-pipl-2021"]
    assert where["shop.eu.example"]["operator"] == "Shop GmbH"
    assert where["shop.eu.example"]["cross_border"] is False


def test_unknown_geography_is_unknown_not_inside_home(synthetic_db: Path) -> None:
    r = build(synthetic_db, capture=KA)
    (d,) = (d for c in r["categories"] for d in c["destinations"] if d["host"] == "mystery.example")
    assert (d["country"], d["operator"], d["cross_border"], d["outside"]) == (None, None, False, [])
    unknown = next(g for g in r["geography"] if g["country"] is None)
    assert unknown["cross_border"] is False
    assert unknown["findings"] == 1
    assert any(o["operator"] == "unknown" for o in r["headline"]["by_operator"])


def test_an_eu_located_server_run_from_the_us_is_cross_border_through_its_operator(
    synthetic_db: Path,
) -> None:
    r = build(synthetic_db, capture=KA)
    device = by_category(r)["identifiers.device"]
    us_owned = next(d for d in device["destinations"] if d["host"] == "us-owned.example")  # type: ignore[attr-defined]
    assert us_owned["cross_border"] is True
    assert us_owned["outside"] == [
        {"what": "operator based in", "country": "US"},
        {"what": "operator's parent headquartered in", "country": "US"},
    ]


def test_pinned_and_keyless_connections_are_not_inspected_with_their_volumes(
    synthetic_db: Path,
) -> None:
    r = build(synthetic_db)
    rows = {n["why"]: n for n in r["not_inspected"]}
    assert set(rows) == {"pinned_tls", "no_key_log"}
    assert (rows["pinned_tls"]["host"], rows["pinned_tls"]["orig_bytes"]) == ("pinned.example", 517)
    assert rows["pinned_tls"]["operator"] == "Amazon"
    assert rows["pinned_tls"]["cross_border"] is True
    assert (rows["no_key_log"]["host"], rows["no_key_log"]["resp_h"]) == (None, "192.0.2.1")
    assert rows["no_key_log"]["resp_bytes"] == 2000
    assert r["headline"]["not_inspected"] == sum(n["connections"] for n in r["not_inspected"])


def test_a_finding_counts_once_per_jurisdiction(synthetic_db: Path) -> None:
    r = build(synthetic_db)
    countries = {j["country"]: j for j in r["headline"]["by_jurisdiction"]}
    # track.cn.example: located in CN, operator CN, parent CN: 4 findings, each counted once.
    assert countries["CN"]["findings"] == 4
    assert countries["CN"]["laws"] == ["cn-nil-2017", "cn-pipl-2021"]
    assert countries["US"]["findings"] == 2  # us-owned.example (operator) and newsdk.example
    assert countries["GB"]["findings"] == 1
    assert "DE" not in countries
    assert r["headline"]["cross_border_findings"] == 7
    assert [j["country"] for j in r["headline"]["by_jurisdiction"]] == ["CN", "US", "GB"]


def test_home_gb_judges_the_same_destinations_differently(synthetic_db: Path) -> None:
    eu, gb = build(synthetic_db, home="EU"), build(synthetic_db, home="GB")
    assert gb["scope"]["home"] == "GB"
    assert {j["country"] for j in eu["headline"]["by_jurisdiction"]} == {"CN", "US", "GB"}
    assert {j["country"] for j in gb["headline"]["by_jurisdiction"]} == {"CN", "US", "DE"}
    name = by_category(gb)["contact.name"]
    assert name["cross_border"] is False  # uk.example, seen from home
    geo = {g["country"]: g["cross_border"] for g in gb["geography"]}
    assert geo["GB"] is False
    assert geo["DE"] is True


def test_operators_are_their_parent_company_with_its_headquarters(synthetic_db: Path) -> None:
    ops = {o["operator"]: o for o in build(synthetic_db)["headline"]["by_operator"]}
    assert ops["Tencent Holdings"]["hq_country"] == "CN"
    assert ops["Tencent Holdings"]["findings"] == 4
    assert ops["Amazon"]["categories"] == ["contact.email", "identifiers.device"]
    assert ops["Shop GmbH"] == {
        "operator": "Shop GmbH",
        "hq_country": "DE",
        "findings": 1,
        "categories": ["contact.email"],
        "cross_border": False,
    }


def test_every_law_mentioned_is_listed_with_its_citation(synthetic_db: Path) -> None:
    r = build(synthetic_db)
    listed = {x["id"]: x for x in r["laws"]}
    mentioned = {law for c in r["categories"] for d in c["destinations"] for law in d["laws"]}
    assert set(listed) == mentioned
    cloud = Rules.load().law("us-cloud-act")
    assert cloud is not None
    assert listed["us-cloud-act"]["citation"] == cloud.citation


def test_capture_scope_counts_only_that_capture(synthetic_db: Path) -> None:
    a, b = build(synthetic_db, capture=KA), build(synthetic_db, capture=KB)
    assert [c["id"] for c in a["scope"]["captures"]] == [KA]
    assert (a["headline"]["connections"], b["headline"]["connections"]) == (7, 2)
    assert "identifiers.user" in by_category(b)
    assert "identifiers.user" not in by_category(a)
    assert a["weird"] == [{"name": "binary_body", "count": 1}]
    assert b["weird"] == []


def test_app_scope_leaves_out_other_apps(synthetic_db: Path) -> None:
    assert build(synthetic_db, app="com.other.app")["headline"]["connections"] == 0
    assert build(synthetic_db, app="com.example.wallet")["headline"]["connections"] == 9


def test_unknown_capture_is_a_one_line_error(synthetic_db: Path) -> None:
    with pytest.raises(report.ReportError, match=r"KNOPE: no such capture in synthetic\.db"):
        build(synthetic_db, capture="KNOPE")


def test_unknown_home_is_a_one_line_error() -> None:
    with pytest.raises(report.ReportError, match="--home Narnia"):
        report.parse_home("Narnia")


def test_evidence_is_the_oldest_few_of_each_category(tmp_path: Path) -> None:
    records = synthetic_records()
    records += [finding("C1", 1500 - i, "location.precise", evidence=f"e{i}") for i in range(8)]
    r = build(write_db(tmp_path / "t.db", records))
    precise = next(c for c in r["categories"] if c["category"] == "location.precise")
    ts = [e["ts"] for e in precise["evidence"]]
    assert len(ts) == report.EVIDENCE_PER_CATEGORY
    assert ts == sorted(ts)
    assert ts[0] == 1001.1
    assert precise["evidence_total"] == precise["findings"] == 11


def test_same_rows_in_another_order_give_the_same_json(tmp_path: Path) -> None:
    records = synthetic_records()
    forward = build(write_db(tmp_path / "a.db", records), database_name="x.db")
    backward = build(write_db(tmp_path / "b.db", records[::-1]), database_name="x.db")
    assert report.to_json(forward) == report.to_json(backward)
    assert report.to_json(forward) == report.to_json(build(tmp_path / "a.db", database_name="x.db"))

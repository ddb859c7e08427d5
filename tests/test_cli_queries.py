"""The query commands (flows, findings, destinations, summary, sql, browse) against a real
database: every filter, every output format, and one-line errors for bad filters, a missing
database and a file that is not a borderflow database."""

from __future__ import annotations

import csv
import datetime
import hashlib
import importlib.util
import io
import json
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from borderflow.analysis import queries, store
from borderflow.analysis.cli import cli
from borderflow.analysis.records import (
    Capture,
    Category,
    Connection,
    Destination,
    Finding,
    HttpExchange,
    NotDecryptedWhy,
    SourceKind,
)
from borderflow.analysis.replay import replay_file
from borderflow.analysis.schema_docs import TABLES, datasette_metadata
from tests.conftest import REPO
from tests.test_cli import assert_one_line_error

DEMO = REPO / "captures" / "demo.mitm"
WALLET = "com.example.wallet"
BANK = "com.other.bank"
BANK_CAPTURE = "KOTHERBANK0000000"
OLD = 1_700_000_000.0  # 2023-11-14T22:13:20Z
QUERY_COMMANDS = ("flows", "findings", "destinations")
FILTERED_COMMANDS = (*QUERY_COMMANDS, "summary")


def dest(resp_h: str, reached_as: str, **facts: Any) -> Destination:
    return Destination(resp_h=resp_h, reached_as=reached_as, first_seen=OLD, **facts)


# What the demo's servers are said to be (replayed without geolocation databases, so that the
# rows are the same on any machine): written before the replay, whose own destination rows
# then keep these.
DEMO_DESTINATIONS = [
    dest(
        "8.209.64.17",
        "mobilegw.alipay.com",
        country="CN",
        city="Hangzhou",
        asn=37963,
        as_org="Hangzhou Alibaba Advertising Co.,Ltd.",
        operator="Alipay",
        operator_country="CN",
        operator_parent="Ant Group",
        operator_hq_country="CN",
        attributed_by="domain",
        laws="cn-nil-2017,cn-pipl-2021",
    ),
    dest(
        "106.11.248.17",
        "ulogs.umeng.com",
        country="CN",
        operator="Umeng",
        operator_country="CN",
        operator_parent="Alibaba Group",
        operator_hq_country="CN",
        attributed_by="domain",
    ),
    # Located in Germany, operated from the US: --country DE finds it, and it is cross-border.
    dest(
        "142.251.16.17",
        "firebaseinstallations.googleapis.com",
        country="DE",
        operator="Google LLC",
        operator_country="US",
        operator_parent="Alphabet Inc.",
        operator_hq_country="US",
        attributed_by="asn",
    ),
    # In France, run by a French company on a US company's cloud: cross-border for the EU.
    dest(
        "88.198.10.17",
        "api.example-pay.test",
        country="FR",
        operator="Example Pay SAS",
        operator_country="FR",
        operator_parent="Example Pay Group",
        operator_hq_country="FR",
        attributed_by="domain",
        host_operator="Amazon Web Services",
        host_hq_country="US",
    ),
    # All French: inside the EU, outside GB.
    dest(
        "88.198.10.18",
        "push.example-pay.test",
        country="FR",
        operator="Example Pay SAS",
        operator_country="FR",
        operator_parent="Example Pay Group",
        operator_hq_country="FR",
        attributed_by="domain",
        host_operator="OVH",
        host_hq_country="FR",
    ),
]


def bank_conn(uid: str, ts: float, resp_h: str, server_name: str | None, **kw: Any) -> Connection:
    values: dict[str, Any] = {
        "uid": uid,
        "capture_id": BANK_CAPTURE,
        "ts": ts,
        "duration": 1.0,
        "orig_h": "10.0.0.2",
        "orig_p": 40000,
        "resp_h": resp_h,
        "resp_p": 443,
        "proto": "tcp",
        "service": "http",
        "server_name": server_name,
        "app": BANK,
        "decrypted": True,
        "not_decrypted_why": None,
        "orig_bytes": 100,
        "resp_bytes": 1000,
        "community_id": None,
        "resolved_by": "device",
        "proxy_mode": None,
    }
    values.update(kw)
    return Connection(**values)


def exchange(uid: str, ts: float) -> HttpExchange:
    return HttpExchange(
        uid=uid,
        trans_depth=1,
        ts=ts,
        method="POST",
        host="api.other-bank.test",
        uri="/v1/profile",
        http_version="HTTP/1.1",
        status_code=200,
        request_content_type="application/json",
        request_body_len=50,
        response_content_type="application/json",
        response_body_len=10,
        error=None,
    )


def finding(uid: str, ts: float, category: Category, location: str) -> Finding:
    return Finding(
        uid=uid,
        trans_depth=1,
        ts=ts,
        direction="request",
        category=category,
        detector="test",
        location=location,
        confidence=0.9,
        reason="planted by the test",
        evidence="j***@example.com",
    )


def bank_capture(now: float) -> list[Any]:
    """A second capture, of another app: an old and a recent connection to a Dutch bank, and
    a pinned connection without a name to a US cloud."""
    recent = now - 600
    return [
        Capture(
            id=BANK_CAPTURE,
            source=SourceKind.LIVE,
            path=None,
            sha256=None,
            started=OLD,
            ended=recent + 10,
            app=BANK,
            device="pixel7",
            tool_version="test",
        ),
        bank_conn("COLDBANK000000001", OLD, "203.0.113.7", "api.other-bank.test"),
        bank_conn("CNEWBANK000000001", recent, "203.0.113.7", "api.other-bank.test"),
        bank_conn(
            "CNONAME0000000001",
            OLD + 100,
            "198.51.100.9",
            None,
            service=None,
            decrypted=False,
            not_decrypted_why=NotDecryptedWhy.PINNED_TLS,
            orig_bytes=517,
            resp_bytes=None,
        ),
        exchange("COLDBANK000000001", OLD),
        exchange("CNEWBANK000000001", recent),
        finding("COLDBANK000000001", OLD, Category.CONTACT_EMAIL, "body/json:$.email"),
        finding("CNEWBANK000000001", recent, Category.LOCATION_COARSE, "body/json:$.city"),
        dest(
            "203.0.113.7",
            "api.other-bank.test",
            country="NL",
            operator="Other Bank N.V.",
            operator_country="NL",
            operator_parent="Other Bank Group",
            operator_hq_country="NL",
            attributed_by="domain",
        ),
        dest(
            "198.51.100.9",
            "",
            country="US",
            operator="Example Cloud Inc.",
            operator_country="US",
            operator_parent="Example Cloud Inc.",
            operator_hq_country="US",
            attributed_by="asn",
        ),
    ]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo capture replayed through the real pipeline, plus another app's capture."""
    folder = tmp_path_factory.mktemp("queries")
    path = folder / "q.db"
    database = store.open_db(path)
    store.write(database, DEMO_DESTINATIONS)
    store.write(database, bank_capture(time.time()))
    database.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BORDERFLOW_GEO_DIR", str(folder / "no-geo"))  # the same rows on any machine
        replay_file(DEMO, path, app=WALLET)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def rows_of(command: str, db: Path, *args: str) -> list[dict[str, Any]]:
    result = run(command, "--db", str(db), "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def hosts(command: str, db: Path, *args: str) -> set[str | None]:
    key = "server_name" if command == "flows" else "host"
    return {r[key] for r in rows_of(command, db, *args)}


def conn_ts(db: Path, server_name: str) -> float:
    with sqlite3.connect(db) as c:
        ts: float = c.execute(
            "SELECT ts FROM conn WHERE server_name = ?", [server_name]
        ).fetchone()[0]
    return ts


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- geography in the output --------------------------------------------------------------


def test_flows_show_where_each_connection_went_and_who_runs_it(db: Path) -> None:
    rows = {r["server_name"]: r for r in rows_of("flows", db)}
    alipay = rows["mobilegw.alipay.com"]
    assert (alipay["country"], alipay["operator"], alipay["operator_parent"]) == (
        "CN",
        "Alipay",
        "Ant Group",
    )
    assert alipay["cross_border"] == 1
    assert rows["push.example-pay.test"]["cross_border"] == 0
    # Not located (no geolocation data), but operated from China by its domain: cross-border.
    assert rows["restapi.amap.com"]["country"] is None
    assert rows["restapi.amap.com"]["operator_hq_country"] == "CN"
    assert rows["restapi.amap.com"]["cross_border"] == 1
    # Neither located nor attributed to anyone: unknown, and so never cross-border.
    assert rows["tcp.example-pay.test"]["country"] is None
    assert rows["tcp.example-pay.test"]["cross_border"] == 0
    # A connection without a name joins the destination row reached as "".
    assert rows[None]["country"] == "US"


def test_findings_show_the_country_operator_and_cross_border_of_their_destination(
    db: Path,
) -> None:
    rows = rows_of("findings", db, "--host", "mobilegw.alipay.com")
    assert rows
    assert {(r["country"], r["operator"], r["cross_border"]) for r in rows} == {("CN", "Alipay", 1)}


def test_tables_for_people_show_country_operator_and_cross_border(db: Path) -> None:
    for command in QUERY_COMMANDS:
        result = run(command, "--db", str(db), "--host", "mobilegw.alipay.com")
        assert result.exit_code == 0, result.output
        assert "country" in result.output
        assert "Alipay" in result.output
        assert "yes" in result.output  # cross_border, for people


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", QUERY_COMMANDS)
def test_country_filter_keeps_servers_located_in_that_country(db: Path, command: str) -> None:
    assert hosts(command, db, "--country", "de") == {"firebaseinstallations.googleapis.com"}
    assert hosts(command, db, "--country", "NL") == {"api.other-bank.test"}


def test_country_filter_means_located_in_not_the_operators_headquarters(db: Path) -> None:
    # Google's servers here are located in DE and operated from the US: --country US leaves
    # them out and keeps the nameless server located in the US.
    assert hosts("flows", db, "--country", "US") == {None}


@pytest.mark.parametrize("command", QUERY_COMMANDS)
@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("umeng", {"ulogs.umeng.com"}),  # the operator
        ("ANT group", {"mobilegw.alipay.com"}),  # the parent company, any case
        ("amazon", {"api.example-pay.test"}),  # the hosting network
        ("Example Pay", {"api.example-pay.test", "push.example-pay.test"}),
        ("%", set()),  # LIKE wildcards are literal
    ],
)
def test_operator_filter_matches_operator_parent_or_hosting_network(
    db: Path, command: str, operator: str, expected: set[str]
) -> None:
    assert hosts(command, db, "--operator", operator) == expected


EU_CROSS_BORDER = {
    "mobilegw.alipay.com",  # located and operated in CN
    "ulogs.umeng.com",
    "firebaseinstallations.googleapis.com",  # located in DE, operator in the US
    "api.example-pay.test",  # French, on a US company's cloud
    # Not located (no geolocation data here), operated from CN, IL and CN by their domains.
    "restapi.amap.com",
    "launches.appsflyer.com",
    "tsis.jpush.cn",
    "android.bugly.qq.com",
    None,  # located in the US
}


@pytest.mark.parametrize("command", QUERY_COMMANDS)
def test_cross_border_filter_is_relative_to_home(db: Path, command: str) -> None:
    # The nameless connection was pinned: it has no findings.
    eu = EU_CROSS_BORDER - {None} if command == "findings" else EU_CROSS_BORDER
    assert hosts(command, db, "--cross-border") == eu
    assert hosts(command, db, "--cross-border", "--home", "EU") == eu
    # From Great Britain, France and the Netherlands are abroad too.
    assert hosts(command, db, "--cross-border", "--home", "gb") == eu | {
        "push.example-pay.test",
        "api.other-bank.test",
    }


def test_home_changes_the_cross_border_column(db: Path) -> None:
    def push(*args: str) -> int:
        rows = rows_of("destinations", db, "--host", "push.example-pay.test", *args)
        assert len(rows) == 1
        cross: int = rows[0]["cross_border"]
        return cross

    assert push() == 0
    assert push("--home", "GB") == 1
    assert push("--home", "FR") == 0


@pytest.mark.parametrize("command", QUERY_COMMANDS)
def test_app_filter_keeps_that_apps_connections(db: Path, command: str) -> None:
    assert hosts(command, db, "--app", BANK) <= {"api.other-bank.test", None}
    assert "mobilegw.alipay.com" in hosts(command, db, "--app", WALLET)
    assert rows_of(command, db, "--app", "com.nobody") == []


def test_app_and_capture_filters_pick_the_same_connections(db: Path) -> None:
    by_app = rows_of("flows", db, "--app", BANK)
    assert [r["uid"] for r in by_app] == [
        "COLDBANK000000001",
        "CNONAME0000000001",
        "CNEWBANK000000001",
    ]
    assert rows_of("flows", db, "--capture", BANK_CAPTURE) == by_app


def test_host_filter_matches_the_host_and_its_subdomains(db: Path) -> None:
    assert hosts("flows", db, "--host", "example-pay.test") == {
        "api.example-pay.test",
        "push.example-pay.test",
        "tcp.example-pay.test",
    }
    assert hosts("destinations", db, "--host", "198.51.100.9") == {None}


def test_category_filter_keeps_connections_and_destinations_with_such_findings(db: Path) -> None:
    every = rows_of("findings", db)
    expected = {r["host"] for r in every if r["category"].startswith("location.")}
    assert hosts("findings", db, "--category", "location") == expected
    assert hosts("destinations", db, "--category", "location") == expected
    assert hosts("flows", db, "--category", "location") == expected
    assert "restapi.amap.com" in expected


def test_since_takes_a_utc_date(db: Path) -> None:
    assert [r["uid"] for r in rows_of("flows", db, "--app", BANK, "--since", "2023-11-14")] == [
        "COLDBANK000000001",
        "CNONAME0000000001",
        "CNEWBANK000000001",
    ]
    assert [r["uid"] for r in rows_of("flows", db, "--app", BANK, "--since", "2023-11-15")] == [
        "CNEWBANK000000001"
    ]


def test_since_takes_a_time_with_an_offset(db: Path) -> None:
    # 2023-11-14T22:13:20Z is 23:13:20 in Paris (UTC+1): both mean the old connection's time.
    uids = [
        r["uid"]
        for r in rows_of("flows", db, "--app", BANK, "--since", "2023-11-14T23:13:20+01:00")
    ]
    assert uids[0] == "COLDBANK000000001"
    later = rows_of("flows", db, "--app", BANK, "--since", "2023-11-14T23:13:21+01:00")
    assert "COLDBANK000000001" not in [r["uid"] for r in later]
    # The same clock time without an offset is UTC, an hour later.
    naive = rows_of("flows", db, "--app", BANK, "--since", "2023-11-14T23:13:20")
    assert "COLDBANK000000001" not in [r["uid"] for r in naive]


def test_since_takes_an_age(db: Path) -> None:
    for age in ("30m", "2h", "7d"):
        assert [r["uid"] for r in rows_of("flows", db, "--app", BANK, "--since", age)] == [
            "CNEWBANK000000001"
        ], age
    assert len(rows_of("flows", db, "--app", BANK, "--since", "1000w")) == 3


def test_since_on_findings_counts_from_when_the_finding_was_seen(db: Path) -> None:
    middle = conn_ts(db, "restapi.amap.com")
    since = datetime.datetime.fromtimestamp(middle, datetime.UTC).isoformat()
    found = rows_of("findings", db, "--app", WALLET, "--since", since)
    assert found
    assert all(r["ts"] >= middle for r in found)
    assert len(found) < len(rows_of("findings", db, "--app", WALLET))


def test_filters_combine(db: Path) -> None:
    rows = rows_of(
        "flows", db, "--app", BANK, "--country", "NL", "--operator", "bank", "--since", "1d"
    )
    assert [r["uid"] for r in rows] == ["CNEWBANK000000001"]
    assert rows_of("flows", db, "--app", BANK, "--country", "CN") == []


def test_limit_caps_the_rows(db: Path) -> None:
    for command in QUERY_COMMANDS:
        assert len(rows_of(command, db, "--limit", "2")) == 2


# --- destinations -----------------------------------------------------------------------------


def test_destinations_give_one_row_per_address_and_name_with_its_traffic(db: Path) -> None:
    rows = rows_of("destinations", db)
    keys = [(r["resp_h"], r["host"]) for r in rows]
    assert len(keys) == len(set(keys)) == 12  # the demo's 10 names on loopback, and 2 more
    bank = next(r for r in rows if r["host"] == "api.other-bank.test")
    assert (bank["connections"], bank["findings"]) == (2, 2)
    assert (bank["orig_bytes"], bank["resp_bytes"]) == (200, 2000)
    assert bank["first_seen"] == OLD
    assert bank["last_seen"] > OLD
    alipay = next(r for r in rows if r["host"] == "mobilegw.alipay.com")
    assert alipay["laws"] == "cn-nil-2017,cn-pipl-2021"
    assert (alipay["city"], alipay["asn"], alipay["attributed_by"]) == ("Hangzhou", 37963, "domain")
    assert list(alipay) == [
        "host",
        "resp_h",
        "country",
        "city",
        "asn",
        "as_org",
        "operator",
        "operator_parent",
        "operator_hq_country",
        "attributed_by",
        "cross_border",
        "laws",
        "connections",
        "findings",
        "orig_bytes",
        "resp_bytes",
        "first_seen",
        "last_seen",
    ]


def test_destinations_are_sorted_by_findings_then_connections_then_name(db: Path) -> None:
    rows = rows_of("destinations", db)
    order = [(-r["findings"], -r["connections"], r["host"] or "", r["resp_h"]) for r in rows]
    assert order == sorted(order)
    assert rows_of("destinations", db) == rows


def test_destinations_with_a_category_count_only_its_findings(db: Path) -> None:
    rows = rows_of("destinations", db, "--category", "contact.email")
    assert all(r["findings"] >= 1 for r in rows)
    bank = next(r for r in rows if r["host"] == "api.other-bank.test")
    assert (bank["connections"], bank["findings"]) == (1, 1)
    emails = rows_of("findings", db, "--category", "contact.email")
    assert sum(r["findings"] for r in rows) == len(emails)


# --- summary ----------------------------------------------------------------------------------


@pytest.mark.parametrize("home", ["EU", "GB", "CN"])
def test_summary_counts_per_category_what_went_outside_home(db: Path, home: str) -> None:
    result = run("summary", "--db", str(db), "--json", "--home", home)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["home"] == home
    crossing = rows_of("findings", db, "--cross-border", "--home", home)
    expected: dict[str, int] = {}
    for f in crossing:
        if f["direction"] == "request":
            expected[f["category"]] = expected.get(f["category"], 0) + 1
    got = {c["category"]: c["cross_border"] for c in summary["categories"] if c["cross_border"]}
    assert got == expected
    assert got  # the demo sends something abroad from every one of these homes
    table = run("summary", "--db", str(db), "--home", home)
    assert f"outside {home}" in table.output


def test_summary_applies_the_filters(db: Path) -> None:
    def summary(*args: str) -> dict[str, Any]:
        result = run("summary", "--db", str(db), "--json", *args)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    everything = summary()
    assert everything["connections"] == 13
    bank = summary("--app", BANK)
    assert (bank["connections"], bank["requests"], bank["decrypted"]) == (3, 2, 2)
    assert bank["not_decrypted"] == [{"why": "pinned_tls", "connections": 1}]
    assert summary("--capture", BANK_CAPTURE)["captures"][0]["id"] == BANK_CAPTURE
    assert len(summary("--capture", BANK_CAPTURE)["captures"]) == 1
    recent = summary("--app", BANK, "--since", "1h")
    assert recent["connections"] == 1
    assert [c["category"] for c in recent["categories"]] == ["location.coarse"]
    cn = summary("--country", "CN")
    assert cn["connections"] == 2
    assert {c["hosts"] for c in cn["categories"]} <= {
        "mobilegw.alipay.com",
        "ulogs.umeng.com",
        "mobilegw.alipay.com,ulogs.umeng.com",
    }
    assert summary("--cross-border")["connections"] == 9
    assert summary("--operator", "amazon")["destinations"] == 1


def test_summary_for_people_takes_the_filters_too(db: Path) -> None:
    result = run("summary", "--db", str(db), "--country", "NL")
    assert result.exit_code == 0, result.output
    assert "2 connections" in result.output


# --- output formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", QUERY_COMMANDS)
def test_json_nl_and_csv_give_the_same_rows(db: Path, command: str) -> None:
    as_json = rows_of(command, db)
    nl = run(command, "--db", str(db), "--nl").output.splitlines()
    assert [json.loads(line) for line in nl] == as_json
    as_csv = list(csv.DictReader(io.StringIO(run(command, "--db", str(db), "--csv").output)))
    assert len(as_csv) == len(as_json)
    assert list(as_csv[0]) == list(as_json[0])
    assert as_csv[0] == {k: "" if v is None else str(v) for k, v in as_json[0].items()}


@pytest.mark.parametrize("command", QUERY_COMMANDS)
def test_a_table_is_the_default_and_says_when_nothing_matched(db: Path, command: str) -> None:
    result = run(command, "--db", str(db), "--host", "api.other-bank.test")
    assert result.exit_code == 0, result.output
    title = {"flows": "2 connections", "findings": "2 findings", "destinations": "1 destinations"}
    assert result.output.startswith(title[command])
    assert "NL" in result.output
    empty = run(command, "--db", str(db), "--app", "com.nobody")
    assert empty.exit_code == 0
    assert empty.output.startswith("no ")


# --- one-line errors --------------------------------------------------------------------------


BAD_FILTERS = [
    (("--since", "xyz"), "--since 'xyz'"),
    (("--since", "2026-13-45"), "--since '2026-13-45'"),
    (("--since", "7 days"), "--since '7 days'"),
    (("--country", "DEU"), "--country 'DEU'"),
    (("--country", "1"), "--country '1'"),
    (("--home", "Mars"), "--home 'Mars'"),
]


@pytest.mark.parametrize("command", FILTERED_COMMANDS)
@pytest.mark.parametrize(("args", "needle"), BAD_FILTERS)
def test_a_bad_filter_is_a_one_line_error(
    db: Path, command: str, args: tuple[str, str], needle: str
) -> None:
    assert_one_line_error(run(command, "--db", str(db), *args), needle)


@pytest.mark.parametrize(
    "args", [(c,) for c in FILTERED_COMMANDS] + [("sql", "SELECT 1"), ("browse",)]
)
def test_a_missing_database_is_a_one_line_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "missing.db"
    assert_one_line_error(run(*args, "--db", str(missing)), str(missing), "no such database")
    assert not missing.exists(), "a query must not create the database"


@pytest.mark.parametrize(
    "args", [(c,) for c in FILTERED_COMMANDS] + [("sql", "SELECT 1"), ("browse",)]
)
@pytest.mark.parametrize("kind", ["garbage", "other sqlite"])
def test_a_file_that_is_not_a_borderflow_database_is_a_one_line_error(
    tmp_path: Path, args: tuple[str, ...], kind: str
) -> None:
    path = tmp_path / "x.db"
    if kind == "garbage":
        path.write_bytes(b"not a database " * 500)
    else:
        with sqlite3.connect(path) as c:
            c.execute("CREATE TABLE notes (text)")
    before = file_digest(path)
    assert_one_line_error(run(*args, "--db", str(path)), str(path), "not a borderflow database")
    assert file_digest(path) == before


# --- sql --------------------------------------------------------------------------------------


def test_sql_prints_the_rows_of_a_select_with_named_parameters(db: Path) -> None:
    result = run(
        "sql",
        "SELECT server_name, app FROM conn WHERE app = :app AND ts > :after ORDER BY ts",
        "--db",
        str(db),
        "-p",
        "app",
        BANK,
        "--param",
        "after",
        str(OLD + 1),
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"server_name": None, "app": BANK},
        {"server_name": "api.other-bank.test", "app": BANK},
    ]


def test_sql_output_formats(db: Path) -> None:
    statement = "SELECT category, count(*) AS n FROM finding GROUP BY category ORDER BY category"
    as_json = json.loads(run("sql", statement, "--db", str(db), "--json").output)
    nl = [json.loads(x) for x in run("sql", statement, "--db", str(db), "--nl").output.splitlines()]
    as_csv = list(
        csv.DictReader(io.StringIO(run("sql", statement, "--db", str(db), "--csv").output))
    )
    assert nl == as_json
    assert [(r["category"], int(r["n"])) for r in as_csv] == [
        (r["category"], r["n"]) for r in as_json
    ]
    table = run("sql", statement, "--db", str(db))
    assert table.exit_code == 0
    assert "contact.email" in table.output


def test_sql_csv_of_no_rows_still_has_its_header(db: Path) -> None:
    result = run("sql", "SELECT uid, ts FROM conn WHERE 0", "--db", str(db), "--csv")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "uid,ts"


def test_sql_prints_binary_values_as_base64_in_json(db: Path) -> None:
    result = run("sql", "SELECT x'00ff' AS b", "--db", str(db), "--json")
    assert json.loads(result.output) == [{"b": {"$base64": True, "encoded": "AP8="}}]


@pytest.mark.parametrize(
    "statement",
    [
        "PRAGMA table_info(conn)",
        "SELECT name FROM pragma_table_info('conn')",
        "PRAGMA journal_mode",
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) SELECT x FROM n",
    ],
)
def test_sql_allows_reading_pragmas_and_recursive_queries(db: Path, statement: str) -> None:
    result = run("sql", statement, "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ("INSERT INTO weird (ts, name, source) VALUES (1, 'x', 'y')", "INSERT INTO weird"),
        ("UPDATE conn SET app = 'x'", "UPDATE conn"),
        ("DELETE FROM finding", "DELETE FROM finding"),
        ("DROP TABLE conn", "DROP TABLE conn"),
        ("CREATE TABLE t (a)", "CREATE TABLE t"),
        ("CREATE TEMP TABLE t (a)", "CREATE TEMP TABLE t"),
        ("CREATE INDEX i ON conn (ts)", "CREATE INDEX i"),
        ("ALTER TABLE conn ADD COLUMN x", "ALTER TABLE conn"),
        ("ATTACH DATABASE 'other.db' AS other", "ATTACH other.db"),
        ("PRAGMA writable_schema = ON", "PRAGMA writable_schema = ON"),
        ("PRAGMA query_only = OFF", "PRAGMA query_only = OFF"),
        ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode = DELETE"),
        ("PRAGMA user_version = 7", "PRAGMA user_version = 7"),
        ("UPDATE sqlite_master SET sql = ''", "sqlite_master"),
        ("VACUUM", "VACUUM"),
        ("ANALYZE", "sqlite_stat1"),
        ("BEGIN", "TRANSACTION"),
    ],
)
def test_sql_refuses_to_change_the_database_in_one_line(
    db: Path, statement: str, needle: str
) -> None:
    before = file_digest(db)
    result = CliRunner().invoke(cli, ["sql", statement, "--db", str(db)])
    assert_one_line_error(result, "borderflow sql is read-only", needle)
    assert file_digest(db) == before
    assert not (Path.cwd() / "other.db").exists()


def test_sql_with_a_syntax_error_or_two_statements_is_a_one_line_error(db: Path) -> None:
    assert_one_line_error(run("sql", "SELEC 1", "--db", str(db)), "syntax error")
    assert_one_line_error(run("sql", "SELECT 1; SELECT 2", "--db", str(db)), "one statement")


def test_read_only_sql_leaves_the_connection_without_its_guard(db: Path) -> None:
    database = store.open_db(db, readonly=True)
    with pytest.raises(queries.ReadOnlyError):
        queries.read_only_sql(database, "DELETE FROM conn")
    assert queries.read_only_sql(database, "SELECT count(*) AS n FROM conn")[1] == [{"n": 13}]


# --- browse -----------------------------------------------------------------------------------


def test_the_datasette_metadata_describes_every_table_and_column_of_the_schema(
    tmp_path: Path,
) -> None:
    database = store.open_db(tmp_path / "fresh.db")
    schema = {t: list(database[t].columns_dict) for t in database.table_names()}
    described = {t: list(columns) for t, (_, columns) in TABLES.items()}
    assert {t: sorted(c) for t, c in described.items()} == {t: sorted(c) for t, c in schema.items()}
    assert all(text.strip() for _, columns in TABLES.values() for text in columns.values())
    metadata = datasette_metadata("fresh")
    tables = metadata["databases"]["fresh"]["tables"]
    assert set(tables) == set(schema)
    assert all(set(tables[t]["columns"]) == set(schema[t]) for t in schema)


def test_browse_without_datasette_says_how_to_install_it(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasette", None)  # import datasette raises ImportError
    monkeypatch.setitem(sys.modules, "datasette.cli", None)
    assert_one_line_error(run("browse", "--db", str(db)), "pip install 'borderflow[browse]'")


@pytest.fixture
def browsed(db: Path) -> Iterator[str]:
    """``borderflow browse`` running on 127.0.0.1 with a port of its choosing; its URL."""
    if importlib.util.find_spec("datasette") is None:
        pytest.skip("Datasette is not installed (pip install 'borderflow[browse]')")
    code = "from borderflow.analysis.cli import cli; cli()"
    args = [sys.executable, "-c", code, "browse", "--db", str(db), "--port", "0"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout
    assert output is not None

    def read() -> None:
        for line in output:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1)
                return
        pytest.fail("browse did not start: " + "".join(seen))
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
        output.close()


def test_browse_serves_the_database_with_every_column_described(db: Path, browsed: str) -> None:
    import httpx

    with httpx.Client(trust_env=False, timeout=30) as client:  # loopback only, no proxy
        metadata = client.get(f"{browsed}/-/metadata.json").json()
        conn_columns = metadata["databases"][db.stem]["tables"]["conn"]["columns"]
        assert conn_columns["not_decrypted_why"].startswith("Why the payload")
        rows = client.get(
            f"{browsed}/{db.stem}/destination.json",
            params={"_shape": "array", "country": "NL"},
        ).json()
        assert [r["operator"] for r in rows] == ["Other Bank N.V."]
        page = client.get(f"{browsed}/{db.stem}/destination")
        assert page.status_code == 200
        assert "who registered and operates it" in page.text

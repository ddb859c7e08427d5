"""Each hook through which a connection can end leaves its rows (mitmproxy's test flows)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import tls
from mitmproxy.proxy.context import Context
from mitmproxy.test import taddons, tflow

from borderflow.addons.recorder import Recorder


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[tuple[Recorder, taddons.context, Path]]:
    recorder = Recorder()
    db = tmp_path / "t.db"
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, borderflow_db=str(db), borderflow_app="com.example.wallet")
        yield recorder, tctx, db
        recorder.done()


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


def finish(recorder: Recorder, *clients: Any) -> None:
    for client in clients:
        recorder.client_disconnected(client)
    recorder.done()


def test_proxy_without_a_database_stops_instead_of_proxying_unrecorded(caplog) -> None:
    recorder = Recorder()
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, borderflow_app="x")
        stopped = []
        tctx.master.shutdown = lambda: stopped.append(True)

        async def start() -> None:
            recorder.running()

        tctx.master.event_loop.run_until_complete(start())
    assert stopped == [True]
    assert "borderflow_db is not set" in caplog.text


def test_a_database_in_a_missing_folder_is_logged_in_one_line_and_stops_the_proxy(
    tmp_path: Path, caplog
) -> None:
    recorder = Recorder()
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, borderflow_db=str(tmp_path / "no" / "t.db"))
        stopped = []
        tctx.master.shutdown = lambda: stopped.append(True)

        async def start() -> None:
            recorder.running()

        tctx.master.event_loop.run_until_complete(start())
    assert stopped
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("does not exist" in e and str(tmp_path) in e for e in errors), errors
    assert all("\n" not in e for e in errors)


def test_response_records_exchange_connection_and_findings(recording) -> None:
    recorder, _, db = recording
    f = tflow.tflow(resp=True)
    f.request.method = "POST"
    f.request.headers["content-type"] = "application/json"
    f.request.content = b'{"email": "jane.doe@example.com", "imei": "490154203237518"}'
    recorder.response(f)
    finish(recorder, f.client_conn)
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["app"] == "com.example.wallet"
    assert conn["decrypted"] == 1
    assert conn["service"] == "http"
    assert conn["orig_bytes"] > len(f.request.content)
    (exchange,) = rows(db, "SELECT * FROM http")
    assert exchange["uid"] == conn["uid"]
    assert (exchange["method"], exchange["status_code"]) == ("POST", 200)
    categories = {
        r["category"] for r in rows(db, "SELECT * FROM finding WHERE direction = 'request'")
    }
    assert {"contact.email", "identifiers.device"} <= categories
    assert not rows(db, "SELECT * FROM finding WHERE evidence LIKE '%jane.doe%'")


def test_failed_exchange_is_recorded_with_its_error(recording) -> None:
    recorder, _, db = recording
    f = tflow.tflow(err=True)
    recorder.error(f)
    finish(recorder, f.client_conn)
    (exchange,) = rows(db, "SELECT * FROM http")
    assert exchange["status_code"] is None
    assert exchange["error"] == "error"


def test_websocket_end_records_every_message_with_its_index(recording) -> None:
    recorder, _, db = recording
    f = tflow.twebsocketflow()
    assert f.websocket is not None
    f.websocket.messages[0].content = b'{"email": "jane.doe@example.com"}'
    recorder.websocket_end(f)
    finish(recorder, f.client_conn)
    (exchange,) = rows(db, "SELECT * FROM http")
    assert exchange["websocket"] == 1
    locations = [
        r["location"] for r in rows(db, "SELECT * FROM finding WHERE category = 'contact.email'")
    ]
    assert locations
    assert all(loc.startswith("websocket[0]/") for loc in locations)


def test_raw_tcp_flow_is_counted_and_marked_not_tls(recording) -> None:
    recorder, _, db = recording
    f = tflow.ttcpflow()
    f.client_conn.tls = False
    f.client_conn.timestamp_tls_setup = None
    recorder.tcp_end(f)
    finish(recorder, f.client_conn)
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["not_decrypted_why"] == "not_tls"
    assert conn["decrypted"] == 0
    assert conn["orig_bytes"] == sum(len(m.content) for m in f.messages if m.from_client)
    assert conn["resp_bytes"] == sum(len(m.content) for m in f.messages if not m.from_client)


def test_udp_flow_is_a_udp_connection(recording) -> None:
    recorder, _, db = recording
    f = tflow.tudpflow()
    recorder.udp_end(f)
    finish(recorder, f.client_conn)
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["proto"] == "udp"
    assert conn["orig_bytes"] == sum(len(m.content) for m in f.messages if m.from_client)


def test_dns_response_records_question_and_answers(recording) -> None:
    recorder, _, db = recording
    f = tflow.tdnsflow(resp=True)
    recorder.dns_response(f)
    finish(recorder, f.client_conn)
    (query,) = rows(db, "SELECT * FROM dns")
    assert query["query"] == f.request.questions[0].name
    assert query["qtype_name"] == "A"
    assert query["answers"]
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["service"] == "dns"
    assert conn["uid"] == query["uid"]


def test_client_rejecting_our_certificate_is_recorded_as_pinned(recording) -> None:
    recorder, tctx, db = recording
    client = tflow.tclient_conn()
    client.sni = "mgw.alipay.com"
    client.error = "The client does not trust the proxy's certificate for mgw.alipay.com"
    recorder.client_connected(client)
    recorder.tls_failed_client(tls.TlsData(client, Context(client, tctx.options)))
    finish(recorder, client)
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["decrypted"] == 0
    assert conn["not_decrypted_why"] == "pinned_tls"
    assert conn["server_name"] == "mgw.alipay.com"
    (hello,) = rows(db, "SELECT * FROM tls")
    assert hello["established"] == 0
    assert "does not trust" in hello["failure"]


def test_connections_still_open_at_shutdown_are_recorded(recording) -> None:
    recorder, _, db = recording
    client = tflow.tclient_conn()
    recorder.client_connected(client)
    recorder.done()
    (conn,) = rows(db, "SELECT * FROM conn")
    assert conn["not_decrypted_why"] == "incomplete"
    (capture,) = rows(db, "SELECT * FROM capture")
    assert capture["source"] == "live"
    assert capture["ended"] is not None

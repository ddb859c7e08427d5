"""A real mitmdump with the recorder, real clients, real TLS: what lands in the database.

Every packet stays on 127.0.0.1: clients ask the proxy for the apps' real hostnames, and
``tests/support/loopback_upstream.py`` connects mitmdump to local servers instead (so
``resp_h`` is 127.0.0.1 throughout). Tests that share the package's mitmdump use hostnames of
their own and poll its database; tests that stop mitmdump start their own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import signal
import socket
import threading
import urllib.parse
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from websockets.sync.client import connect as ws_connect

from borderflow.analysis.cli import cli
from borderflow.analysis.tls_hello import ja3, ja4, parse_client_hello
from tests.e2e.conftest import APP, rows, wait_for_rows
from tests.support.loopback_upstream import LoopbackGuard
from tests.support.servers import (
    LOOPBACK,
    SERVER_ID,
    TCP_HOST,
    Mitmdump,
    Upstream,
    connect_tunnel,
    encode_frame,
    read_frame,
    reply_to,
)
from tests.support.tls_client import tls_over_tunnel

e2e = pytest.mark.e2e
timeout = pytest.mark.timeout(120)

# Made-up personal data, planted in what the clients send.
EMAIL = "li.wei.e2e@example.com"
PHONE = "+8613812345678"
IMEI = "490154203237518"  # Luhn-valid test IMEI
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"  # the documented example advertising id
LAT, LNG = "31.2304", "121.4737"
UA = "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)"
PLANTED = {
    "contact.email": EMAIL,
    "contact.phone": PHONE,
    "identifiers.device": IMEI,
    "identifiers.advertising": GAID,
}
JA4 = re.compile(r"^t1[0-3]d\d{4}(?P<alpn>[0-9a-z]{2})_[0-9a-f]{12}_[0-9a-f]{12}$")


def client(proxy: Mitmdump, **kwargs: object) -> httpx.Client:
    """An httpx client that goes through ``proxy`` and trusts its CA (an app that is not
    pinned, on a phone with mitmproxy's CA installed); never reads proxy settings from env."""
    options: dict[str, object] = {
        "verify": proxy.client_ssl_context(),
        "headers": {"user-agent": UA},
    }
    options.update(kwargs)
    return httpx.Client(proxy=proxy.url, trust_env=False, timeout=30, **options)  # type: ignore[arg-type]


def local_port(response: httpx.Response) -> int:
    """The client's source port for ``response``: ``conn.orig_p`` of its connection."""
    stream = response.extensions["network_stream"]
    port: int = stream.get_extra_info("client_addr")[1]
    return port


def conn_of(proxy: Mitmdump, orig_p: int, server_name: str) -> dict[str, object]:
    """The conn row of the client connection from ``orig_p``, once the recorder wrote it.

    ``server_name`` too, as the kernel may reuse a source port of an earlier test.
    """
    (row,) = wait_for_rows(
        proxy.db, "SELECT * FROM conn WHERE orig_p = ? AND server_name = ?", orig_p, server_name
    )
    return row


def findings_of(proxy: Mitmdump, uid: object, *, count: int) -> dict[str, dict[str, object]]:
    """The request findings of connection ``uid`` by category (classification is async)."""
    found = wait_for_rows(
        proxy.db,
        "SELECT * FROM finding WHERE uid = ? AND direction = 'request' ORDER BY location",
        uid,
        count=count,
    )
    return {str(f["category"]): f for f in found}


def all_text_in_db(db: Path) -> str:
    """Every value of every column of every table, as one string (what SQL can see)."""
    parts: list[str] = []
    for table in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in rows(db, f'SELECT * FROM "{table["name"]}"'):
            parts.extend(str(v) for v in row.values())
    return "\n".join(parts)


# -- HTTP/1.1 ------------------------------------------------------------------------------


@e2e
@timeout
def test_https_form_post_is_recorded_with_redacted_findings_in_the_body(
    proxy: Mitmdump, upstream: Upstream
) -> None:
    form = {
        "operationType": "alipay.mobile.device.report",
        "appId": "2021000116612345",
        "email": EMAIL,
        "mobile": PHONE,
        "imei": IMEI,
        "lat": LAT,
        "lng": LNG,
        "gaid": GAID,
        "sdkVersion": "10.2.3",
    }
    body = urllib.parse.urlencode(form).encode()
    with client(proxy) as c:
        response = c.post(
            "https://mgw.alipay.com/mgw.htm?ts=1767225600",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        port = local_port(response)
    assert response.status_code == 200
    assert response.json()["server"] == SERVER_ID  # the local upstream answered
    assert response.json()["received"] == len(body)

    conn = conn_of(proxy, port, "mgw.alipay.com")
    assert conn["decrypted"] == 1
    assert conn["not_decrypted_why"] is None
    assert conn["server_name"] == "mgw.alipay.com"
    assert conn["service"] == "http"
    assert conn["proto"] == "tcp"
    assert conn["app"] == APP
    assert conn["orig_h"] == LOOPBACK
    assert (conn["resp_h"], conn["resp_p"]) == (LOOPBACK, upstream.https_port)
    assert conn["resolved_by"] == "proxy"  # regular mode: the proxy resolved the name
    assert conn["proxy_mode"] == "regular"
    assert isinstance(conn["orig_bytes"], int)
    assert conn["orig_bytes"] > len(body)
    assert isinstance(conn["resp_bytes"], int)
    assert conn["resp_bytes"] > len(response.content)
    assert isinstance(conn["community_id"], str)
    assert conn["community_id"].startswith("1:")
    uid = conn["uid"]

    (exchange,) = rows(proxy.db, "SELECT * FROM http WHERE uid = ?", uid)  # not the CONNECT
    assert exchange["trans_depth"] == 1
    assert exchange["method"] == "POST"
    assert exchange["host"] == "mgw.alipay.com"
    assert exchange["uri"] == "/mgw.htm?ts=1767225600"
    assert exchange["http_version"] == "HTTP/1.1"
    assert exchange["status_code"] == 200
    assert exchange["request_content_type"] == "application/x-www-form-urlencoded"
    assert exchange["request_body_len"] == len(body)
    assert exchange["response_content_type"] == "application/json"
    assert exchange["response_body_len"] == len(response.content)
    assert exchange["websocket"] == 0
    assert exchange["error"] is None

    (tls,) = rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", uid)
    assert tls["server_name"] == "mgw.alipay.com"
    assert tls["established"] == 1
    assert tls["failure"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", str(tls["ja3"]))
    ja4_parts = JA4.match(str(tls["ja4"]))
    assert ja4_parts
    assert ja4_parts["alpn"] == "h1"
    assert tls["alpn"] == "http/1.1"  # all httpx offers without http2=True

    found = findings_of(proxy, uid, count=5)
    assert {
        "contact.email": "body/form:email",
        "contact.phone": "body/form:mobile",
        "identifiers.device": "body/form:imei",
        "identifiers.advertising": "body/form:gaid",
    }.items() <= {c: f["location"] for c, f in found.items()}.items()
    assert found["location.precise"]["location"] in ("body/form:lat", "body/form:lng")
    for category, finding in found.items():
        assert finding["trans_depth"] == 1
        raw = PLANTED.get(category)
        if raw is not None:
            assert raw not in str(finding["evidence"]), finding  # redacted by default
            assert str(finding["evidence"])[:1] == raw[:1]  # ... yet recognisable

    # Redacted means nowhere: not in any column of any table, not in the files on disk.
    everything = all_text_in_db(proxy.db)
    for raw in (EMAIL, IMEI, GAID, PHONE, PHONE.removeprefix("+86")):
        assert raw not in everything
    files = [proxy.db, proxy.db.with_name(proxy.db.name + "-wal")]
    on_disk = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"li.wei.e2e" in body
    assert b"li.wei.e2e" not in on_disk
    assert IMEI.encode() not in on_disk


# -- HTTP/2 --------------------------------------------------------------------------------


@e2e
@timeout
def test_http2_gzip_json_body_is_decoded_and_classified(proxy: Mitmdump) -> None:
    event = {
        "device": {"imei": IMEI, "gaid": GAID, "model": "Pixel 7"},
        "user": {"email": EMAIL, "mobile": PHONE},
        "loc": {"lat": float(LAT), "lng": float(LNG)},
        "event": "pay_click",
    }
    body = gzip.compress(json.dumps(event).encode(), mtime=0)
    with client(proxy, http2=True) as c:
        response = c.post(
            "https://api.example-pay.test/v1/events",
            content=body,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        port = local_port(response)
    assert response.http_version == "HTTP/2"
    assert response.json()["http_version"] == "2"  # mitmproxy spoke HTTP/2 upstream too

    conn = conn_of(proxy, port, "api.example-pay.test")
    assert (conn["decrypted"], conn["service"]) == (1, "http")
    assert conn["server_name"] == "api.example-pay.test"
    (exchange,) = rows(proxy.db, "SELECT * FROM http WHERE uid = ?", conn["uid"])
    assert exchange["http_version"] == "HTTP/2.0"
    assert exchange["host"] == "api.example-pay.test"
    assert exchange["request_body_len"] == len(body)  # as sent: compressed
    assert exchange["status_code"] == 200
    (tls,) = rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", conn["uid"])
    assert tls["alpn"] == "http/1.1,h2"  # what httpx offers, in its order
    ja4_parts = JA4.match(str(tls["ja4"]))
    assert ja4_parts
    assert ja4_parts["alpn"] == "h1"  # JA4 takes the first offered protocol

    found = findings_of(proxy, conn["uid"], count=5)
    assert {
        "contact.email": "body/gzip/json:$.user.email",
        "contact.phone": "body/gzip/json:$.user.mobile",
        "identifiers.device": "body/gzip/json:$.device.imei",
        "identifiers.advertising": "body/gzip/json:$.device.gaid",
    }.items() <= {c: f["location"] for c, f in found.items()}.items()
    assert str(found["location.precise"]["location"]).startswith("body/gzip/json:$.loc.")


# -- WebSocket -----------------------------------------------------------------------------


@e2e
@timeout
def test_websocket_messages_are_classified_per_message(proxy: Mitmdump) -> None:
    context = proxy.client_ssl_context()
    message = json.dumps({"type": "bind", "userId": "2088102112345678", "email": EMAIL})
    with ws_connect(
        "wss://ws.example-pay.test/socket",
        proxy=proxy.url,
        ssl=context,
        user_agent_header=UA,
        open_timeout=30,
    ) as ws:
        port = ws.socket.getsockname()[1]
        ws.send(message)
        assert ws.recv(timeout=30) == message  # echoed by the upstream, through the proxy

    conn = conn_of(proxy, port, "ws.example-pay.test")
    assert conn["service"] == "websocket"
    assert conn["decrypted"] == 1
    assert conn["server_name"] == "ws.example-pay.test"
    (exchange,) = rows(proxy.db, "SELECT * FROM http WHERE uid = ?", conn["uid"])
    assert exchange["websocket"] == 1
    assert exchange["status_code"] == 101
    assert exchange["uri"] == "/socket"

    found = wait_for_rows(
        proxy.db,
        "SELECT direction, location FROM finding WHERE uid = ? AND category = 'contact.email' "
        "ORDER BY location",
        conn["uid"],
        count=2,
    )
    assert found == [
        {"direction": "request", "location": "websocket[0]/body/json:$.email"},
        {"direction": "response", "location": "websocket[1]/body/json:$.email"},
    ]


# -- raw TCP -------------------------------------------------------------------------------


@e2e
@timeout
def test_raw_tcp_through_connect_is_counted_byte_for_byte(
    proxy: Mitmdump, upstream: Upstream
) -> None:
    payloads = [b"\x01login:2088102112345678", bytes(range(256)) * 4, b"\x03bye"]
    sent = received = 0
    with connect_tunnel(proxy.port, TCP_HOST, 9000) as sock:
        port = sock.getsockname()[1]
        for kind, payload in enumerate(payloads, start=1):
            frame = encode_frame(kind, payload)
            sock.sendall(frame)
            sent += len(frame)
            answer = read_frame(sock)
            assert answer == reply_to(kind, payload)  # the local frame server answered
            received += len(answer)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""  # the proxy passes the close on

    conn = conn_of(proxy, port, TCP_HOST)  # the name in CONNECT
    assert conn["service"] is None
    assert conn["decrypted"] == 0
    assert conn["not_decrypted_why"] == "not_tls"
    assert (conn["resp_h"], conn["resp_p"]) == (LOOPBACK, upstream.tcp_port)
    assert (conn["orig_bytes"], conn["resp_bytes"]) == (sent, received)
    assert sent != received  # so a swap of the directions would show
    assert rows(proxy.db, "SELECT * FROM http WHERE uid = ?", conn["uid"]) == []
    assert rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", conn["uid"]) == []


# -- certificate pinning -------------------------------------------------------------------


def reject_interception(proxy: Mitmdump, host: str) -> None:
    """Connect like an app that pins: it trusts only public CAs, so mitmproxy's cert fails."""
    with (
        httpx.Client(proxy=proxy.url, trust_env=False, timeout=30) as pinned,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        pinned.get(f"https://{host}/config")
    # The recorder has taken note once it says so (the next connection may rely on it).
    proxy.wait_for_log(f"{re.escape(host)} rejected the interception certificate", timeout=30)


@e2e
@timeout
def test_pinned_tls_connection_is_recorded_without_payload(proxy: Mitmdump) -> None:
    host = "pinned.example-pay.test"
    reject_interception(proxy, host)

    (conn,) = wait_for_rows(proxy.db, "SELECT * FROM conn WHERE server_name = ?", host)
    assert conn["not_decrypted_why"] == "pinned_tls"
    assert conn["decrypted"] == 0
    assert conn["service"] == "tls"
    assert conn["resp_h"] == LOOPBACK
    assert isinstance(conn["orig_bytes"], int)
    assert conn["orig_bytes"] > 0  # the ClientHello
    assert rows(proxy.db, "SELECT * FROM http WHERE uid = ?", conn["uid"]) == []
    assert rows(proxy.db, "SELECT * FROM finding WHERE uid = ?", conn["uid"]) == []
    (tls,) = rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", conn["uid"])
    assert tls["server_name"] == host
    assert tls["established"] == 0
    assert tls["failure"]
    assert re.fullmatch(r"[0-9a-f]{32}", str(tls["ja3"]))
    assert JA4.match(str(tls["ja4"]))


@e2e
@timeout
def test_host_that_rejected_interception_is_passed_through_and_keeps_working(
    proxy: Mitmdump, upstream: Upstream
) -> None:
    host = "passthrough.example-pay.test"
    reject_interception(proxy, host)

    # The same app connects again. It trusts only the upstream's CA, so a completed
    # handshake proves the proxy stayed out of the way: the app keeps working.
    context = upstream.client_ssl_context()
    context.set_alpn_protocols(["http/1.1"])
    request = f"GET /after-pinning HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with connect_tunnel(proxy.port, host, 443) as sock:
        port = sock.getsockname()[1]
        hello, response, sent, received = tls_over_tunnel(sock, context, host, request.encode())
    assert response.startswith(b"HTTP/1.1 200")
    assert SERVER_ID.encode() in response

    passed = conn_of(proxy, port, host)
    assert passed["not_decrypted_why"] == "passed_through"
    assert passed["decrypted"] == 0
    assert passed["service"] == "tls"
    assert passed["server_name"] == host
    assert (passed["orig_bytes"], passed["resp_bytes"]) == (sent, received)  # on the wire
    (tls,) = rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", passed["uid"])
    info = parse_client_hello(hello)
    assert info is not None
    assert (tls["ja3"], tls["ja4"]) == (ja3(info), ja4(info))  # of the hello this client sent
    assert rows(proxy.db, "SELECT * FROM http WHERE uid = ?", passed["uid"]) == []
    assert rows(proxy.db, "SELECT * FROM finding WHERE uid = ?", passed["uid"]) == []


@e2e
@timeout
def test_a_clienthello_in_two_segments_to_a_pinned_host_still_passes_through(
    proxy: Mitmdump, upstream: Upstream
) -> None:
    host = "passthrough.example-pay.test"
    reject_interception(proxy, host)

    context = upstream.client_ssl_context()  # completes only if the proxy stays out of the way
    request = f"GET /split-hello HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with connect_tunnel(proxy.port, host, 443) as sock:
        port = sock.getsockname()[1]
        hello, response, sent, received = tls_over_tunnel(
            sock, context, host, request.encode(), split_hello=True
        )
    assert response.startswith(b"HTTP/1.1 200")

    passed = conn_of(proxy, port, host)
    assert passed["not_decrypted_why"] == "passed_through"
    assert passed["server_name"] == host
    assert (passed["orig_bytes"], passed["resp_bytes"]) == (sent, received)
    (tls,) = rows(proxy.db, "SELECT * FROM tls WHERE uid = ?", passed["uid"])
    info = parse_client_hello(hello)
    assert info is not None
    assert (tls["server_name"], tls["ja4"]) == (host, ja4(info))  # read from the flow


# -- shutdown ------------------------------------------------------------------------------


@e2e
@timeout
def test_ctrl_c_in_a_burst_loses_no_exchange_the_client_saw_complete(own_proxy: Mitmdump) -> None:
    proxy = own_proxy.start()
    total, workers, trigger = 1000, 4, 300
    lock = threading.Lock()
    completed = 0
    interrupted = threading.Event()

    def work(share: int) -> None:
        nonlocal completed
        with client(proxy, limits=httpx.Limits(max_connections=1)) as c:
            for i in range(share):
                try:
                    response = c.post(
                        f"https://burst.example-pay.test/collect/{i}", json={"seq": i}
                    )
                except httpx.HTTPError:
                    return  # the proxy is going away
                if response.status_code != 200:
                    return
                with lock:
                    completed += 1
                    if completed == trigger:
                        proxy.send_signal(signal.SIGINT)
                        interrupted.set()

    threads = [threading.Thread(target=work, args=(total // workers,)) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert interrupted.is_set()
    assert proxy.wait(60) == 0, proxy.output()
    assert trigger <= completed < total, "Ctrl-C did not land in the middle of the burst"

    recorded = rows(
        proxy.db,
        "SELECT count(*) AS n FROM http WHERE host = 'burst.example-pay.test' AND status_code = 200",
    )[0]["n"]
    assert recorded >= completed
    conns = rows(proxy.db, "SELECT * FROM conn WHERE server_name = 'burst.example-pay.test'")
    assert len(conns) >= workers  # connections still open at Ctrl-C are recorded too
    (capture,) = rows(proxy.db, "SELECT * FROM capture")
    assert capture["ended"] is not None


# -- the database ----------------------------------------------------------------------------


def one_request_then_wait_for_exit(proxy: Mitmdump) -> str:
    with client(proxy) as c:
        assert c.get("https://api.example-pay.test/after-disk-full").status_code == 200
    # No more traffic arrives: the proxy must notice and stop by itself.
    proxy.wait(60)
    return proxy.output()


@e2e
@timeout
def test_database_that_becomes_unwritable_stops_the_proxy(own_proxy: Mitmdump) -> None:
    proxy = own_proxy.start()
    proxy.make_database_unwritable()
    log = one_request_then_wait_for_exit(proxy)
    assert re.search(r"borderflow: .*cannot write.*; stopping the proxy", log), log
    with pytest.raises(ConnectionRefusedError):  # nothing goes through unrecorded any more
        socket.create_connection((LOOPBACK, proxy.port), timeout=5).close()


@e2e
@timeout
def test_unwritable_database_error_names_the_file(own_proxy: Mitmdump) -> None:
    proxy = own_proxy.start()
    proxy.make_database_unwritable()
    log = one_request_then_wait_for_exit(proxy)
    (line,) = [x for x in log.splitlines() if "stopping the proxy" in x]
    assert str(proxy.db) in line


def refused_start(proxy: Mitmdump) -> str:
    """Start ``proxy``, expecting mitmdump to exit with an error status; its output."""
    try:
        with pytest.raises(RuntimeError, match=r"mitmdump (exited|ended)"):
            proxy.start(timeout=60)
    finally:
        proxy.kill()
    assert proxy.process is not None
    assert proxy.process.returncode != 0
    return proxy.output()


@e2e
@timeout
def test_a_device_profile_finds_the_planted_imei_hashed_in_live_traffic(
    upstream: Upstream, tmp_path: Path
) -> None:
    profile = tmp_path / "pixel7.toml"
    profile.write_text(f'[device]\nimei = "{IMEI}"\n', encoding="utf-8")
    digest = hashlib.md5(IMEI.encode()).hexdigest()  # SDKs often send the IMEI as an MD5
    proxy = Mitmdump(
        tmp_path / "proxy", upstream=upstream, options=["--set", f"borderflow_profile={profile}"]
    )
    with proxy:
        with client(proxy) as c:
            response = c.post("https://api.example-pay.test/collect", json={"did": digest})
            port = local_port(response)
        assert response.status_code == 200
        conn = conn_of(proxy, port, "api.example-pay.test")
        (found,) = wait_for_rows(
            proxy.db, "SELECT * FROM finding WHERE uid = ? AND detector = 'profile'", conn["uid"]
        )
    assert (found["category"], found["location"]) == ("identifiers.device", "body/json:$.did")
    assert "MD5" in found["reason"]


@e2e
@timeout
def test_mitmdump_refuses_to_start_with_an_unreadable_profile(
    upstream: Upstream, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.toml"
    proxy = Mitmdump(
        tmp_path / "proxy", upstream=upstream, options=["--set", f"borderflow_profile={missing}"]
    )
    assert f"borderflow_profile: {missing}: cannot read the profile" in refused_start(proxy)


@e2e
@timeout
def test_mitmdump_refuses_to_start_on_a_database_path_that_is_a_folder(
    upstream: Upstream, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    proxy = Mitmdump(tmp_path / "proxy", db=folder, upstream=upstream)
    assert f"borderflow_db: {folder}: is a directory" in refused_start(proxy)
    assert not proxy.db.is_dir() or not any(proxy.db.iterdir())  # nothing written into it


def test_proxy_command_with_a_database_in_a_missing_folder_is_a_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["proxy", "--db", "/nonexistent/dir/x.db"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["Error: /nonexistent/dir/x.db: folder /nonexistent/dir does not exist"]
    assert "Traceback" not in result.output


# -- the harness itself ----------------------------------------------------------------------


@e2e
def test_loopback_guard_refuses_other_hosts_before_anything_is_sent(
    loopback_guard: LoopbackGuard,
) -> None:
    with pytest.raises(PermissionError, match="loopback guard refused"):
        socket.getaddrinfo("mgw.alipay.com", 443)
    with pytest.raises(PermissionError, match="loopback guard refused"):
        socket.create_connection(("198.51.100.7", 443), timeout=1)  # TEST-NET-2
    assert len(loopback_guard.violations) == 2
    loopback_guard.violations.clear()  # expected here; the fixture fails on any other
    with socket.create_server((LOOPBACK, 0)) as server:
        socket.create_connection(server.getsockname()).close()  # loopback is fine

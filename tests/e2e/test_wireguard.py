"""WireGuard mode end to end: a phone in its own network namespace, tunnelled to ``borderflow proxy``.

The researcher's setup from the README: the phone's WireGuard app sends all its traffic to
mitmproxy, so the proxy sees the phone's own addresses and DNS lookups instead of names it
resolved itself. Here the phone is ``wireguard-go`` in a namespace (``tests/e2e/lab.py``), the
app's servers live in another, and ``borderflow proxy --mode wireguard`` runs in a router
between them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mitmproxy_rs
import pytest

from borderflow.analysis import report, store
from tests.e2e.conftest import APP, rows, wait_for_rows
from tests.e2e.lab import Setup, lab_with_proxy
from tests.support import netns_lab
from tests.support.netns_lab import SERVER_ADDRESS, TUNNEL_ADDRESS


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with lab_with_proxy(tmp_path_factory.mktemp("wireguard"), "wireguard") as setup:
        keys = json.loads((setup.proxy.confdir / "wireguard.conf").read_text())
        server_public = mitmproxy_rs.wireguard.pubkey(keys["server_key"])
        setup.lab.tunnel(setup.proxy.port, keys["client_key"], server_public)
        yield setup


def test_the_phones_https_exchange_is_recorded_with_its_own_addresses(setup: Setup) -> None:
    body = {"email": "li.wei@example.com", "lat": 48.858370, "lng": 2.294481}
    assert setup.app_posts("api.example-pay.test", body) == "HTTP/1.1 200 OK"

    db = setup.proxy.db
    (conn,) = wait_for_rows(db, "SELECT * FROM conn WHERE server_name = 'api.example-pay.test'")
    assert conn["proxy_mode"] == "wireguard"
    assert conn["orig_h"] == TUNNEL_ADDRESS  # the phone's address in the tunnel
    assert (conn["resp_h"], conn["resp_p"]) == (SERVER_ADDRESS, netns_lab.HTTPS_PORT)
    assert conn["resolved_by"] == "device"  # the phone chose the address, not the proxy
    assert conn["decrypted"] == 1
    assert conn["app"] == APP
    (exchange,) = wait_for_rows(db, "SELECT * FROM http WHERE uid = ?", conn["uid"])
    assert (exchange["method"], exchange["host"], exchange["uri"]) == (
        "POST",
        "api.example-pay.test",
        "/v1/track",
    )
    assert exchange["status_code"] == 200
    found = wait_for_rows(
        db,
        "SELECT category, location FROM finding WHERE uid = ? ORDER BY category",
        conn["uid"],
        count=2,
    )
    assert [(f["category"], f["location"]) for f in found] == [
        ("contact.email", "body/json:$.email"),
        ("location.precise", "body/json:$.lat"),
    ]


def test_a_pinning_app_behind_wireguard_is_recorded_with_its_sni(setup: Setup) -> None:
    status = setup.app_posts("pinned.example-pay.test", {}, pinning=True)
    assert status.startswith("rejected"), status  # it trusts its own CA only

    (conn,) = wait_for_rows(
        setup.proxy.db, "SELECT * FROM conn WHERE server_name = 'pinned.example-pay.test'"
    )
    assert conn["not_decrypted_why"] == "pinned_tls"
    assert conn["decrypted"] == 0
    assert (conn["resp_h"], conn["resp_p"]) == (SERVER_ADDRESS, netns_lab.HTTPS_PORT)
    assert conn["resolved_by"] == "device"
    assert rows(setup.proxy.db, "SELECT * FROM http WHERE uid = ?", conn["uid"]) == []


@pytest.mark.parametrize("split_hello", [False, True], ids=["one-segment", "two-segments"])
def test_the_pinning_app_connects_again_and_passes_through(setup: Setup, split_hello: bool) -> None:
    """Judged by its SNI, or by its destination address when the ClientHello is split."""
    host = "pinned.example-pay.test"
    setup.app_posts(host, {}, pinning=True)  # rejects the proxy, once or again
    status = setup.app_posts(host, {}, pinning=True, split_hello=split_hello)
    assert status == "HTTP/1.1 200 OK"  # the app's own CA: the proxy stayed out of the way

    passed = wait_for_rows(
        setup.proxy.db,
        "SELECT * FROM conn WHERE server_name = ? AND not_decrypted_why = 'passed_through'",
        host,
        count=2 if split_hello else 1,
    )
    assert {(c["resp_h"], c["resolved_by"]) for c in passed} == {(SERVER_ADDRESS, "device")}


def test_an_http3_exchange_is_recorded_like_any_other(setup: Setup) -> None:
    body = {"email": "h3.user@example.com"}
    assert setup.app_posts("api.example-pay.test", body, http3=True) == "HTTP/3 200"

    db = setup.proxy.db
    (exchange,) = wait_for_rows(db, "SELECT * FROM http WHERE http_version = 'HTTP/3'")
    (conn,) = wait_for_rows(db, "SELECT * FROM conn WHERE uid = ?", exchange["uid"])
    assert (conn["proto"], conn["decrypted"], conn["resolved_by"]) == ("udp", 1, "device")
    (tls,) = rows(db, "SELECT * FROM tls WHERE uid = ?", conn["uid"])
    assert (tls["version"], tls["alpn"], tls["established"]) == ("TLSv1.3", "h3", 1)  # as replay
    assert str(tls["ja4"]).startswith("q13d")  # JA4 marks QUIC with "q"
    (finding,) = wait_for_rows(db, "SELECT * FROM finding WHERE uid = ?", conn["uid"])
    assert (finding["category"], finding["location"]) == ("contact.email", "body/json:$.email")


def test_a_pinning_app_over_quic_is_recorded_then_passed_through(setup: Setup) -> None:
    """QUIC's first Initial is judged like a TLS ClientHello; passed through, it is raw UDP."""
    host = "quic-pinned.example-pay.test"
    assert setup.app_posts(host, {}, pinning=True, http3=True).startswith("rejected")
    (pinned,) = wait_for_rows(setup.proxy.db, "SELECT * FROM conn WHERE server_name = ?", host)
    assert (pinned["proto"], pinned["not_decrypted_why"]) == ("udp", "pinned_tls")

    assert setup.app_posts(host, {}, pinning=True, http3=True) == "HTTP/3 200"
    # The passed-through flow is written when it ends: see the shutdown test below.


def test_the_phones_dns_lookups_through_the_tunnel_become_dns_rows(setup: Setup) -> None:
    assert setup.lab.phone_app("dns", "mgw.alipay.com") == SERVER_ADDRESS

    (lookup,) = wait_for_rows(setup.proxy.db, "SELECT * FROM dns WHERE query = 'mgw.alipay.com'")
    assert (lookup["qtype_name"], lookup["rcode"], lookup["answers"]) == ("A", 0, SERVER_ADDRESS)


def test_a_capture_taken_on_the_phone_replays_to_what_the_proxy_recorded(
    setup: Setup, tmp_path: Path
) -> None:
    """The researcher's day: the proxy records while a capture is taken on the phone, with the
    app's TLS secrets; replayed, it goes through the same pipeline to the same findings."""
    capture, keys, replayed = tmp_path / "phone.pcap", tmp_path / "keys.log", tmp_path / "r.db"
    tcpdump = setup.lab.spawn(
        setup.lab.phone,
        ["tcpdump", "-i", setup.lab.wireguard, "--immediate-mode", "-Z", "root", "-U",
         "-w", str(capture), "tcp", "port", str(netns_lab.HTTPS_PORT)],
    )  # fmt: skip
    assert tcpdump.stdout is not None
    while "listening on" not in (line := tcpdump.stdout.readline()):
        assert line, "tcpdump did not start"
    body = {"email": "day.user@example.com", "imei": "490154203237518"}
    assert setup.app_posts("api.example-pay.test", body, keylog=keys) == "HTTP/1.1 200 OK"
    tcpdump.send_signal(signal.SIGINT)
    assert tcpdump.wait(30) == 0

    borderflow = Path(sys.executable).with_name("borderflow")
    subprocess.run(
        [borderflow, "replay", capture, "--db", replayed, "--key-log", keys],
        check=True,
        capture_output=True,
    )
    columns = "SELECT category, detector, location, confidence FROM finding"
    live = wait_for_rows(
        setup.proxy.db,
        f"{columns} WHERE uid IN (SELECT uid FROM finding WHERE category = ?) ORDER BY 1, 2, 3",
        "identifiers.device",
        count=2,
    )
    assert rows(replayed, f"{columns} ORDER BY 1, 2, 3") == live
    (conn,) = rows(replayed, "SELECT * FROM conn")
    assert (conn["orig_h"], conn["resp_h"], conn["server_name"], conn["decrypted"]) == (
        TUNNEL_ADDRESS,
        SERVER_ADDRESS,
        "api.example-pay.test",
        1,
    )

    # Replayed into the proxy's own database, the capture's connection is the live one again:
    # linked by its Community ID, so reports count it once.
    before = report.build(store.open_db(setup.proxy.db))["headline"]["connections"]
    subprocess.run(
        [borderflow, "replay", capture, "--db", setup.proxy.db, "--key-log", keys],
        check=True,
        capture_output=True,
    )
    twins = rows(
        setup.proxy.db, "SELECT uid, same_as FROM conn WHERE community_id = ?", conn["community_id"]
    )
    assert len(twins) == 2
    assert sorted(t["same_as"] is None for t in twins) == [False, True]
    assert {t["same_as"] for t in twins} - {None} <= {t["uid"] for t in twins}
    assert report.build(store.open_db(setup.proxy.db))["headline"]["connections"] == before


def test_stopping_the_proxy_writes_open_udp_flows_and_exits_cleanly(setup: Setup) -> None:
    """Last in this module: it stops the proxy. A UDP flow stays open until 20 s without
    packets (mitmproxy's UDP timeout); Ctrl-C must still write it, and the exit must be clean
    (mitmproxy_rs can crash the interpreter's finalisation in WireGuard mode)."""
    assert setup.lab.phone_app("dns", "stop.example-pay.test") == SERVER_ADDRESS
    (lookup,) = wait_for_rows(
        setup.proxy.db, "SELECT * FROM dns WHERE query = 'stop.example-pay.test'"
    )

    assert setup.proxy.stop() == 0, setup.proxy.output()
    (conn,) = rows(setup.proxy.db, "SELECT * FROM conn WHERE uid = ?", lookup["uid"])
    assert (conn["proto"], conn["service"]) == ("udp", "dns")
    assert (conn["orig_h"], conn["resp_h"], conn["resp_p"]) == (TUNNEL_ADDRESS, SERVER_ADDRESS, 53)
    assert conn["resolved_by"] == "device"
    (quic,) = rows(
        setup.proxy.db,
        "SELECT * FROM conn WHERE server_name = ? AND not_decrypted_why = 'passed_through'",
        "quic-pinned.example-pay.test",
    )
    assert quic["proto"] == "udp"
    assert quic["orig_bytes"] > 1200  # QUIC pads the client's first flight to 1,200 bytes
    assert quic["resp_bytes"] > 0

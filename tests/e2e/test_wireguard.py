"""WireGuard mode end to end: a phone in its own network namespace, tunnelled to ``borderflow proxy``.

The researcher's setup from the README: the phone's WireGuard app sends all its traffic to
mitmproxy, so the proxy sees the phone's own addresses and DNS lookups instead of names it
resolved itself. Here the phone is ``wireguard-go`` in a namespace (``tests/support/netns_lab.py``),
the app's servers live in another, and ``borderflow proxy --mode wireguard`` runs between them.
Skipped where the lab cannot run (not root, no wireguard-go); under CI, which installs it, that
fails instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mitmproxy_rs
import pytest
import trustme

from tests.e2e.conftest import APP, rows, wait_for_rows
from tests.support import netns_lab
from tests.support.netns_lab import SERVER_ADDRESS, TUNNEL_ADDRESS, Lab
from tests.support.servers import Mitmdump


class WireGuardProxy(Mitmdump):
    """``borderflow proxy --mode wireguard`` on the phone's link, as the README runs it."""

    listening = re.compile(r"WireGuard server listening at \[?([0-9a-fA-F.:]+?)\]?:(\d+)\.")

    def argv(self) -> list[str]:
        borderflow = Path(sys.executable).with_name("borderflow")
        return [
            *(str(borderflow), "proxy", "--db", str(self.db), "--confdir", str(self.confdir)),
            *(
                "--mode",
                "wireguard",
                "--listen-host",
                netns_lab.PROXY_ADDRESS,
                "--listen-port",
                "0",
            ),
            *self.options,
        ]


@dataclass(frozen=True)
class Setup:
    lab: Lab
    proxy: WireGuardProxy
    app_ca: Path  # the CA the app's servers use: all a pinning app trusts


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    why = netns_lab.missing()
    if why is not None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip there would hide that
            pytest.fail(f"the WireGuard lab {why}")
        pytest.skip(f"the WireGuard lab {why}")
    workdir = tmp_path_factory.mktemp("wireguard")
    ca = trustme.CA()
    app_ca, cert, key = workdir / "app-ca.pem", workdir / "server.pem", workdir / "server.key"
    ca.cert_pem.write_to_path(str(app_ca))
    issued = ca.issue_cert("api.example-pay.test", "pinned.example-pay.test")
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    with Lab(workdir) as lab:
        lab.serve(cert, key)
        proxy = WireGuardProxy(
            workdir / "proxy",
            options=["--app", APP, "--set", f"ssl_verify_upstream_trusted_ca={app_ca}"],
        )
        with proxy:
            keys = json.loads((proxy.confdir / "wireguard.conf").read_text())
            server_public = mitmproxy_rs.wireguard.pubkey(keys["server_key"])
            lab.tunnel(proxy.port, keys["client_key"], server_public)
            yield Setup(lab, proxy, app_ca)
        assert proxy.process is not None
        assert proxy.process.returncode == 0, proxy.output()


def test_the_phones_https_exchange_is_recorded_with_its_own_addresses(setup: Setup) -> None:
    body = {"email": "li.wei@example.com", "lat": 48.858370, "lng": 2.294481}
    status = setup.lab.phone_app(
        "post",
        "api.example-pay.test",
        "--cafile",
        str(setup.proxy.ca_pem),
        "--body",
        json.dumps(body),
    )
    assert status == "HTTP/1.1 200 OK"

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
    status = setup.lab.phone_app(
        "post", "pinned.example-pay.test", "--cafile", str(setup.app_ca), "--body", "{}"
    )
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
    setup.lab.phone_app("post", host, "--cafile", str(setup.app_ca), "--body", "{}")  # pins it
    args = ["--split-hello"] if split_hello else []
    status = setup.lab.phone_app("post", host, "--cafile", str(setup.app_ca), "--body", "{}", *args)
    assert status == "HTTP/1.1 200 OK"  # the app's own CA: the proxy stayed out of the way

    passed = wait_for_rows(
        setup.proxy.db,
        "SELECT * FROM conn WHERE server_name = ? AND not_decrypted_why = 'passed_through'",
        host,
        count=2 if split_hello else 1,
    )
    assert {(c["resp_h"], c["resolved_by"]) for c in passed} == {(SERVER_ADDRESS, "device")}


def test_the_phones_dns_lookups_through_the_tunnel_become_dns_rows(setup: Setup) -> None:
    assert setup.lab.phone_app("dns", "mgw.alipay.com") == SERVER_ADDRESS

    (lookup,) = wait_for_rows(setup.proxy.db, "SELECT * FROM dns WHERE query = 'mgw.alipay.com'")
    assert (lookup["qtype_name"], lookup["rcode"], lookup["answers"]) == ("A", 0, SERVER_ADDRESS)


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

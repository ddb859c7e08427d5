"""Transparent mode end to end: the phone's gateway is the computer, which hands its HTTPS to the proxy.

The other device mode of the README: the phone routes through the researcher's computer, whose
firewall redirects the app's connections to ``borderflow proxy --mode transparent``; the proxy
learns each connection's real destination from the kernel. Here the computer is the lab's
router namespace with an nftables redirect (``tests/e2e/lab.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import rows, wait_for_rows
from tests.e2e.lab import Setup, lab_with_proxy
from tests.support import netns_lab
from tests.support.netns_lab import PHONE_ADDRESS, SERVER_ADDRESS


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with lab_with_proxy(tmp_path_factory.mktemp("transparent"), "transparent") as setup:
        setup.lab.redirect(netns_lab.HTTPS_PORT, setup.proxy.port)
        yield setup


def test_the_phones_https_exchange_is_recorded_with_the_destination_it_chose(
    setup: Setup,
) -> None:
    body = {"phone": "+33 6 12 34 56 78", "adid": "38400000-8cf0-11bd-b23e-10b96e40000d"}
    assert setup.app_posts("api.example-pay.test", body) == "HTTP/1.1 200 OK"

    db = setup.proxy.db
    (conn,) = wait_for_rows(db, "SELECT * FROM conn WHERE server_name = 'api.example-pay.test'")
    assert conn["proxy_mode"] == "transparent"
    assert conn["orig_h"] == PHONE_ADDRESS
    assert (conn["resp_h"], conn["resp_p"]) == (SERVER_ADDRESS, netns_lab.HTTPS_PORT)
    assert conn["resolved_by"] == "device"
    assert conn["decrypted"] == 1
    found = wait_for_rows(
        db, "SELECT category FROM finding WHERE uid = ? ORDER BY category", conn["uid"], count=2
    )
    assert [f["category"] for f in found] == ["contact.phone", "identifiers.advertising"]


def test_a_pinning_app_is_recorded_then_passed_through(setup: Setup) -> None:
    host = "pinned.example-pay.test"
    assert setup.app_posts(host, {}, pinning=True).startswith("rejected")
    assert setup.app_posts(host, {}, pinning=True) == "HTTP/1.1 200 OK"

    found = wait_for_rows(
        setup.proxy.db,
        "SELECT * FROM conn WHERE server_name = ? ORDER BY ts",
        host,
        count=2,
    )
    assert [c["not_decrypted_why"] for c in found] == ["pinned_tls", "passed_through"]
    assert {(c["orig_h"], c["resp_h"]) for c in found} == {(PHONE_ADDRESS, SERVER_ADDRESS)}
    assert rows(setup.proxy.db, "SELECT * FROM http WHERE uid = ?", found[1]["uid"]) == []


def test_a_database_that_becomes_unwritable_stops_the_proxy_with_status_1(setup: Setup) -> None:
    """Last in this module: it stops the proxy. Nothing goes through unrecorded, and a script
    running ``borderflow proxy`` sees that it failed."""
    setup.proxy.make_database_unwritable()
    setup.app_posts("api.example-pay.test", {"n": 1})
    assert setup.proxy.wait(60) == 1
    (line,) = [x for x in setup.proxy.output().splitlines() if "stopping the proxy" in x]
    assert str(setup.proxy.db) in line

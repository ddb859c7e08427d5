"""The demo capture `make demo` replays shows what it was recorded to show."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from borderflow.analysis.replay import replay_file
from tests.conftest import REPO

DEMO = REPO / "captures" / "demo.mitm"


def test_demo_capture_yields_the_planted_personal_data_per_destination(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    replay_file(DEMO, db, app="com.example.wallet")
    with sqlite3.connect(db) as conn:
        found = set(
            conn.execute(
                "SELECT conn.server_name, finding.category FROM finding JOIN conn USING (uid) "
                "WHERE finding.direction = 'request'"
            )
        )
        services = dict(
            conn.execute("SELECT server_name, coalesce(service, not_decrypted_why) FROM conn")
        )
    assert {
        ("mobilegw.alipay.com", "identifiers.device"),
        ("mobilegw.alipay.com", "location.precise"),
        ("mobilegw.alipay.com", "contact.phone"),
        ("ulogs.umeng.com", "identifiers.device"),
        ("restapi.amap.com", "location.precise"),
        ("tsis.jpush.cn", "contact.email"),
        ("api.example-pay.test", "financial.card"),
        ("push.example-pay.test", "contact.phone"),
    } <= found
    assert services["push.example-pay.test"] == "websocket"
    assert services["tcp.example-pay.test"] == "not_tls"
    assert len(services) == 10


def test_replaying_the_demo_twice_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    replay_file(DEMO, db)
    before = db.read_bytes()
    assert replay_file(DEMO, db).skipped
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM capture").fetchone() == (1,)
    assert len(before) > 0

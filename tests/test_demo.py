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
        servers = {
            name: (resp_h, resp_p)
            for name, resp_h, resp_p in conn.execute("SELECT server_name, resp_h, resp_p FROM conn")
        }
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
    # The loopback addresses of the recording were rewritten to the operators' (make_demo.py).
    assert servers["mobilegw.alipay.com"] == ("8.209.64.17", 443)  # Alibaba Cloud, Frankfurt
    assert servers["android.bugly.qq.com"] == ("119.28.1.17", 443)  # Tencent Cloud, Hong Kong
    assert servers["tcp.example-pay.test"] == ("88.198.10.19", 5222)
    assert not any(resp_h.startswith("127.") for resp_h, _ in servers.values())


def test_replaying_the_demo_twice_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    replay_file(DEMO, db)
    before = db.read_bytes()
    assert replay_file(DEMO, db).skipped
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM capture").fetchone() == (1,)
    assert len(before) > 0

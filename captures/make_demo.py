"""Record captures/demo.mitm: real client traffic through a real mitmdump, all on 127.0.0.1.

Local servers (``tests/support/servers.py``) stand in for a payment app's backends and the SDK
collectors inside it; the client sends what such SDKs send (form posts wrapping JSON, gzip
bodies, query strings, a WebSocket, a length-prefixed binary protocol), carrying made-up
personal data. mitmdump runs with the borderflow recorder and ``-w`` writes the flow file; the
test-only ``loopback_upstream.py`` addon sends every hostname to the local servers before
mitmproxy resolves anything, so nothing leaves the machine.

Every connection of the recording therefore went to 127.0.0.1, and a report of it would show no
geography. After recording, each flow's server address (``server_conn.peername``, which replay
reads as ``conn.resp_h``/``resp_p``) is rewritten to ``ADDRESSES[host]``: an example public
address from the announced ranges of that host's real operator (checked against the bundled
geolocation and ASN data with ``borderflow geo lookup``), with the port the client asked for.
This is a fixture rewrite, substituted for the loopback addresses the recording used: no traffic
to those addresses ever happened, and none is sent by this script.

    .venv/bin/python captures/make_demo.py captures/demo.mitm     (make demo-capture)
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

import httpx
from mitmproxy import io
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.support

from tests.support.servers import (
    TCP_HOST,
    Mitmdump,
    Upstream,
    connect_tunnel,
    encode_frame,
    read_frame,
)

HOSTS = (
    "mobilegw.alipay.com",
    "ulogs.umeng.com",
    "launches.appsflyer.com",
    "restapi.amap.com",
    "tsis.jpush.cn",
    "api.example-pay.test",
    "firebaseinstallations.googleapis.com",
    "android.bugly.qq.com",
    "push.example-pay.test",
)

# The address each host's flows are rewritten to (never contacted): example addresses from the
# operator's announced ranges, with what the bundled data says of them (`borderflow geo lookup`).
ADDRESSES = {
    # AS45102 Alibaba Cloud, located in DE (Frankfurt region): in the EU, still Alibaba's (CN).
    "mobilegw.alipay.com": "8.209.64.17",
    # AS37963 Alibaba Cloud (Aliyun), CN: Umeng and AutoNavi are Alibaba Group's.
    "ulogs.umeng.com": "106.11.248.17",
    "restapi.amap.com": "203.119.169.17",
    # AS16509 Amazon Web Services, IE: AppsFlyer (IL) on a US-owned cloud in the EU.
    "launches.appsflyer.com": "52.19.0.17",
    # AS4134 China Telecom, CN: the JPush (Aurora Mobile) push SDK's collector.
    "tsis.jpush.cn": "183.3.226.17",
    # AS15169 Google, US.
    "firebaseinstallations.googleapis.com": "142.251.16.17",
    # AS132203 Tencent Cloud international, HK: Tencent's crash reporter.
    "android.bugly.qq.com": "119.28.1.17",
    # AS24940 Hetzner Online, DE: the payment app's own backend, in the EU (not cross-border).
    "api.example-pay.test": "88.198.10.17",
    "push.example-pay.test": "88.198.10.18",
    TCP_HOST: "88.198.10.19",
}
UA = "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)"

# Made-up test identities: Luhn-valid IMEI and card test numbers, a documented example ad ID.
IMEI = "490154203237518"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PHONE = "+8613812345678"
EMAIL = "li.wei.demo@example.com"
LAT, LNG = 31.230416, 121.473701


def app_traffic(proxy: Mitmdump) -> None:
    """What the payment app and its SDKs send while a user logs in and pays."""
    with httpx.Client(proxy=proxy.url, verify=str(proxy.ca_pem), headers={"user-agent": UA}) as c:
        request_data = [
            {"imei": IMEI, "latitude": str(LAT), "longitude": str(LNG), "mobile": PHONE}
        ]
        c.post(
            "https://mobilegw.alipay.com/mgw.htm",
            data={
                "operationType": "alipay.mobile.location.report",
                "requestData": json.dumps(request_data),
            },
        )
        umeng = {
            "header": {"imei": IMEI, "oaid": GAID, "device_model": "Pixel 7", "os": "Android"},
            "content": {"ekv": [{"id": "pay_click", "ts": 1767225600123}]},
        }
        c.post(
            "https://ulogs.umeng.com/unify_logs",
            content=gzip.compress(json.dumps(umeng).encode(), mtime=0),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        c.post(
            "https://launches.appsflyer.com/api/v6.12/androidevent?app_id=com.example.wallet",
            json={
                "advertiserId": GAID,
                "eventName": "af_purchase",
                "af_timestamp": "1767225600456",
            },
        )
        c.get(f"https://restapi.amap.com/v3/geocode/regeo?key=demo&lat={LAT}&lng={LNG}&radius=100")
        c.post(
            "https://tsis.jpush.cn/v3/report",
            json={"platform": "a", "email": EMAIL, "phone": PHONE},
        )
        c.post(
            "https://api.example-pay.test/v1/cards",
            json={"card_number": "4111 1111 1111 1111", "holder": "Li Wei", "email": EMAIL},
        )
        c.post(
            "https://firebaseinstallations.googleapis.com/v1/projects/wallet-demo/installations",
            json={
                "fid": "cZ3vQ5h8RkO2",
                "appId": "1:123456789:android:abcdef",
                "sdkVersion": "a:17.2.0",
            },
        )
        c.post(
            "https://android.bugly.qq.com/rqd/async?aid=7c5f2d1e",
            json={"deviceId": IMEI, "model": "Pixel 7", "crashTime": 1767225601000},
        )


def websocket_traffic(proxy: Mitmdump) -> None:
    """A push channel: the app binds the logged-in user to its connection."""
    ssl_context = proxy.client_ssl_context()
    with connect(
        "wss://push.example-pay.test/ws", proxy=proxy.url, ssl=ssl_context, user_agent_header=UA
    ) as ws:
        ws.send(json.dumps({"type": "bind", "userId": "2088102112345678", "mobile": PHONE}))
        ws.recv()
        ws.send(json.dumps({"type": "heartbeat", "ts": 1767225602000}))
        ws.recv()


def tcp_traffic(proxy: Mitmdump) -> None:
    """A length-prefixed binary protocol, as IM and push SDKs use, through HTTP CONNECT."""
    with connect_tunnel(proxy.port, TCP_HOST, 5222) as s:
        login = {"cmd": "login", "uid": "2088102112345678", "lat": LAT, "lng": LNG}
        s.sendall(encode_frame(1, json.dumps(login).encode()))
        read_frame(s)


def relocate(recorded: Path, out: Path) -> None:
    """Copy the flow file, each flow's server address replaced by ``ADDRESSES[host]``."""
    with recorded.open("rb") as src, out.open("wb") as dst:
        writer = io.FlowWriter(dst)
        for item in io.FlowReader(src).stream():
            server = item.server_conn
            host, port = server.address if server.address else (None, 0)
            if host not in ADDRESSES:
                raise SystemExit(f"{recorded}: no demo address for server {host!r}")
            server.peername = (ADDRESSES[host], port)
            writer.add(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("output", type=Path)
    out = parser.parse_args().output.resolve()
    partial = out.with_suffix(".partial")
    recorded = out.with_suffix(".loopback")
    with tempfile.TemporaryDirectory() as tmp, Upstream(Path(tmp) / "upstream", HOSTS) as upstream:
        proxy = Mitmdump(Path(tmp) / "proxy", upstream=upstream, options=["-w", str(recorded)])
        with proxy:
            app_traffic(proxy)
            websocket_traffic(proxy)
            tcp_traffic(proxy)
    relocate(recorded, partial)
    recorded.unlink()
    partial.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Record captures/demo.mitm: real client traffic through a real mitmdump, all on 127.0.0.1.

Local servers stand in for a payment app's backends and the SDK collectors inside it; the
client sends what such SDKs send (form posts wrapping JSON, gzip bodies, query strings, a
WebSocket, a length-prefixed binary protocol), carrying made-up personal data. mitmdump runs
with the borderflow recorder and ``-w`` writes the flow file; ``loopback_map.py`` sends every
hostname to the local servers before mitmproxy resolves anything.

    .venv/bin/python captures/make_demo.py captures/demo.mitm     (make demo-capture)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.server
import json
import re
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import trustme
from websockets.asyncio.server import serve
from websockets.sync.client import connect

from borderflow.analysis.cli import entry_script

HERE = Path(__file__).resolve().parent
HTTPS_HOSTS = [
    "mobilegw.alipay.com",
    "ulogs.umeng.com",
    "launches.appsflyer.com",
    "restapi.amap.com",
    "sdk.sensorsdata.cn",
    "tsis.jpush.cn",
    "api.example-pay.test",
    "firebaseinstallations.googleapis.com",
    "android.bugly.qq.com",
]
WS_HOST = "push.example-pay.test"
TCP_HOST = "im.example-pay.test"
UA = "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)"

# Made-up test identities: Luhn-valid IMEI and card test numbers, a documented example ad ID.
IMEI = "490154203237518"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PHONE = "+8613812345678"
EMAIL = "li.wei.demo@example.com"
LAT, LNG = 31.230416, 121.473701


class _Api(http.server.BaseHTTPRequestHandler):
    """Answers every request with a small JSON body, after reading the request body."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        body = json.dumps({"code": 0, "msg": "success", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json;charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def https_server(ca: trustme.CA) -> Iterator[int]:
    cert = ca.issue_cert(*HTTPS_HOSTS)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def async_servers(ca: trustme.CA) -> Iterator[tuple[int, int]]:
    """A WebSocket echo server (TLS) and a length-prefixed TCP server, on one event loop."""
    loop = asyncio.new_event_loop()
    cert = ca.issue_cert(WS_HOST)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(json.dumps({"ack": True, "len": len(message)}))

    async def frames(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while header := await reader.read(4):
            (size,) = struct.unpack("!I", header)
            await reader.readexactly(size)
            writer.write(struct.pack("!I", 2) + b"OK")
            await writer.drain()
        writer.close()

    async def start() -> tuple[Any, asyncio.Server]:
        ws = await serve(echo, "127.0.0.1", 0, ssl=context)
        tcp = await asyncio.start_server(frames, "127.0.0.1", 0)
        return ws, tcp

    ws_server, tcp_server = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        ws_port = next(iter(ws_server.sockets)).getsockname()[1]
        yield ws_port, tcp_server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


@contextmanager
def mitmdump(
    flow_file: Path, confdir: Path, ca_pem: Path, mapping: dict[str, int]
) -> Iterator[int]:
    """A real mitmdump with the recorder, writing ``flow_file``; yields its port."""
    argv = [
        str(Path(sys.executable).with_name("mitmdump")),
        *("-s", str(entry_script()), "-s", str(HERE / "loopback_map.py")),
        *("--listen-host", "127.0.0.1", "--listen-port", "0", "-w", str(flow_file)),
        *("--set", f"confdir={confdir}", "--set", f"borderflow_db={confdir / 'demo.db'}"),
        *("--set", f"ssl_verify_upstream_trusted_ca={ca_pem}"),
        *("--set", "loopback_map=" + ",".join(f"{h}={p}" for h, p in mapping.items())),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if found := re.search(r"listening at 127\.0\.0\.1:(\d+)", line):
                yield int(found.group(1))
                break
        else:
            raise SystemExit(f"mitmdump exited before listening (status {proc.wait()})")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def app_traffic(proxy: str, ca_pem: Path) -> None:
    """What the payment app and its SDKs send while a user logs in and pays."""
    with httpx.Client(proxy=proxy, verify=str(ca_pem), headers={"user-agent": UA}) as c:
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


def websocket_traffic(proxy: str, ca_pem: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca_pem))
    with connect(f"wss://{WS_HOST}/ws", proxy=proxy, ssl=context, user_agent_header=UA) as ws:
        ws.send(json.dumps({"type": "bind", "userId": "2088102112345678", "mobile": PHONE}))
        ws.recv()
        ws.send(json.dumps({"type": "heartbeat", "ts": 1767225602000}))
        ws.recv()


def tcp_traffic(port: int) -> None:
    """A length-prefixed binary protocol, as IM and push SDKs use, through HTTP CONNECT."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"CONNECT {TCP_HOST}:5222 HTTP/1.1\r\nHost: {TCP_HOST}:5222\r\n\r\n".encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        payload = json.dumps(
            {"cmd": "login", "uid": "2088102112345678", "lat": LAT, "lng": LNG}
        ).encode()
        s.sendall(struct.pack("!I", len(payload)) + payload)
        s.recv(6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    out = parser.parse_args().output.resolve()
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp:
        confdir = Path(tmp)
        ca_pem = confdir / "upstream-ca.pem"
        ca.cert_pem.write_to_path(str(ca_pem))
        with https_server(ca) as api, async_servers(ca) as (ws_port, tcp_port):
            mapping = {h: api for h in HTTPS_HOSTS} | {WS_HOST: ws_port, TCP_HOST: tcp_port}
            partial = out.with_suffix(".partial")
            with mitmdump(partial, confdir, ca_pem, mapping) as port:
                proxy = f"http://127.0.0.1:{port}"
                proxy_ca = confdir / "mitmproxy-ca-cert.pem"
                app_traffic(proxy, proxy_ca)
                websocket_traffic(proxy, proxy_ca)
                tcp_traffic(port)
            partial.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

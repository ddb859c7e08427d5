"""A phone, a router with the proxy, and the app's servers, in network namespaces of their own.

Three namespaces this test run creates and removes, reachable only from each other: "phone"
(the device: its app, and for WireGuard mode ``wireguard-go``, a userspace WireGuard client on
a TUN device, as the WireGuard app on a phone), "router" (where ``borderflow proxy`` runs, as
on the researcher's computer) and "server" (the app's stand-in servers, HTTPS and DNS). The
phone's link and the server's link both end in the router; the machine's own network is never
touched. Addresses are from 198.18.0.0/15, the range set aside for network tests (RFC 2544).

- WireGuard mode: ``tunnel`` brings the phone's WireGuard interface up, every route through it.
- Transparent mode: the phone's default route is the router, and ``redirect`` makes the
  router's nftables hand the phone's HTTPS connections to the proxy's port.

Needs root (namespaces, a TUN device), iproute2's ``ip``, ``nft``, ``wireguard-go``, ``wg`` and
``tcpdump`` (Debian: iproute2, nftables, wireguard-go, wireguard-tools, tcpdump); ``missing()``
says what is absent.

Run as a module inside a namespace it is one of the parties: ``serve`` (the servers: HTTPS,
HTTP/3 and DNS), ``post``, ``post3`` and ``dns`` (the phone's app).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aioquic.asyncio.client import connect as quic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import serve as quic_serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent

from tests.support.tls_client import tls_over_tunnel

ROUTER_ADDRESS = "198.18.0.1"  # the router on the phone's link: the proxy listens here
PHONE_ADDRESS = "198.18.0.2"
ROUTER_SERVER_SIDE = "198.18.1.1"  # the router on the server's link
SERVER_ADDRESS = "198.18.1.2"
TUNNEL_ADDRESS = "10.0.0.1"  # what mitmproxy's client configuration gives the phone
HTTPS_PORT = 8443
DNS_PORT = 53
_TOOLS = {
    "ip": "iproute2",
    "nft": "nftables",
    "wireguard-go": "wireguard-go",
    "wg": "wireguard-tools",
}


def missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, a TUN device)"
    for tool, package in _TOOLS.items():
        if shutil.which(tool) is None:
            return f"needs {tool} (Debian package {package})"
    if not Path("/dev/net/tun").exists():
        return "needs /dev/net/tun"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class Lab:
    """The three namespaces and their links; the proxy is started in ``router`` by the caller."""

    def __init__(self, workdir: Path) -> None:
        tag = os.getpid() % 100_000
        self.workdir = workdir
        self.phone, self.router, self.server = (f"bf{n}{tag}" for n in ("phone", "router", "srv"))
        self.wireguard = f"bfwg{tag}"
        self._processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Self:
        try:
            for ns in (self.phone, self.router, self.server):
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            for ns, side, router_address, address in (
                (self.phone, "phone", ROUTER_ADDRESS, PHONE_ADDRESS),
                (self.server, "server", ROUTER_SERVER_SIDE, SERVER_ADDRESS),
            ):
                _ip("-n", ns, "link", "add", "bf0", "type", "veth", "peer", "name", side)
                _ip("-n", ns, "link", "set", side, "netns", self.router)
                _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "bf0")
                _ip("-n", ns, "link", "set", "bf0", "up")
                _ip("-n", self.router, "addr", "add", f"{router_address}/24", "dev", side)
                _ip("-n", self.router, "link", "set", side, "up")
            _ip("-n", self.phone, "route", "add", "default", "via", ROUTER_ADDRESS)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process started here and remove the namespaces (their links go too)."""
        for process in self._processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
            if process.stdout is not None:
                process.stdout.close()
        for ns in (self.phone, self.router, self.server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        Path(f"/var/run/wireguard/{self.wireguard}.sock").unlink(missing_ok=True)

    def spawn(
        self, ns: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start ``argv`` inside namespace ``ns``; stopped by ``close``."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self._processes.append(process)
        return process

    def run(self, ns: str, argv: list[str], timeout: float = 60) -> str:
        """Run ``argv`` inside ``ns``; its output, or RuntimeError with what it said."""
        done = subprocess.run(
            ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def serve(self, cert: Path, key: Path) -> None:
        """Start the servers in the server namespace and wait until they listen."""
        process = self.spawn(
            self.server, [*_this_module(), "serve", "--cert", str(cert), "--key", str(key)]
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the servers did not start: {line}{process.stdout.read()}")

    def tunnel(self, endpoint_port: int, client_key: str, server_public_key: str) -> None:
        """Bring the phone's WireGuard interface up, with every route through it."""
        self.spawn(self.phone, ["wireguard-go", self.wireguard], env={"WG_PROCESS_FOREGROUND": "1"})
        socket_path = Path(f"/var/run/wireguard/{self.wireguard}.sock")
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"wireguard-go did not open {socket_path}")
            time.sleep(0.02)
        key = self.workdir / "phone.key"
        key.write_text(client_key + "\n")
        key.chmod(0o600)
        endpoint = f"{ROUTER_ADDRESS}:{endpoint_port}"
        self.run(
            self.phone,
            ["wg", "set", self.wireguard, "private-key", str(key), "peer", server_public_key,
             "endpoint", endpoint, "allowed-ips", "0.0.0.0/0"],
        )  # fmt: skip
        _ip("-n", self.phone, "addr", "add", f"{TUNNEL_ADDRESS}/32", "dev", self.wireguard)
        _ip("-n", self.phone, "link", "set", self.wireguard, "up")
        _ip("-n", self.phone, "route", "replace", "default", "dev", self.wireguard)

    def redirect(self, port: int, to_port: int) -> None:
        """Hand the phone's TCP connections to ``port`` to the router's ``to_port`` (nftables)."""
        rules = (
            "table ip borderflow {\n"
            "  chain prerouting {\n"
            "    type nat hook prerouting priority dstnat;\n"
            f'    iifname "phone" tcp dport {port} redirect to :{to_port}\n'
            "  }\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.router, "nft", "-f", "-"],
            input=rules, check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def phone_app(self, *args: str) -> str:
        """Run the phone's app (``post`` or ``dns``) in the phone namespace; what it printed."""
        return self.run(self.phone, [*_this_module(), *args]).strip()


def _this_module() -> list[str]:
    return [sys.executable, "-m", __name__]


# -- the parties, when run as a module ---------------------------------------------------------


async def _https(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    body = json.dumps({"ok": True}).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()


class _Dns(asyncio.DatagramProtocol):
    """Answers every A question with the server's own address."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        (query_id,) = struct.unpack_from("!H", data)
        question = data[12:]
        end = question.index(b"\0") + 5  # the name, then type and class
        answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(SERVER_ADDRESS)
        header = struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0)
        self.transport.sendto(header + question[:end] + answer, addr)


_ANSWER = json.dumps({"ok": True}).encode()


class _Http3Server(QuicConnectionProtocol):
    """Answers every HTTP/3 request, once its body is in, with a small JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3: H3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            self._h3 = H3Connection(self._quic)
        if self._h3 is None:
            return
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived | DataReceived) and h3_event.stream_ended:
                headers = [(b":status", b"200"), (b"content-type", b"application/json")]
                self._h3.send_headers(h3_event.stream_id, headers)
                self._h3.send_data(h3_event.stream_id, _ANSWER, end_stream=True)
                self.transmit()


class _Http3Client(QuicConnectionProtocol):
    """Sends one POST and waits for its answer's status."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        self.status = asyncio.get_running_loop().create_future()

    def post(self, host: str, body: bytes) -> None:
        stream = self._quic.get_next_available_stream_id()
        self._h3.send_headers(
            stream,
            [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", host.encode()),
             (b":path", b"/v1/track"), (b"content-type", b"application/json")],
        )  # fmt: skip
        self._h3.send_data(stream, body, end_stream=True)
        self.transmit()

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived) and not self.status.done():
                self.status.set_result(dict(h3_event.headers).get(b":status", b"?").decode())


async def _serve(cert: str, key: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await asyncio.start_server(_https, SERVER_ADDRESS, HTTPS_PORT, ssl=context)
    quic = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    quic.load_cert_chain(Path(cert), Path(key))
    await quic_serve(SERVER_ADDRESS, HTTPS_PORT, configuration=quic, create_protocol=_Http3Server)
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(_Dns, local_addr=(SERVER_ADDRESS, DNS_PORT))
    print("ready", flush=True)
    await server.serve_forever()


async def _post3(host: str, cafile: str, body: str) -> str:
    """``_post`` over HTTP/3 (QUIC, UDP) to the same address and port."""
    quic = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=host)
    quic.load_verify_locations(cafile)
    try:
        async with (
            asyncio.timeout(30),
            quic_connect(
                SERVER_ADDRESS, HTTPS_PORT, configuration=quic, create_protocol=_Http3Client
            ) as client,
        ):
            assert isinstance(client, _Http3Client)
            client.post(host, body.encode())
            return f"HTTP/3 {await client.status}"
    except ConnectionError as e:
        return f"rejected: {e}"


def _post(host: str, cafile: str, body: str, *, split_hello: bool, keylog: str | None) -> str:
    """POST ``body`` to ``host`` at the server's address, as an app with its own trust store.

    ``split_hello`` sends the ClientHello in two segments, as large hellos arrive; ``keylog``
    is where the app writes its TLS secrets (SSLKEYLOGFILE), as an instrumented app does.
    """
    context = ssl.create_default_context(cafile=cafile)
    if keylog is not None:
        context.keylog_filename = keylog
    data = body.encode()
    request = (
        f"POST /v1/track HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
    ) + data
    with socket.create_connection((SERVER_ADDRESS, HTTPS_PORT), timeout=30) as sock:
        try:
            _, response, _, _ = tls_over_tunnel(
                sock, context, host, request, split_hello=split_hello
            )
        except ssl.SSLError as e:
            return f"rejected: {e.reason}"
    return response.split(b"\r\n", 1)[0].decode()


def _dns(name: str) -> str:
    """Ask the server's resolver for ``name``; the address it answered."""
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(30)
        sock.sendto(query, (SERVER_ADDRESS, DNS_PORT))
        reply = sock.recv(512)
    return socket.inet_ntoa(reply[-4:])


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--cert", required=True)
    serve.add_argument("--key", required=True)
    post = commands.add_parser("post")
    post.add_argument("host")
    post.add_argument("--cafile", required=True)
    post.add_argument("--body", required=True)
    post.add_argument("--split-hello", action="store_true")
    post.add_argument("--keylog")
    post3 = commands.add_parser("post3")
    post3.add_argument("host")
    post3.add_argument("--cafile", required=True)
    post3.add_argument("--body", required=True)
    dns = commands.add_parser("dns")
    dns.add_argument("name")
    args = parser.parse_args()
    if args.command == "serve":
        asyncio.run(_serve(args.cert, args.key))
    elif args.command == "post":
        print(
            _post(
                args.host, args.cafile, args.body, split_hello=args.split_hello, keylog=args.keylog
            )
        )
    elif args.command == "post3":
        print(asyncio.run(_post3(args.host, args.cafile, args.body)))
    else:
        print(_dns(args.name))


if __name__ == "__main__":
    main()

"""The parties of the network-namespace lab (``netns_lab.py``), each run as this module inside
its namespace: ``serve`` (the app's servers: HTTPS, HTTP/3 and DNS on the server's address) and
``post``, ``post3`` and ``dns`` (the phone's app). Light on imports: each call starts a process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import ssl
import struct
from pathlib import Path
from typing import Any

from aioquic.asyncio.client import connect as quic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import serve as quic_serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent

from tests.support.netns_lab import DNS_PORT, HTTPS_PORT, SERVER_ADDRESS
from tests.support.tls_client import tls_over_tunnel

_ANSWER = json.dumps({"ok": True}).encode()  # every server's answer


async def _https(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(_ANSWER)}\r\nconnection: close\r\n\r\n".encode()
        + _ANSWER
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

"""A minimal HTTP/1.1 keep-alive origin server for the proxy benchmarks.

The benchmark compares two proxies against each other, so the origin behind them must be
cheap enough never to be the limit. The stdlib ``ThreadingHTTPServer`` spends most of its time
in thread hand-offs and header parsing; this server is a few asyncio stream callbacks that read
the request head, read the body fully (a proxy that forwards 100 KB uploads must have them
consumed, or the benchmark measures socket buffers), and answer with one fixed small JSON
response. It understands ``Content-Length`` and ``Transfer-Encoding: chunked`` and nothing
else it does not need.

Run it alone as ``python bench/upstream.py [--tls] --port 0``: it prints
``upstream listening at 127.0.0.1:PORT`` once it accepts connections, and serves until killed.
With ``--tls`` it uses a throwaway certificate for 127.0.0.1 issued by a ``trustme`` CA, so
clients (the proxy, with ``ssl_insecure``) must not verify it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys

import trustme

# Fixed response body: the size a tracking SDK's collector typically sends back.
RESPONSE_BODY = b'{"status":"ok","code":0,"message":"accepted","server_time":1767225600}'
RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(RESPONSE_BODY)).encode() + b"\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)
RESPONSE = RESPONSE_HEAD + RESPONSE_BODY
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

# Large enough for a 100 KB body plus headers in one buffer; asyncio's default (64 KiB)
# would only matter for readuntil() on the head, but a generous limit costs nothing here.
STREAM_LIMIT = 1 << 20
READY_PREFIX = "upstream listening at"


class BadRequest(Exception):
    """The client sent something this server does not parse; the connection is closed."""


def tls_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed chain for 127.0.0.1 (and localhost).

    Generated in memory at start-up so the benchmark leaves no key files behind.
    """
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> None:
    """Consume the request body announced by ``head`` and discard it."""
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError as e:
                raise BadRequest(f"bad Content-Length {value!r}") from e
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as e:
                raise BadRequest(f"bad chunk size {size_line!r}") from e
            if size == 0:
                # Trailers (usually none) end with an empty line.
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return
            await reader.readexactly(size + 2)
    elif length:
        await reader.readexactly(length)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve every request on one keep-alive connection until the client closes it."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # clean close between requests
            await _read_body(reader, head)
            writer.write(RESPONSE)
            # Only wait for the kernel when the buffer is backing up, not after every reply.
            if writer.transport.get_write_buffer_size() > 256 * 1024:
                await writer.drain()
    except BadRequest:
        writer.write(BAD_REQUEST)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
        pass  # clients (wrk, the proxy) drop connections mid-request when a run ends
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def start(host: str, port: int, *, tls: bool) -> asyncio.Server:
    """Listen on ``host``:``port`` (0 picks a free port); the caller reads the real one."""
    return await asyncio.start_server(
        handle,
        host,
        port,
        ssl=tls_context() if tls else None,
        limit=STREAM_LIMIT,
        backlog=1024,
    )


def bound_port(server: asyncio.Server) -> int:
    """The port the kernel gave ``server`` (the point of listening on port 0)."""
    port: int = server.sockets[0].getsockname()[1]
    return port


async def serve(host: str, port: int, *, tls: bool) -> None:
    """Run until SIGTERM or SIGINT, announcing the bound address on stdout first."""
    server = await start(host, port, tls=tls)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The runner parses this line to find the port; flush so it sees it immediately.
    print(f"{READY_PREFIX} {host}:{bound_port(server)}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``upstream.py [--tls] [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway cert")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, tls=args.tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""TLS spoken by hand over a plain socket, counting the bytes on the wire.

Light on imports: the WireGuard lab's phone (``netns_lab.py``, run inside a namespace) uses it
as well as the end-to-end tests.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time


def tls_over_tunnel(
    sock: socket.socket,
    context: ssl.SSLContext,
    server_name: str,
    request: bytes,
    *,
    split_hello: bool = False,
) -> tuple[bytes, bytes, int, int]:
    """Speak TLS over ``sock`` by hand, counting the bytes on the wire.

    ``split_hello`` sends the ClientHello in two writes a moment apart, as large (e.g.
    post-quantum) hellos arrive in several segments. Returns (ClientHello as sent, response,
    bytes sent, bytes received); reads to EOF.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    sent = received = 0
    hello = b""

    def flush() -> None:
        nonlocal sent, hello
        data = outgoing.read()
        if data:
            if not hello and split_hello:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.sendall(data[:60])
                time.sleep(0.3)  # the proxy reads, and decides, on the first part alone
                sock.sendall(data[60:])
            else:
                sock.sendall(data)
            hello = hello or data
            sent += len(data)

    def fill() -> bool:
        nonlocal received
        data = sock.recv(65536)
        received += len(data)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()
        return bool(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not fill():
                raise ConnectionError("closed during the handshake") from None
    flush()
    tls.write(request)
    flush()
    response = b""
    while True:
        try:
            chunk = tls.read(65536)
        except ssl.SSLWantReadError:
            if not fill():  # closed without close_notify, as mitmproxy does after its answer
                return hello, response, sent, received
            continue
        except ssl.SSLZeroReturnError:
            break  # the server's close_notify
        if not chunk:
            break  # ditto, as SSLObject reports it
        response += chunk
    with contextlib.suppress(ssl.SSLError):
        tls.unwrap()  # answer close_notify with ours, as TLS clients do
    flush()
    while fill():  # up to the server's FIN
        pass
    return hello, response, sent, received

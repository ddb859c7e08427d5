"""Record real TLS traffic on loopback: curl against a local server, tcpdump on ``lo``.

Each capture is one curl run against a server on 127.0.0.1 (this module's, or
``openssl s_server`` where Python's ssl module cannot choose the TLS 1.3 cipher suite), with
SSLKEYLOGFILE set so curl writes the secrets; tcpdump records only that server's port. curl
is told (``--resolve``) that api.wallet.test lives at 127.0.0.1, so the ClientHello carries a
realistic SNI. The certificate comes from a throw-away trustme CA.

Run through ``python -m tests.data.make_captures --record`` (root, tcpdump, curl, openssl).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "api.wallet.test"
REQUEST_JSON = {"email": "li.wei@example.com", "imei": "490154203237518", "amount": "88.00"}
RESPONSE_JSON = {"user": {"phone": "+86 138 0013 8000", "lat": 31.230416, "lon": 121.473701}}


def _response_body() -> bytes:
    return gzip.compress(json.dumps(RESPONSE_JSON).encode(), mtime=0)


class Server:
    """A small HTTPS (or HTTP) server speaking HTTP/1.1 and, via ALPN, HTTP/2."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _connection(self, raw: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            conn: socket.socket = raw
            if self.context is not None:
                conn = self.context.wrap_socket(raw, server_side=True)
            if isinstance(conn, ssl.SSLSocket) and conn.selected_alpn_protocol() == "h2":
                self._http2(conn)
            else:
                self._http1(conn)
            conn.close()

    def _http1(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                buf += conn.recv(65536)
            buf = buf[length:]
            body = _response_body()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )

    def _http2(self, conn: socket.socket) -> None:
        import h2.config
        import h2.connection
        import h2.events

        h2c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        h2c.initiate_connection()
        conn.sendall(h2c.data_to_send())
        while True:
            data = conn.recv(65536)
            if not data:
                return
            for event in h2c.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    h2c.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    body = _response_body()
                    h2c.send_headers(
                        event.stream_id,
                        [
                            (":status", "200"),
                            ("content-type", "application/json"),
                            ("content-encoding", "gzip"),
                            ("content-length", str(len(body))),
                        ],
                    )
                    h2c.send_data(event.stream_id, body, end_stream=True)
            conn.sendall(h2c.data_to_send())


@contextlib.contextmanager
def tcpdump(path: Path, port: int, proto: str = "tcp") -> Iterator[None]:
    proc = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-n", "-w", str(path), f"{proto} port {port}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    while "listening on" not in proc.stderr.readline():
        if proc.poll() is not None:
            raise RuntimeError("tcpdump did not start")
    time.sleep(0.5)  # "listening" is printed a moment before packets are really taken
    try:
        yield
    finally:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def curl(keys: Path, ca: Path, port: int, *requests: list[str]) -> None:
    """One curl run making ``requests`` (argument lists) in turn, reusing its connection."""
    command = ["curl"]
    for i, args in enumerate(requests):
        if i:
            command.append("--next")
        command += ["-sS", "-o", "/dev/null", "--cacert", str(ca)]
        command += ["--resolve", f"{HOST}:{port}:127.0.0.1", *args]
    subprocess.run(
        command,
        check=True,
        env={"SSLKEYLOGFILE": str(keys), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )


def _contexts(tmp: Path) -> tuple[Path, ssl.SSLContext, ssl.SSLContext, Path, Path]:
    import trustme

    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    ca_pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    rsa = ca.issue_cert(HOST, key_type=trustme.KeyType.RSA)
    ecdsa = trustme.CA(key_type=trustme.KeyType.ECDSA)
    ecdsa.cert_pem.write_to_path(str(tmp / "ca-ecdsa.pem"))
    ec_cert = ecdsa.issue_cert(HOST, key_type=trustme.KeyType.ECDSA)
    rsa_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    rsa.configure_cert(rsa_ctx)
    rsa_ctx.set_ciphers(  # TLS 1.2 suites to offer; TLS 1.3's are OpenSSL's defaults
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA"
    )
    rsa_ctx.set_alpn_protocols(["h2", "http/1.1"])
    ec_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ec_cert.configure_cert(ec_ctx)
    ec_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ec_ctx.set_ciphers("ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES128-CCM8")
    ec_ctx.set_alpn_protocols(["http/1.1"])
    cert_file, key_file = tmp / "server.pem", tmp / "server.key"
    rsa.cert_chain_pems[0].write_to_path(str(cert_file))
    rsa.private_key_pem.write_to_path(str(key_file))
    return ca_pem, rsa_ctx, ec_ctx, cert_file, key_file


def record_all(out: Path) -> None:
    """(Re)record every loopback capture into ``out``, each with its ``.keys`` file."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca, rsa_ctx, ec_ctx, cert_file, key_file = _contexts(tmp)
        body = json.dumps(REQUEST_JSON)
        url = f"https://{HOST}:{{port}}"

        def run(name: str, ctx: ssl.SSLContext | None, ca_file: Path, *requests: list[str]) -> None:
            server = Server(ctx)
            keys = out / f"{name}.keys"
            keys.unlink(missing_ok=True)
            filled = [[a.replace("{port}", str(server.port)) for a in r] for r in requests]
            with tcpdump(out / f"{name}.pcap", server.port):
                curl(keys, ca_file, server.port, *filled)
            server.close()
            print(f"recorded loopback/{name}.pcap")

        post = ["-H", "Content-Type: application/json", "-d", body]
        profile = url + "/v1/profile"
        balance = url + "/v1/balance?device=490154203237518"
        run(
            "tls13-http1",
            rsa_ctx,
            ca,
            ["--http1.1", "--tlsv1.3", *post, profile],
            ["--http1.1", "--tlsv1.3", balance],
        )
        run("tls13-h2", rsa_ctx, ca, ["--http2", *post, profile], ["--http2", balance])
        for name, cipher in (
            ("tls12-aes128gcm", "ECDHE-RSA-AES128-GCM-SHA256"),
            ("tls12-aes256gcm", "ECDHE-RSA-AES256-GCM-SHA384"),
            ("tls12-chacha20", "ECDHE-RSA-CHACHA20-POLY1305"),
            ("tls12-cbc", "ECDHE-RSA-AES128-SHA"),
        ):
            run(
                name,
                rsa_ctx,
                ca,
                ["--http1.1", "--tls-max", "1.2", "--ciphers", cipher, *post, profile],
            )
        for name, cipher in (
            ("tls12-aes128ccm", "ECDHE-ECDSA-AES128-CCM"),
            ("tls12-aes128ccm8", "ECDHE-ECDSA-AES128-CCM8"),
        ):
            args = ["--http1.1", "--tls-max", "1.2", "--ciphers", cipher, *post, profile]
            run(name, ec_ctx, tmp / "ca-ecdsa.pem", args)
        _record_openssl_tls13_ccm(out, ca, cert_file, key_file)
        form = "phone=%2B8613800138000&lat=31.2304&lon=121.4737"
        run("http-plain", None, ca, ["--http1.1", "-d", form, f"http://{HOST}:{{port}}/v1/locate"])
    _record_quic_initial(out)


def _record_openssl_tls13_ccm(out: Path, ca: Path, cert: Path, key: Path) -> None:
    """TLS 1.3 with TLS_AES_128_CCM_SHA256: Python's ssl cannot pick TLS 1.3 suites, openssl can."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "openssl",
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            f"127.0.0.1:{port}",
            "-cert",
            str(cert),
            "-key",
            str(key),
            "-tls1_3",
            "-ciphersuites",
            "TLS_AES_128_CCM_SHA256",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.1),
            ):
                break
            time.sleep(0.05)
        keys = out / "tls13-aes128ccm.keys"
        keys.unlink(missing_ok=True)
        with tcpdump(out / "tls13-aes128ccm.pcap", port):
            args = [
                "--tlsv1.3",
                "--tls13-ciphers",
                "TLS_AES_128_CCM_SHA256",
                f"https://{HOST}:{port}/",
            ]
            curl(keys, ca, port, args)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("recorded loopback/tls13-aes128ccm.pcap")


def _record_quic_initial(out: Path) -> None:
    """The first flight of aioquic's QUIC client (RFC 9000 v1), written as UDP packets."""
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection
    from scapy.layers.inet import IP, UDP

    from tests.data.make_captures import ethernet, pcap

    config = QuicConfiguration(
        is_client=True, alpn_protocols=["h3"], server_name="quic.wallet.test"
    )
    quic = QuicConnection(configuration=config)
    now = time.time()
    quic.connect(("192.0.2.20", 443), now=now)
    frames = []
    for i, (datagram, _addr) in enumerate(quic.datagrams_to_send(now=now)):
        packet = IP(src="10.0.2.15", dst="192.0.2.20") / UDP(sport=50123, dport=443) / datagram
        frames.append((now + i * 0.001, ethernet(bytes(packet))))
    (out / "quic-initial.pcap").write_bytes(pcap(1, frames))
    print("recorded loopback/quic-initial.pcap (aioquic, no network)")


def have_tools() -> bool:
    return all(shutil.which(t) for t in ("tcpdump", "curl", "openssl"))

"""Loopback-only stand-ins for an app's servers, and a real ``mitmdump`` with the recorder.

- ``Upstream``: an HTTPS server (HTTP/1.1 and HTTP/2 by ALPN, WebSocket echo, JSON answers)
  whose certificate, issued by its own ``trustme`` CA, names the apps' real hostnames; and a
  raw TCP server speaking a small length-prefixed binary protocol. Both listen on 127.0.0.1
  with ports the kernel picks, on one event loop in a background thread.
- ``Mitmdump``: ``mitmdump -s <borderflow entry> -s loopback_upstream.py`` on 127.0.0.1 port 0
  as a subprocess; reads the real port from its "listening at" log line and waits until the
  recorder has written its capture row. ``loopback_upstream.py`` sends every hostname to the
  ``Upstream`` before mitmproxy resolves anything, so nothing leaves the machine.

Independent of pytest: ``captures/make_demo.py`` can use the same pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import trustme
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from borderflow.analysis.cli import entry_script

LOOPBACK = "127.0.0.1"
# Names the upstream certificate is valid for; each test uses its own so that state the
# recorder keeps per host (hosts that rejected interception) never leaks between tests.
HOSTNAMES = (
    "mgw.alipay.com",
    "api.example-pay.test",
    "ws.example-pay.test",
    "pinned.example-pay.test",
    "passthrough.example-pay.test",
    "burst.example-pay.test",
    "localhost",
    LOOPBACK,
)
TCP_HOST = "tcp.example-pay.test"  # raw TCP: CONNECT to this name reaches the frame server
LOOPBACK_ADDON = Path(__file__).resolve().with_name("loopback_upstream.py")
# mitmproxy/proxy/mode_servers.py: f"{self.mode.description} listening at {addrs}."
LISTENING = re.compile(r"HTTP\(S\) proxy listening at \[?([0-9a-fA-F.:]+?)\]?:(\d+)\.")


def poll[T](check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.02) -> T:
    """Call ``check`` until it returns something truthy; TimeoutError naming ``what`` if not."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- the raw TCP protocol ----------------------------------------------------------------------

FRAME = struct.Struct("!2sBI")  # magic, kind, payload length
MAGIC = b"BF"


def encode_frame(kind: int, payload: bytes) -> bytes:
    """One frame of the test protocol: ``BF``, a kind byte, a 4-byte length, the payload."""
    return FRAME.pack(MAGIC, kind, len(payload)) + payload


def reply_to(kind: int, payload: bytes) -> bytes:
    """The server's answer to a frame: same kind with the high bit set, ``ACK`` + CRC-32."""
    return encode_frame(kind | 0x80, b"ACK" + struct.pack("!I", zlib.crc32(payload)))


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> bytes:
    """One whole frame (header and payload) as received."""
    head = recv_exactly(sock, FRAME.size)
    magic, _, size = FRAME.unpack(head)
    if magic != MAGIC:
        raise ConnectionError(f"not a frame: {head!r}")
    return head + recv_exactly(sock, size)


def connect_tunnel(proxy_port: int, host: str, port: int, *, timeout: float = 30) -> socket.socket:
    """A socket to the proxy on which ``CONNECT host:port`` succeeded, as a phone would open."""
    sock = socket.create_connection((LOOPBACK, proxy_port), timeout=timeout)
    try:
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: nothing after the head may be consumed
            if not chunk:
                raise ConnectionError(f"proxy closed the connection during CONNECT: {head!r}")
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"CONNECT {host}:{port} refused: {head!r}")
    except BaseException:
        sock.close()
        raise
    return sock


# -- the upstream servers ----------------------------------------------------------------------

SERVER_ID = "borderflow-test-upstream"


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI app: JSON answers to every HTTP request, an echo for WebSocket messages."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = json.dumps(
            {
                "server": SERVER_ID,
                "method": scope["method"],
                "path": scope["path"],
                "http_version": scope["http_version"],
                "received": len(body),
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
    elif scope["type"] == "websocket":
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(128)
    return sock


class Upstream:
    """The HTTPS and raw TCP servers; ``start``/``stop`` or use as a context manager."""

    def __init__(self, workdir: Path, hostnames: Sequence[str] = HOSTNAMES) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.hostnames = tuple(hostnames)
        self.ca = trustme.CA()
        self.ca_pem = workdir / "upstream-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        cert = self.ca.issue_cert(*self.hostnames)
        self._key_pem = workdir / "upstream-key.pem"
        self._chain_pem = workdir / "upstream-chain.pem"
        cert.private_key_pem.write_to_path(str(self._key_pem))
        with self._chain_pem.open("wb") as f:
            for blob in cert.cert_chain_pems:
                f.write(blob.bytes())
        self.https_port = 0
        self.tcp_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._tcp_writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle --

    def start(self, timeout: float = 30) -> Self:
        https_sock, tcp_sock = _listening_socket(), _listening_socket()
        self.https_port = https_sock.getsockname()[1]
        self.tcp_port = tcp_sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(https_sock, tcp_sock), name="upstream", daemon=True
        )
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the upstream servers did not start")
        if self._failure is not None:
            raise RuntimeError("the upstream servers failed to start") from self._failure
        return self

    def stop(self, timeout: float = 30) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the upstream servers did not stop")
        self._thread = None
        if self._failure is not None:
            raise RuntimeError("the upstream servers failed") from self._failure

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what clients and mitmdump need --

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this upstream's CA (and nothing else)."""
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        return context

    def mitmdump_options(self) -> list[str]:
        """``--set`` options for ``loopback_upstream.py`` and upstream certificate checks."""
        return [
            *("--set", f"loopback_upstream={LOOPBACK}:{self.https_port}"),
            *("--set", f"loopback_hosts={TCP_HOST}={LOOPBACK}:{self.tcp_port}"),
            *("--set", f"ssl_verify_upstream_trusted_ca={self.ca_pem}"),
        ]

    # -- the thread --

    def _run(self, https_sock: socket.socket, tcp_sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(https_sock, tcp_sock))
        except BaseException as e:  # noqa: BLE001 - surfaced by start() and stop()
            self._failure = e
        finally:
            self._started.set()
            loop.close()

    async def _main(self, https_sock: socket.socket, tcp_sock: socket.socket) -> None:
        self._stopping = asyncio.Event()
        config = HypercornConfig()
        config.bind = [f"fd://{https_sock.detach()}"]
        config.certfile = str(self._chain_pem)
        config.keyfile = str(self._key_pem)
        config.alpn_protocols = ["h2", "http/1.1"]
        config.graceful_timeout = 2.0
        config.accesslog = None
        config.errorlog = None
        tcp_server = await asyncio.start_server(self._serve_frames, sock=tcp_sock)
        https = asyncio.ensure_future(
            hypercorn_serve(upstream_app, config, shutdown_trigger=self._stopping.wait)  # type: ignore[arg-type]
        )
        self._started.set()
        await self._stopping.wait()
        tcp_server.close()
        for writer in list(self._tcp_writers):
            writer.close()
        # hypercorn waits for every connection to end; a client that keeps one open (an idle
        # HTTP/2 connection) would hold the shutdown for ever, so cut the stragglers off.
        await asyncio.wait({https}, timeout=config.graceful_timeout + 1)
        if not https.done():
            for task in asyncio.all_tasks():
                if task is not https and task is not asyncio.current_task():
                    task.cancel()
            await asyncio.wait({https}, timeout=5)
            https.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await https

    async def _serve_frames(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._tcp_writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readexactly(FRAME.size)
                except asyncio.IncompleteReadError:
                    return  # the client is done
                magic, kind, size = FRAME.unpack(head)
                if magic != MAGIC:
                    return
                payload = await reader.readexactly(size)
                writer.write(reply_to(kind, payload))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tcp_writers.discard(writer)
            writer.close()


# -- mitmdump ----------------------------------------------------------------------------------


def mitmdump_executable() -> Path:
    """The ``mitmdump`` next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("mitmdump")
    if beside.exists():
        return beside
    found = shutil.which("mitmdump")
    if found is None:
        raise FileNotFoundError("mitmdump is not installed next to this Python nor on PATH")
    return Path(found)


class Mitmdump:
    """A real ``mitmdump`` with the borderflow recorder, listening on 127.0.0.1, port 0."""

    listening = LISTENING  # the log line that gives the address; other modes log others

    def __init__(
        self,
        workdir: Path,
        *,
        upstream: Upstream | None = None,
        db: Path | None = None,
        options: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.confdir = workdir / "mitmproxy"
        self.db = db if db is not None else workdir / "borderflow.db"
        self.upstream = upstream
        self.options = list(options)
        self.env = env
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._closed = False
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None

    @property
    def ca_pem(self) -> Path:
        """mitmproxy's CA certificate: what a client must trust to be intercepted."""
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context trusting mitmproxy's CA: an app on a phone with the CA installed."""
        return ssl.create_default_context(cafile=str(self.ca_pem))

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def argv(self) -> list[str]:
        argv = [str(mitmdump_executable()), "-s", str(entry_script())]
        argv += ["-s", str(LOOPBACK_ADDON)]
        argv += ["--listen-host", LOOPBACK, "--listen-port", "0"]
        argv += ["--set", f"confdir={self.confdir}", "--set", f"borderflow_db={self.db}"]
        if self.upstream is not None:
            argv += self.upstream.mitmdump_options()
        return argv + self.options

    # -- lifecycle --

    def start(self, timeout: float = 60, *, wait_recording: bool = True) -> Self:
        """Start, read the port from the log, and (by default) wait for the capture row."""
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            cwd=self.workdir,
        )
        self._reader = threading.Thread(target=self._read, name="mitmdump-log", daemon=True)
        self._reader.start()
        try:
            found = self.wait_for_log(self.listening, timeout=timeout)
            self.port = int(found.group(2))
            if wait_recording:
                poll(self._recording, timeout=timeout, what=f"the capture row in {self.db}")
        except BaseException:
            self.kill()
            raise
        return self

    def _recording(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"mitmdump exited ({self.process.returncode}):\n{self.output()}")
        if not self.db.exists():
            return False
        try:
            with contextlib.closing(sqlite3.connect(self.db, timeout=5)) as conn:
                return bool(conn.execute("SELECT count(*) FROM capture").fetchone()[0])
        except sqlite3.OperationalError:
            return False  # not migrated yet

    def send_signal(self, sig: int = signal.SIGINT) -> None:
        assert self.process is not None, "start() first"
        self.process.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        """Wait for mitmdump to exit; on timeout kill it and raise."""
        assert self.process is not None, "start() first"
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(
                f"mitmdump did not exit within {timeout:g} s:\n{self.output()}"
            ) from None
        if self._reader is not None:
            self._reader.join(timeout)
        return code

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        """Send ``sig`` (Ctrl-C by default) and wait for the exit status."""
        assert self.process is not None, "start() first"
        if self.process.poll() is None:
            self.send_signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop()
            finally:
                self.kill()

    # -- the log --

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                with self._changed:
                    self._lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for_log(self, pattern: re.Pattern[str] | str, timeout: float = 60) -> re.Match[str]:
        """The first log line matching ``pattern``, waiting for it; fails if mitmdump ends."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    if found := regex.search(line):
                        return found
                seen = len(self._lines)
                if self._closed:
                    raise RuntimeError(
                        f"mitmdump ended without logging {regex.pattern!r}:\n{self.output()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"mitmdump did not log {regex.pattern!r}:\n{''.join(self._lines)}"
                    )
                self._changed.wait(remaining)

    # -- processes --

    def pipeline_helper(self) -> int:
        """The pid of the recorder's pipeline process (spawned by multiprocessing)."""

        def find() -> list[int]:
            return [pid for pid, cmd in self.children() if "spawn_main" in cmd]

        (pid,) = poll(find, timeout=30, what="the pipeline helper process")
        return pid

    def make_database_unwritable(self) -> None:
        """From now on every write of the process that owns the database fails, as on a full
        disk. Root ignores file permissions but not resource limits: RLIMIT_FSIZE 0 makes each
        write to a file fail with EFBIG (Python ignores the SIGXFSZ that comes with it).
        """
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.prlimit(self.pipeline_helper(), resource.RLIMIT_FSIZE, (0, hard))

    def children(self) -> list[tuple[int, str]]:
        """(pid, command line) of mitmdump's child processes (the pipeline helper, ...)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = stat.with_name("cmdline").read_bytes().replace(b"\0", b" ")
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            if int(fields[1]) == self.pid:
                found.append((int(stat.parent.name), cmdline.decode(errors="replace").strip()))
        return found

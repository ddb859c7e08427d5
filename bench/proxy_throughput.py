"""Proxy throughput: mitmdump with the borderflow recorder against bare mitmdump, same run.

Why ratios and not absolute numbers: req/s on a shared 2-core machine moves by 10-20 % from
minute to minute, so a number measured yesterday says little. Each cell is measured as pairs
(bare, recorder) run back to back against the same upstream, in alternating order (ABBA), and
the result is ``median(recorder req/s) / median(bare req/s)``. The goal is >= 0.9 in every cell.

Cells are body size (``small`` ~200 B JSON, ``large`` ~100 KB JSON, both POSTed as an app
uploads) times transport (``http``, ``https``). mitmdump runs in reverse-proxy mode in front of
``bench/upstream.py`` because wrk cannot tunnel through an HTTP proxy with CONNECT; the recorder
still sees every request and response through the same hooks as in regular mode.

A recorder that records nothing would be fast and meaningless, so every recorder run checks
``SELECT count(*) FROM http`` in its database, both when the load stops (what it kept up with)
and after mitmdump exits (what it flushed on shutdown).

Usage (from the repository root)::

    python bench/proxy_throughput.py                     # all cells, defaults below
    python bench/proxy_throughput.py --bare-vs-bare      # noise floor: bare on both sides
    python bench/proxy_throughput.py --cells small-http --duration 4 --repeats 2
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import importlib.resources
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, NoReturn

GOAL = 0.9
BENCH_DIR = Path(__file__).resolve().parent
UPSTREAM_SCRIPT = BENCH_DIR / "upstream.py"
DEFAULT_OUT = BENCH_DIR / "results" / "proxy_throughput.json"
SMALL_TARGET = 200
LARGE_TARGET = 100 * 1024
READY_TIMEOUT = 60.0  # mitmdump start-up with a fresh CA on a busy 2-core box takes 1-3 s
DEFAULT_STOP_TIMEOUT = 30  # seconds a recorder may drain its backlog on shutdown before SIGKILL
POLL_INTERVAL = 0.05

# Both mitmdump ("reverse proxy to ... listening at 127.0.0.1:PORT.") and bench/upstream.py
# ("upstream listening at 127.0.0.1:PORT") announce their address this way.
LISTENING_RE = re.compile(r"listening at \[?([0-9A-Fa-f.:]+?)\]?:(\d+)\b")

Size = Literal["small", "large"]
Scheme = Literal["http", "https"]
Side = Literal["bare", "recorder"]


class BenchError(Exception):
    """A problem that makes the measurement impossible; shown as one line, no traceback."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of the result table: a body size over one transport."""

    size: Size
    scheme: Scheme

    @property
    def name(self) -> str:
        return f"{self.size}-{self.scheme}"


ALL_CELLS = tuple(Cell(size, scheme) for size in ("small", "large") for scheme in ("http", "https"))


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What one wrk run reported; ``errors`` counts non-2xx replies and socket errors."""

    requests: int
    seconds: float
    rps: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass(slots=True)
class Run:
    """One mitmdump process under load: warmup, then the measured window."""

    side: Side
    warmup: WrkResult
    measured: WrkResult
    startup_s: float
    shutdown_s: float = 0.0
    requests_sent: int = 0  # smoke request + warmup + measured, as wrk counted them
    # Row counts of the recorder's ``http`` table; None: not a recorder run, or not readable yet.
    rows_at_measure_start: int | None = None
    rows_at_load_end: int | None = None
    rows_after_exit: int | None = None
    # Rows that reached SQLite per second of the measured window: whether the recorder keeps
    # up with the proxy or only queues (a queue makes req/s look good and grows without bound).
    recorded_rps: float | None = None
    rss_mb_at_load_end: float | None = None  # mitmdump's own RSS; a growing queue shows here
    killed: bool = False  # still draining after --stop-timeout: SIGKILLed, queued rows lost
    log_problems: int = 0  # tracebacks and errors in mitmdump's log (an addon failing per flow)
    # CPU seconds (user + system) mitmdump's own process used in the measured window, and what
    # its child processes (the recorder's helper) used beside it.
    cpu_s: float | None = None
    helper_cpu_s: float | None = None

    @property
    def cpu_ms_per_request(self) -> float | None:
        """mitmdump's CPU per forwarded request: what the recorder costs, whatever the load."""
        if self.cpu_s is None or not self.measured.requests:
            return None
        return 1000 * self.cpu_s / self.measured.requests


@dataclass(slots=True)
class CellResult:
    """All pairs of one cell and the numbers derived from them."""

    cell: Cell
    body_bytes: int
    upstream_rps: float | None = None
    runs: list[Run] = field(default_factory=list)

    def rps(self, side: Side) -> list[float]:
        return [r.measured.rps for r in self.runs if r.side == side]

    def median(self, side: Side) -> float:
        values = self.rps(side)
        return statistics.median(values) if values else 0.0

    @property
    def recorded_rps(self) -> float | None:
        """Median rows/s written during the measured windows (recorder runs only)."""
        values = [r.recorded_rps for r in self.runs if r.recorded_rps is not None]
        return statistics.median(values) if values else None

    @property
    def recorded_ratio(self) -> float | None:
        """Recorded rows/s over bare req/s: the ratio if recording, not queueing, is counted."""
        rows, bare = self.recorded_rps, self.median("bare")
        return rows / bare if rows is not None and bare else None

    @property
    def ratio(self) -> float:
        bare = self.median("bare")
        return self.median("recorder") / bare if bare else 0.0

    def cpu_ms(self, side: Side) -> float | None:
        """Median CPU milliseconds per request of one side's runs."""
        values = [r.cpu_ms_per_request for r in self.runs if r.side == side]
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    @property
    def cpu_ratio(self) -> float | None:
        """Recorder CPU per request over bare: less noisy than req/s on a shared machine."""
        bare, recorder = self.cpu_ms("bare"), self.cpu_ms("recorder")
        return recorder / bare if bare and recorder is not None else None

    @property
    def pair_ratios(self) -> list[float]:
        """Per-pair ratios, to show the spread the median hides."""
        return [r / b for b, r in zip(self.rps("bare"), self.rps("recorder"), strict=False) if b]

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell.name,
            "size": self.cell.size,
            "scheme": self.cell.scheme,
            "body_bytes": self.body_bytes,
            "upstream_rps": self.upstream_rps,
            "bare_rps": self.rps("bare"),
            "recorder_rps": self.rps("recorder"),
            "bare_median_rps": self.median("bare"),
            "recorder_median_rps": self.median("recorder"),
            "ratio": self.ratio,
            "pair_ratios": self.pair_ratios,
            "meets_goal": self.ratio >= GOAL,
            "recorded_median_rps": self.recorded_rps,
            "recorded_ratio": self.recorded_ratio,
            "bare_cpu_ms_per_request": self.cpu_ms("bare"),
            "recorder_cpu_ms_per_request": self.cpu_ms("recorder"),
            "cpu_ratio": self.cpu_ratio,
            "runs": [
                dataclasses.asdict(r) | {"cpu_ms_per_request": r.cpu_ms_per_request}
                for r in self.runs
            ],
        }


# --------------------------------------------------------------------------------------------
# Payloads


def sdk_payload(target_bytes: int) -> bytes:
    """A JSON upload shaped like a mobile analytics/payment SDK's, about ``target_bytes`` long.

    Deterministic (no randomness) so that runs and machines compare. The small body is the
    per-event ping an SDK sends constantly; the large one is the batched upload with the
    installed-apps list and an event backlog, padded with events up to the target size.
    """
    if target_bytes <= 512:
        small = {
            "device_id": "a3f1c2d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f",
            "lat": 31.230416,
            "lng": 121.473701,
            "email": "li.wei@example.com",
            "phone": "+8613800138000",
            "event": "app_open",
            "ts": 1767225600123,
        }
        body = json.dumps(small, separators=(",", ":"))
        # Pad with an SDK-style opaque field so the small cell is close to the target size.
        pad = max(0, target_bytes - len(body) - len(',"sid":""'))
        small["sid"] = ("0123456789abcdef" * (pad // 16 + 1))[:pad]
        return json.dumps(small, separators=(",", ":")).encode()

    apps = [
        {
            "pkg": f"com.vendor{i:03d}.app",
            "name": f"App {i}",
            "version": f"{i % 9}.{i % 7}.{i % 5}",
            "first_install_time": 1700000000000 + i * 86_400_000,
        }
        for i in range(120)
    ]
    payload: dict[str, Any] = {
        "sdk": {"name": "acme-analytics", "version": "4.12.0", "channel": "huawei"},
        "app": {"package": "com.example.wallet", "version": "7.3.1", "build": 7301},
        "device": {
            "device_id": "a3f1c2d4-5e6b-4c7d-8e9f-0a1b2c3d4e5f",
            "android_id": "9774d56d682e549c",
            "oaid": "f0e1d2c3-b4a5-4968-8776-655443322110",
            "imei": "356938035643809",
            "model": "Pixel 7",
            "os": "Android 14",
            "carrier": "China Mobile",
            "wifi_bssid": "a4:2b:b0:c1:d2:e3",
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
        },
        "user": {"uid": 88123456, "email": "li.wei@example.com", "phone": "+8613800138000"},
        "location": {"lat": 31.230416, "lng": 121.473701, "accuracy": 12.5, "city": "上海"},
        "installed_apps": apps,
        "events": [],
    }
    events: list[dict[str, Any]] = payload["events"]
    i = 0
    while len(json.dumps(payload, ensure_ascii=False).encode()) < target_bytes:
        # Add events in batches of 20: re-serialising after each one would be quadratic.
        for _ in range(20):
            events.append(
                {
                    "name": ("page_view", "click", "pay_start", "pay_success")[i % 4],
                    "ts": 1767225600000 + i * 1375,
                    "page": f"/wallet/{i % 37}",
                    "lat": round(31.230416 + (i % 50) * 1e-5, 6),
                    "lng": round(121.473701 + (i % 50) * 1e-5, 6),
                    "session": f"s{i // 100:04d}",
                }
            )
            i += 1
    return json.dumps(payload, ensure_ascii=False).encode()


def wrk_post_script(body_file: Path) -> str:
    """A wrk Lua script that POSTs the contents of ``body_file`` as JSON on every request."""
    # json.dumps of an ASCII path is also a valid Lua double-quoted string literal.
    return (
        'wrk.method = "POST"\n'
        f"local f = assert(io.open({json.dumps(str(body_file))}, 'rb'))\n"
        "wrk.body = f:read('*a')\n"
        "f:close()\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


# --------------------------------------------------------------------------------------------
# Processes


def _die(message: str) -> NoReturn:
    raise BenchError(message)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(slots=True)
class Child:
    """A child process whose output goes to a log file we poll for its listening line."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    port: int = 0
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    startup_s: float = 0.0
    shutdown_s: float = 0.0
    killed: bool = False
    log_bytes_before_stop: int = 0

    def start(self) -> None:
        """Start and block until the process reports its port (or dies, or times out)."""
        self.log = self.log_path.open("wb")
        started = time.monotonic()
        # A new session keeps Ctrl-C away from the children: we stop them ourselves, in order,
        # so a recorder gets its graceful shutdown and nothing is left running.
        self.proc = subprocess.Popen(  # noqa: S603 - argv is built here, not from user text
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + READY_TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING_RE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(2))
                self.startup_s = time.monotonic() - started
                return
            if self.proc.poll() is not None:
                _die(
                    f"{self.name} exited with {self.proc.returncode} before listening:\n"
                    f"{_tail(self.log_path)}"
                )
            time.sleep(POLL_INTERVAL)
        _die(f"{self.name} did not report a listening port within {READY_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """SIGTERM (mitmdump's graceful shutdown runs addon ``done`` hooks), then SIGKILL."""
        with contextlib.suppress(OSError):
            self.log_bytes_before_stop = self.log_path.stat().st_size
        if self.proc is not None and self.proc.poll() is None:
            started = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
            self.shutdown_s = time.monotonic() - started
        if self.proc is not None:
            # The child leads its own process group (start_new_session); anything it started
            # and left behind (a recorder's helper process) goes with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.log is not None:
            self.log.close()
            self.log = None


@contextlib.contextmanager
def running(child: Child) -> Iterator[Child]:
    """Start ``child`` and always stop it, also on errors and Ctrl-C."""
    try:
        child.start()
        yield child
    finally:
        child.stop()


def run_wrk(
    wrk: str, url: str, script: Path, *, seconds: int, threads: int, connections: int
) -> WrkResult:
    """Run wrk once and parse its summary; wrk's exit code is 0 even when every request failed."""
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(  # noqa: S603 - argv is built here, not from user text
        argv,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
        start_new_session=True,
    )
    out = done.stdout
    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if done.returncode != 0 or not totals or not rps:
        _die(f"wrk failed on {url} (exit {done.returncode}): {(done.stderr or out).strip()}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[totals.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * scale,
        rps=float(rps.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
    )


def smoke_request(scheme: Scheme, port: int, body: bytes) -> None:
    """One POST through the proxy before loading it, so a broken setup fails with a reason."""
    conn: http.client.HTTPConnection
    if scheme == "https":
        # The proxy's certificate comes from a throwaway CA; wrk does not verify either.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/collect", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
    except OSError as e:
        _die(f"smoke request to {scheme}://127.0.0.1:{port}/ failed: {e}")
    finally:
        conn.close()
    if response.status != 200:
        _die(f"smoke request to {scheme}://127.0.0.1:{port}/ got HTTP {response.status}")


def count_log_problems(log: Path, limit: int) -> int:
    """Tracebacks and addon errors logged in the first ``limit`` bytes, i.e. before shutdown.

    An addon that fails on every flow is fast and records nothing, so errors under load matter.
    Shutdown is left out: SIGTERM cancels open connection tasks, which mitmdump sometimes logs
    with a ``CancelledError`` traceback whatever the addons.
    """
    try:
        with log.open("rb") as f:
            text = f.read(limit).decode(errors="replace")
    except OSError:
        return 0
    return text.count("Traceback (most recent call last)") + text.count("Addon error")


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB, from /proc (Linux); None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used, all its threads, from /proc (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``'s living children (the recorder's helper process)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                total += cpu_seconds(int(child)) or 0.0
    return total


def count_rows(db: Path) -> int | None:
    """Rows in the recorder's ``http`` table; None while the file or table does not exist yet."""
    if not db.exists():
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)
        ) as c:
            row = c.execute("SELECT count(*) FROM http").fetchone()
    except sqlite3.Error:
        return None
    return int(row[0])


# --------------------------------------------------------------------------------------------
# The benchmark


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run depends on, parsed once from the command line."""

    wrk: str
    mitmdump: Path
    recorder_script: Path | None  # None: bare-vs-bare baseline
    recorder_options: tuple[str, ...]
    cells: tuple[Cell, ...]
    duration: int
    warmup: int
    repeats: int
    threads: int
    connections: int
    upstream_check: int
    stop_timeout: float
    out: Path
    check: bool


def mitmdump_argv(
    config: Config, cell: Cell, upstream_port: int, confdir: Path, db: Path | None
) -> list[str]:
    """Identical for both sides except for ``-s`` and the recorder's options."""
    argv = [
        str(config.mitmdump),
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--mode",
        f"reverse:{cell.scheme}://127.0.0.1:{upstream_port}/",
        "--set",
        f"confdir={confdir}",
        "--set",
        "ssl_insecure=true",
        # Info-level log (not -q) because that is where the listening port is announced;
        # flow_detail=0 keeps per-request output away so the log costs nothing under load.
        "--set",
        "flow_detail=0",
    ]
    if db is not None and config.recorder_script is not None:
        argv += ["-s", str(config.recorder_script), "--set", f"borderflow_db={db}"]
        for option in config.recorder_options:
            argv += ["--set", option]
    return argv


def measure(
    config: Config,
    cell: Cell,
    side: Side,
    *,
    upstream_port: int,
    workdir: Path,
    script: Path,
    body: bytes,
    index: int,
) -> Run:
    """Start a fresh mitmdump, warm it up, measure, stop it, and (recorder) count its rows."""
    recording = side == "recorder" and config.recorder_script is not None
    db = workdir / f"{cell.name}-{index}.sqlite" if recording else None
    child = Child(
        name=f"mitmdump ({side}, {cell.name})",
        argv=mitmdump_argv(config, cell, upstream_port, workdir / "confdir", db),
        log_path=workdir / f"mitmdump-{cell.name}-{side}-{index}.log",
        stop_timeout=config.stop_timeout,
    )
    with running(child):
        try:
            smoke_request(cell.scheme, child.port, body)
            if child.proc is None or child.proc.poll() is not None:
                _die("mitmdump exited right after start-up")
        except BenchError as e:
            # mitmdump announces its port before it notices that a script failed to load,
            # then exits: its log says why.
            _die(f"{e}; {child.name} log:\n{_tail(child.log_path)}")
        target = f"{cell.scheme}://127.0.0.1:{child.port}/collect"
        kwargs = {"threads": config.threads, "connections": config.connections}
        warm = run_wrk(config.wrk, target, script, seconds=config.warmup, **kwargs)
        rows_before = count_rows(db) if db is not None else None
        assert child.proc is not None
        pid = child.proc.pid
        cpu_before, helper_before = cpu_seconds(pid), children_cpu_seconds(pid)
        result = run_wrk(config.wrk, target, script, seconds=config.duration, **kwargs)
        cpu_after, helper_after = cpu_seconds(pid), children_cpu_seconds(pid)
        run = Run(side=side, warmup=warm, measured=result, startup_s=child.startup_s)
        if cpu_before is not None and cpu_after is not None:
            run.cpu_s = cpu_after - cpu_before
            run.helper_cpu_s = helper_after - helper_before
        run.requests_sent = 1 + warm.requests + result.requests
        run.rss_mb_at_load_end = rss_mb(pid)
        if db is not None:
            run.rows_at_measure_start = rows_before
            run.rows_at_load_end = count_rows(db)
            if run.rows_at_load_end is not None and result.seconds > 0:
                run.recorded_rps = (run.rows_at_load_end - (rows_before or 0)) / result.seconds
    run.shutdown_s = child.shutdown_s
    run.killed = child.killed
    run.log_problems = count_log_problems(child.log_path, child.log_bytes_before_stop)
    if run.log_problems:
        print(
            f"  warning: {side} {cell.name}: {run.log_problems} errors in the mitmdump log:\n"
            f"{_tail(child.log_path, 8)}",
            file=sys.stderr,
        )
    if db is not None:
        run.rows_after_exit = count_rows(db)
        if not (run.rows_after_exit or run.rows_at_load_end):
            _die(
                f"recorder wrote no rows to {db} ({cell.name}); a recorder that records "
                f"nothing cannot be benchmarked. mitmdump log:\n{_tail(child.log_path)}"
            )
    if result.errors:
        print(
            f"  warning: {side} {cell.name}: {result.non_2xx} non-2xx, "
            f"{result.socket_errors} socket errors in the measured window",
            file=sys.stderr,
        )
    return run


def _shown(n: float | None, spec: str = "") -> str:
    return "?" if n is None else format(n, spec)


def describe(run: Run) -> str:
    """One progress line: req/s, and for the recorder whether rows kept pace."""
    text = f"{run.measured.rps:8.1f} req/s"
    if run.cpu_ms_per_request is not None:
        text += f", {run.cpu_ms_per_request:.3f} CPU ms/req"
    if run.helper_cpu_s:
        text += f" (helper {run.helper_cpu_s:.1f} CPU s)"
    if run.rss_mb_at_load_end is not None:
        text += f", RSS {run.rss_mb_at_load_end:.0f} MB"
    if run.rows_after_exit is not None or run.rows_at_load_end is not None:
        text += (
            f"; {_shown(run.recorded_rps, '.1f')} rows/s written while loaded;"
            f" rows {_shown(run.rows_at_load_end)} at load end,"
            f" {_shown(run.rows_after_exit)} after exit, of {run.requests_sent}"
            f" requests; shutdown {run.shutdown_s:.1f} s"
        )
        if run.killed:
            text += " (still draining: killed, queued rows lost)"
    return text


def bench_cell(
    config: Config, cell: Cell, upstream_port: int, workdir: Path, script: Path, body: bytes
) -> CellResult:
    """Measure one cell: an optional direct upstream run, then ``repeats`` ABBA-ordered pairs."""
    result = CellResult(cell=cell, body_bytes=len(body))
    if config.upstream_check:
        direct = run_wrk(
            config.wrk,
            f"{cell.scheme}://127.0.0.1:{upstream_port}/collect",
            script,
            seconds=config.upstream_check,
            threads=config.threads,
            connections=config.connections,
        )
        result.upstream_rps = direct.rps
        print(f"[{cell.name}] upstream alone: {direct.rps:.0f} req/s", flush=True)
    second: Side = "recorder"
    for repeat in range(config.repeats):
        # Alternate which side goes first, so a slow drift (another tenant, thermal) does not
        # always land on the same side.
        order: tuple[Side, Side] = ("bare", second) if repeat % 2 == 0 else (second, "bare")
        for side in order:
            run = measure(
                config,
                cell,
                side,
                upstream_port=upstream_port,
                workdir=workdir,
                script=script,
                body=body,
                index=repeat,
            )
            result.runs.append(run)
            label = side if config.recorder_script is not None or side == "bare" else "bare#2"
            print(f"[{cell.name}] {repeat + 1}/{config.repeats} {label:8} {describe(run)}")
            sys.stdout.flush()
    return result


def format_table(results: Sequence[CellResult], baseline: bool) -> str:
    """The summary table; ``rows/s`` and ``rec. ratio`` only exist for recorder runs."""
    other = "bare#2 req/s" if baseline else "recorder req/s"
    header = (
        f"{'cell':12} {'body B':>7} {'upstream':>9} {'bare req/s':>11} {other:>15} "
        f"{'ratio':>6}  {'pair ratios':17} {'rows/s':>7} {'rec. ratio':>10} "
        f"{'CPU ms/req':>15} {'CPU ratio':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        pairs = ", ".join(f"{p:.2f}" for p in r.pair_ratios)
        upstream = f"{r.upstream_rps:9.0f}" if r.upstream_rps is not None else f"{'-':>9}"
        rows = f"{r.recorded_rps:7.1f}" if r.recorded_rps is not None else f"{'-':>7}"
        rec = f"{r.recorded_ratio:10.2f}" if r.recorded_ratio is not None else f"{'-':>10}"
        bare_cpu, rec_cpu = r.cpu_ms("bare"), r.cpu_ms("recorder")
        cpu = f"{_shown(bare_cpu, '.3f')} / {_shown(rec_cpu, '.3f')}"
        cpu_ratio = f"{r.cpu_ratio:9.2f}" if r.cpu_ratio is not None else f"{'-':>9}"
        mark = "" if baseline else ("  ok" if r.ratio >= GOAL else "  BELOW GOAL")
        lines.append(
            f"{r.cell.name:12} {r.body_bytes:>7} {upstream} {r.median('bare'):11.1f} "
            f"{r.median('recorder'):15.1f} {r.ratio:6.2f}  {pairs:17} {rows} {rec} "
            f"{cpu:>15} {cpu_ratio}{mark}"
        )
    return "\n".join(lines)


def tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def run_benchmark(config: Config) -> list[CellResult]:
    """Start the upstreams, measure every cell, and write the JSON results."""
    results: list[CellResult] = []
    started = time.time()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bf-bench-")))
        upstream_ports: dict[Scheme, int] = {}
        for scheme in sorted({c.scheme for c in config.cells}):
            argv = [sys.executable, str(UPSTREAM_SCRIPT), "--port", "0"]
            if scheme == "https":
                argv.append("--tls")
            child = stack.enter_context(
                running(Child(f"upstream ({scheme})", argv, workdir / f"upstream-{scheme}.log"))
            )
            upstream_ports[scheme] = child.port
        bodies: dict[Size, tuple[bytes, Path]] = {}
        for size in sorted({c.size for c in config.cells}):
            body = sdk_payload(SMALL_TARGET if size == "small" else LARGE_TARGET)
            body_file = workdir / f"body-{size}.json"
            body_file.write_bytes(body)
            script = workdir / f"post-{size}.lua"
            script.write_text(wrk_post_script(body_file))
            bodies[size] = (body, script)
        for cell in config.cells:
            body, script = bodies[cell.size]
            results.append(
                bench_cell(config, cell, upstream_ports[cell.scheme], workdir, script, body)
            )
    write_json(config, results, started)
    return results


def write_json(config: Config, results: Sequence[CellResult], started: float) -> None:
    config.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "proxy_throughput",
        "goal_ratio": GOAL,
        "mode": "bare-vs-bare" if config.recorder_script is None else "recorder-vs-bare",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "elapsed_s": round(time.time() - started, 1),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "settings": {
            "duration_s": config.duration,
            "warmup_s": config.warmup,
            "repeats": config.repeats,
            "wrk_threads": config.threads,
            "wrk_connections": config.connections,
            "upstream_check_s": config.upstream_check,
            "stop_timeout_s": config.stop_timeout,
            "recorder_script": str(config.recorder_script) if config.recorder_script else None,
            "recorder_options": list(config.recorder_options),
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_at_end": list(os.getloadavg()),
            "mitmdump": tool_version([str(config.mitmdump), "--version"]),
            "wrk": tool_version([config.wrk, "-v"]),
        },
        "cells": [r.to_json() for r in results],
    }
    config.out.write_text(json.dumps(document, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Command line


def default_recorder_script() -> Path:
    """The installed entry file, or the one in this checkout when borderflow is not installed."""
    try:
        return Path(str(importlib.resources.files("borderflow.addons") / "entry.py"))
    except ModuleNotFoundError:
        return BENCH_DIR.parent / "addons" / "entry.py"


def parse_cells(text: str) -> tuple[Cell, ...]:
    if text == "all":
        return ALL_CELLS
    by_name = {c.name: c for c in ALL_CELLS}
    cells = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name not in by_name:
            raise argparse.ArgumentTypeError(
                f"unknown cell {name!r}; choose from {', '.join(by_name)} or 'all'"
            )
        cells.append(by_name[name])
    if not cells:
        raise argparse.ArgumentTypeError("no cells given")
    return tuple(cells)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        description="Throughput of mitmdump with the borderflow recorder vs. bare mitmdump.",
    )
    parser.add_argument(
        "--duration", type=positive_int, default=6, help="measured seconds per run (default 6)"
    )
    parser.add_argument(
        "--warmup", type=positive_int, default=2, help="warmup seconds per run (default 2)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="bare/recorder pairs per cell (default 3)"
    )
    parser.add_argument(
        "--cells",
        type=parse_cells,
        default=ALL_CELLS,
        help="comma-separated: small-http, small-https, large-http, large-https, or all",
    )
    parser.add_argument(
        "--mitmdump",
        type=Path,
        default=Path(sys.executable).parent / "mitmdump",
        help="mitmdump executable (default: the one next to this Python)",
    )
    parser.add_argument(
        "--recorder-script",
        type=Path,
        default=None,
        help="addon loaded with -s (default: borderflow.addons/entry.py)",
    )
    parser.add_argument(
        "--recorder-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra --set for the recorder side only (repeatable)",
    )
    parser.add_argument(
        "--bare-vs-bare",
        action="store_true",
        help="run bare mitmdump on both sides, to see the noise floor of a ratio",
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--connections", type=positive_int, default=8, help="wrk connections (default 8)"
    )
    parser.add_argument(
        "--upstream-check",
        type=int,
        default=3,
        metavar="SECONDS",
        help="wrk the upstream directly first, to show it is not the limit; 0 skips (default 3)",
    )
    parser.add_argument(
        "--stop-timeout",
        type=positive_int,
        default=DEFAULT_STOP_TIMEOUT,
        metavar="SECONDS",
        help="how long a recorder may drain its queue on shutdown before it is killed "
        f"(default {DEFAULT_STOP_TIMEOUT})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if any cell's ratio is below {GOAL}",
    )
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk")
    if wrk is None:
        _die("wrk not found on PATH; install it (Debian/Ubuntu: apt-get install wrk)")
    if not args.mitmdump.is_file():
        _die(f"{args.mitmdump}: mitmdump not found; pass --mitmdump PATH")
    recorder: Path | None = None
    if not args.bare_vs_bare:
        recorder = args.recorder_script or default_recorder_script()
        if not recorder.is_file():
            _die(
                f"{recorder}: recorder entry script not found; "
                "pass --recorder-script PATH, or --bare-vs-bare for the baseline"
            )
    return Config(
        wrk=wrk,
        mitmdump=args.mitmdump,
        recorder_script=recorder,
        recorder_options=tuple(args.recorder_option),
        cells=args.cells,
        duration=args.duration,
        warmup=args.warmup,
        repeats=args.repeats,
        threads=args.threads,
        connections=args.connections,
        upstream_check=max(0, args.upstream_check),
        stop_timeout=args.stop_timeout,
        out=args.out,
        check=args.check,
    )


def _terminate(signum: int, _frame: object) -> None:
    """Turn SIGTERM into an exception so the ``finally`` blocks stop every child."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        config = parse_args(argv)
        baseline = config.recorder_script is None
        print(
            f"proxy_throughput: {len(config.cells)} cells x {config.repeats} pairs, "
            f"wrk -t{config.threads} -c{config.connections} -d{config.duration}s "
            f"(+{config.warmup}s warmup), "
            + ("bare vs bare" if baseline else f"recorder {config.recorder_script}"),
            flush=True,
        )
        results = run_benchmark(config)
    except BenchError as e:
        print(f"proxy_throughput: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("proxy_throughput: interrupted; all child processes stopped", file=sys.stderr)
        return 130
    print()
    print(format_table(results, baseline))
    print(
        f"\nratio = median recorder req/s / median bare req/s (goal >= {GOAL} in every cell);"
        "\nrows/s = rows the recorder wrote per second while loaded; rec. ratio = rows/s / bare"
        "\nCPU ms/req = mitmdump's own CPU per request, bare / recorder; CPU ratio = recorder /"
        f" bare (a CPU-bound proxy meets the goal at <= {1 / GOAL:.2f})"
    )
    print(f"results: {config.out}")
    if config.check and not baseline and any(r.ratio < GOAL for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

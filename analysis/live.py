"""The pipeline for live traffic, run in a helper process so the proxy never waits for it.

Inside mitmproxy, ``submit`` only appends to a queue. A feeder thread pickles what arrived
every few milliseconds and appends it to a spool file next to the database; a helper process
reads the spool at its own pace and runs the ordinary ``Pipeline`` (classification, geography,
SQLite) on CPU time nothing else wants. HTTP exchanges arrive as ``ExchangeSnapshot``s, cheap
for the proxy to take and to pickle; the helper builds their rows. So the proxy's event loop
keeps its core and the GIL, and a burst of large bodies waits in the helper (never in the
proxy's memory, where the garbage collector would walk it), up to ``_MAX_HELD`` bytes, until
there is time to classify it. The helper writes records at once but classifies while the
proxy is quiet (``_Classifier``).
``close`` writes a stop mark and waits until the helper has written everything; the spool is
then removed. The helper frees what it has read (``_Trimmer``), so the spool stays as small as
the helper's backlog however long the session runs.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

from borderflow.analysis import store
from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.pipeline import Counts, Pipeline, Settings
from borderflow.analysis.records import Observation
from borderflow.analysis.sources.mitm import ExchangeSnapshot

logger = logging.getLogger(__name__)

_BATCH_WAIT = 0.02  # seconds the feeder gathers observations before writing them
_POLL = 0.02  # seconds the helper waits at the end of the spool before looking again
_FRAME = struct.Struct("!I")
_OUT_OF_BAND = 16 * 1024  # bodies at least this large go to the spool without a copy
_STOP = b""  # an empty frame ends the spool
_MAX_PENDING = 2000  # observations the helper holds in memory before it reads more
_BUSY = 0.5  # share of one CPU above which the proxy counts as busy
_LOAD_WINDOW = 0.1  # seconds over which the proxy's CPU use is measured
_CLASSIFY_CHUNK = 64 * 1024  # body bytes handed to the classifier at a time
_BUSY_EVERY = 1.0  # seconds between chunks while the proxy is busy: findings still progress
_MAX_HELD = 256 * 1024 * 1024  # body bytes held back; beyond, classify even if the proxy is busy
_TRIM_EVERY = 16 * 1024 * 1024  # spool bytes read between two trims
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16  # buffers per writev

Item = Observation | ExchangeSnapshot  # what the proxy hands over


class LivePipeline:
    """``Pipeline``'s interface (submit, close, counts, error) with the work in a helper process."""

    def __init__(
        self,
        path: Path,
        settings: Settings = Settings(),  # noqa: B008 - frozen, so sharing the default is safe
        *,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        store.open_db(path).close()  # migrate, and fail here in one line rather than in the helper
        self.counts = Counts()
        self.error: str | None = None
        self._on_fatal = on_fatal
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._spool_path = path.with_name(f".{path.name}.spool-{os.getpid()}-{id(self)}")
        self._spool = self._spool_path.open("wb")
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, path, self._spool_path, settings, os.getpid()),
            name="borderflow-pipeline",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._feeder = threading.Thread(target=self._feed, name="borderflow-feeder", daemon=True)
        self._feeder.start()
        self._listener = threading.Thread(
            target=self._listen, name="borderflow-listener", daemon=True
        )
        self._listener.start()

    def submit(self, item: Item) -> None:
        """Queue ``item``; O(1), never blocks, safe from any thread."""
        self._queue.put(item)

    def close(self) -> None:
        """Hand over everything queued, wait until it is written. Raises if writing failed."""
        if self._feeder.is_alive():
            self._queue.put(None)
            self._feeder.join()
        self._process.join()
        self._listener.join()
        self._conn.close()
        if self._process.exitcode != 0 and self.error is None:
            self._fail(f"the pipeline process failed (exit status {self._process.exitcode})")
        self._spool_path.unlink(missing_ok=True)
        if self.error is not None:
            raise DatabaseError(self.error)

    def _feed(self) -> None:
        """Append observations to the spool in batches."""
        with self._spool:  # written with os.writev only, so never buffered
            fd = self._spool.fileno()
            while True:
                batch, stopping = _gather(self._queue)
                try:
                    if batch:
                        _write_all(fd, encode(batch))
                    if stopping:
                        _write_all(fd, [_FRAME.pack(0)])
                except OSError as e:
                    self._fail(f"cannot write the spool {self._spool_path}: {e.strerror}")
                    return
                if stopping:
                    return

    def _listen(self) -> None:
        """Take the helper's reports: a fatal error as soon as it happens, counts at the end."""
        with contextlib.suppress(EOFError, OSError):
            while True:
                kind, value = pickle.loads(self._conn.recv_bytes())  # noqa: S301 - our own child
                if kind == "fatal":
                    self._fail(value)
                elif kind == "done":
                    self.counts = value

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
            if self._on_fatal is not None:
                self._on_fatal(message)


def _write_all(fd: int, parts: Sequence[bytes]) -> None:
    """``os.writev`` until every byte is written (it may stop short, e.g. on a signal)."""
    for first in range(0, len(parts), _IOV_MAX):  # writev refuses more buffers than IOV_MAX
        chunk = parts[first : first + _IOV_MAX]
        written = os.writev(fd, chunk)
        rest = b"".join(chunk)[written:] if written < sum(len(p) for p in chunk) else b""
        while rest:
            rest = rest[os.write(fd, rest) :]


def _gather(q: queue.SimpleQueue[Item | None]) -> tuple[list[Item], bool]:
    """Everything queued, taken every few milliseconds; True once the stop mark came.

    Sleeping between takes (rather than waking for each item) keeps this thread from asking
    the proxy's event loop for the GIL hundreds of times a second.
    """
    batch: list[Item] = []
    while True:
        time.sleep(_BATCH_WAIT)
        with contextlib.suppress(queue.Empty):
            while True:
                item = q.get_nowait()
                if item is None:
                    return batch, True
                batch.append(item)
        if batch:
            return batch, False


def _bodies(item: Item) -> Sequence[bytes]:
    """The bodies ``item`` carries, in the order ``_with_bodies`` numbers them."""
    if isinstance(item, ExchangeSnapshot):
        return item.bodies()
    return [p.message.body for p in item.payloads]


def _with_bodies(item: Item, bodies: Mapping[int, bytes]) -> Item:
    """``item`` with the bodies numbered in ``bodies`` replaced."""
    if isinstance(item, ExchangeSnapshot):
        return item.with_bodies(bodies)
    payloads = tuple(
        dataclasses.replace(p, message=dataclasses.replace(p.message, body=bodies[j]))
        if j in bodies
        else p
        for j, p in enumerate(item.payloads)
    )
    return dataclasses.replace(item, payloads=payloads)


def encode(batch: Sequence[Item]) -> list[bytes]:
    """One spool frame: sizes, the pickled batch without its large bodies, then the bodies.

    The bodies go to ``os.writev`` as they are: the proxy process never copies them.
    """
    bodies: list[bytes] = []
    places: list[tuple[int, int]] = []
    slim = list(batch)
    for i, item in enumerate(batch):
        large = {j: b for j, b in enumerate(_bodies(item)) if len(b) >= _OUT_OF_BAND}
        if large:
            bodies.extend(large.values())
            places.extend((i, j) for j in large)
            slim[i] = _with_bodies(item, dict.fromkeys(large, b""))
    meta = pickle.dumps((slim, places), protocol=pickle.HIGHEST_PROTOCOL)
    sizes = [len(meta), *(len(b) for b in bodies)]
    head = _FRAME.pack(_FRAME.size * (len(sizes) + 1) + sum(sizes))
    return [head, struct.pack(f"!{len(sizes) + 1}I", len(sizes), *sizes), meta, *bodies]


def decode(frame: bytes) -> list[Item]:
    """The batch in a spool frame written by ``encode`` (without its length prefix)."""
    (count,) = _FRAME.unpack_from(frame)
    sizes = struct.unpack_from(f"!{count}I", frame, _FRAME.size)
    offset = _FRAME.size * (count + 1)
    parts = []
    for size in sizes:
        parts.append(frame[offset : offset + size])
        offset += size
    batch, places = pickle.loads(parts[0])  # noqa: S301 - our own parent wrote it
    for (i, j), body in zip(places, parts[1:], strict=True):
        batch[i] = _with_bodies(batch[i], {j: body})
    return batch  # type: ignore[no-any-return]


def _frames(spool: BinaryIO, parent: int) -> Iterator[bytes | None]:
    """Frames from a spool that is still being written; None each time it waited for more.

    Ends at the stop mark, or at the end of what was written once the proxy is gone.
    """
    buffer = b""
    trimmer = _Trimmer(spool.fileno())
    read = 0
    while True:
        chunk = spool.read(1 << 20)
        if not chunk:
            if os.getppid() != parent:
                return  # the proxy died without a stop mark: keep what it spooled
            time.sleep(_POLL)
            yield None
            continue
        read += len(chunk)
        trimmer.trim(read)
        buffer += chunk
        while len(buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buffer)
            if len(buffer) < _FRAME.size + size:
                break
            frame = buffer[_FRAME.size : _FRAME.size + size]
            buffer = buffer[_FRAME.size + size :]
            yield frame
            if frame == _STOP:
                return


class _Trimmer:
    """Frees the spool's pages the helper has read, by punching a hole (Linux ``fallocate``).

    Without it a live session's spool grows by every body the phone sent: on disk, and in the
    page cache, where each new page costs the proxy's writes more than a reused one (a write
    loop on a 2-core VM: 60 us of CPU per 200 KB write with trimming, up to 470 us once a
    never-trimmed file passed about 1 GB; bench/README.md). Where hole punching is unsupported, nothing is freed
    and nothing else changes.
    """

    _PUNCH_HOLE_KEEP_SIZE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._trimmed = 0
        self._fallocate: Callable[[int, int, int, int], int] | None = None
        with contextlib.suppress(OSError, AttributeError, TypeError):  # no libc, or no fallocate
            libc = ctypes.CDLL(None, use_errno=True)
            fallocate = getattr(libc, "fallocate64", None) or libc.fallocate
            fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
            self._fallocate = fallocate

    def trim(self, read: int) -> None:
        """Free the spool's whole pages before offset ``read``, every ``_TRIM_EVERY`` bytes."""
        upto = read & ~0xFFF
        if self._fallocate is None or upto - self._trimmed < _TRIM_EVERY:
            return
        if self._fallocate(
            self._fd, self._PUNCH_HOLE_KEEP_SIZE, self._trimmed, upto - self._trimmed
        ):
            logger.debug("spool not trimmed: %s", os.strerror(ctypes.get_errno()))
            self._fallocate = None
            return
        self._trimmed = upto


class _ProxyLoad:
    """Whether the proxy process is busy, from its CPU time in /proc; never busy elsewhere."""

    def __init__(self, pid: int) -> None:
        self._stat = Path(f"/proc/{pid}/stat")
        self._since = time.monotonic()
        self._cpu = self._read()
        self._busy = False

    def _read(self) -> float | None:
        try:
            # utime and stime are fields 14 and 15; the name before them may hold spaces.
            fields = self._stat.read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def busy(self) -> bool:
        """More than ``_BUSY`` of a CPU over the last ``_LOAD_WINDOW`` seconds or so."""
        now = time.monotonic()
        if now - self._since >= _LOAD_WINDOW:
            cpu = self._read()
            if cpu is not None and self._cpu is not None:
                self._busy = (cpu - self._cpu) / (now - self._since) > _BUSY
            self._since, self._cpu = now, cpu
        return self._busy


class _Classifier:
    """Feeds the pipeline: records at once, payloads while the proxy is quiet.

    Classifying a 100 KB body takes tens of milliseconds. At idle priority that work only
    gets CPU time nothing else wants, yet it still slows a busy proxy through what the two
    share (caches, memory, a hyperthread's sibling). So payloads wait here while the proxy
    is busy, and the classifier gets a chunk at a time, the next only once it took the last:
    it stops soon after the proxy gets busy, and still gets a chunk each ``_BUSY_EVERY``.
    Beyond ``_MAX_HELD`` body bytes held, it classifies regardless: memory stays bounded.
    """

    def __init__(self, pipeline: Pipeline, load: _ProxyLoad) -> None:
        self._pipeline = pipeline
        self._load = load
        self._held: collections.deque[Observation] = collections.deque()
        self._held_bytes = 0
        self._submitted = 0  # items handed to the pipeline
        self._chunk_end = 0  # ... when the last chunk of payloads was complete
        self._released = 0.0  # monotonic time of the last chunk
        self.split = 0  # observations handed over as two (records, then payloads)

    def submit(self, obs: Observation) -> None:
        if obs.payloads and (obs.records or obs.destinations):
            self._submit(dataclasses.replace(obs, payloads=()))
            self.split += 1
        if obs.payloads:
            self._held.append(Observation(payloads=obs.payloads))
            self._held_bytes += _body_bytes(obs)
        else:
            self._submit(obs)

    def release(self, *, everything: bool = False) -> None:
        """Hand over a chunk of payloads if the classifier took the last and the proxy allows."""
        if everything:
            while self._held:
                self._submit(self._held.popleft())
            self._held_bytes = 0
            return
        # The pipeline counts an observation when its worker takes it from the queue.
        if not self._held or self._pipeline.counts.observations < self._chunk_end:
            return
        now = time.monotonic()
        waited = now - self._released >= _BUSY_EVERY or self._held_bytes > _MAX_HELD
        if not waited and self._load.busy():
            return
        size = 0
        while self._held and size < _CLASSIFY_CHUNK:
            obs = self._held.popleft()
            size += _body_bytes(obs)
            self._submit(obs)
        self._held_bytes -= size
        self._chunk_end, self._released = self._submitted, now

    def _submit(self, obs: Observation) -> None:
        self._pipeline.submit(obs)
        self._submitted += 1


def _body_bytes(obs: Observation) -> int:
    return sum(len(p.message.body) for p in obs.payloads)


def _yield_cpu() -> None:
    """Run only on CPU time nothing else wants: the proxy and the traffic come first."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux: the lowest ordinary priority instead
        os.nice(19)


def _serve(conn: Connection, path: Path, spool_path: Path, settings: Settings, parent: int) -> None:
    """The helper process: run the ordinary pipeline on what the proxy spooled."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the proxy, which tells us
    _yield_cpu()

    def fatal(message: str) -> None:
        conn.send_bytes(pickle.dumps(("fatal", message)))

    pipeline = Pipeline.open(path, settings, on_fatal=fatal)
    classifier = _Classifier(pipeline, _ProxyLoad(parent))
    with spool_path.open("r+b") as spool:  # writable, so that its read pages can be freed
        # Unlinked once both ends have it open: raw bodies never outlive the two processes.
        spool_path.unlink(missing_ok=True)
        for frame in _frames(spool, parent):
            for item in decode(frame) if frame else ():
                classifier.submit(
                    item.observation() if isinstance(item, ExchangeSnapshot) else item
                )
            classifier.release()
            while pipeline.pending() > _MAX_PENDING:  # the rest waits on disk, not in memory
                time.sleep(_POLL)
    classifier.release(everything=True)  # the proxy has stopped, or is gone
    with contextlib.suppress(DatabaseError):  # already reported through `fatal`
        pipeline.close()
    counts = dataclasses.replace(
        pipeline.counts, observations=pipeline.counts.observations - classifier.split
    )
    conn.send_bytes(pickle.dumps(("done", counts)))

"""The pipeline for live traffic, run in a helper process so the proxy never waits for it.

Inside mitmproxy, ``submit`` only appends to a queue. A feeder thread pickles what arrived
every few milliseconds and appends it to a spool file next to the database; a helper process
reads the spool at its own pace and runs the ordinary ``Pipeline`` (classification, geography,
SQLite) on CPU time nothing else wants. So the proxy's event loop keeps its core and the GIL,
and a burst of large bodies waits on disk (not in the proxy's memory, where the garbage
collector would walk it) until there is time to classify it. ``close`` writes a stop mark and
waits until the helper has written everything; the spool is then removed.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

from borderflow.analysis import store
from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.pipeline import Counts, Pipeline, Settings
from borderflow.analysis.records import Observation

logger = logging.getLogger(__name__)

_BATCH_WAIT = 0.02  # seconds the feeder gathers observations before writing them
_POLL = 0.02  # seconds the helper waits at the end of the spool before looking again
_FRAME = struct.Struct("!I")
_OUT_OF_BAND = 16 * 1024  # bodies at least this large go to the spool without a copy
_STOP = b""  # an empty frame ends the spool
_MAX_PENDING = 2000  # observations the helper holds in memory before it reads more


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
        self._queue: queue.SimpleQueue[Observation | None] = queue.SimpleQueue()
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

    def submit(self, observation: Observation) -> None:
        """Queue ``observation``; O(1), never blocks, safe from any thread."""
        self._queue.put(observation)

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


def _write_all(fd: int, parts: list[bytes]) -> None:
    """``os.writev`` until every byte is written (it may stop short, e.g. on a signal)."""
    written = os.writev(fd, parts)
    rest = b"".join(parts)[written:] if written < sum(len(p) for p in parts) else b""
    while rest:
        rest = rest[os.write(fd, rest) :]


def _gather(q: queue.SimpleQueue[Observation | None]) -> tuple[list[Observation], bool]:
    """Everything queued, taken every few milliseconds; True once the stop mark came.

    Sleeping between takes (rather than waking for each item) keeps this thread from asking
    the proxy's event loop for the GIL hundreds of times a second.
    """
    batch: list[Observation] = []
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


def encode(batch: list[Observation]) -> list[bytes]:
    """One spool frame: sizes, the pickled batch without its large bodies, then the bodies.

    The bodies go to ``os.writev`` as they are: the proxy process never copies them.
    """
    bodies: list[bytes] = []
    places: list[tuple[int, int]] = []
    slim = list(batch)
    for i, obs in enumerate(batch):
        if any(len(p.message.body) >= _OUT_OF_BAND for p in obs.payloads):
            payloads = []
            for j, p in enumerate(obs.payloads):
                if len(p.message.body) >= _OUT_OF_BAND:
                    bodies.append(p.message.body)
                    places.append((i, j))
                    p = dataclasses.replace(p, message=dataclasses.replace(p.message, body=b""))
                payloads.append(p)
            slim[i] = dataclasses.replace(obs, payloads=tuple(payloads))
    meta = pickle.dumps((slim, places), protocol=pickle.HIGHEST_PROTOCOL)
    sizes = [len(meta), *(len(b) for b in bodies)]
    head = _FRAME.pack(_FRAME.size * (len(sizes) + 1) + sum(sizes))
    return [head, struct.pack(f"!{len(sizes) + 1}I", len(sizes), *sizes), meta, *bodies]


def decode(frame: bytes) -> list[Observation]:
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
        obs = batch[i]
        payloads = list(obs.payloads)
        payloads[j] = dataclasses.replace(
            payloads[j], message=dataclasses.replace(payloads[j].message, body=body)
        )
        batch[i] = dataclasses.replace(obs, payloads=tuple(payloads))
    return batch  # type: ignore[no-any-return]


def _frames(spool: BinaryIO, parent: int) -> Iterator[bytes]:
    """Frames from a spool that is still being written: wait at its end for more.

    Ends at the stop mark, or at the end of what was written once the proxy is gone.
    """
    buffer = b""
    while True:
        chunk = spool.read(1 << 20)
        if not chunk:
            if os.getppid() != parent:
                return  # the proxy died without a stop mark: keep what it spooled
            time.sleep(_POLL)
            continue
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
    with spool_path.open("rb") as spool:
        # Unlinked once both ends have it open: raw bodies never outlive the two processes.
        spool_path.unlink(missing_ok=True)
        for frame in _frames(spool, parent):
            for observation in decode(frame) if frame != _STOP else ():
                pipeline.submit(observation)
            while pipeline.pending() > _MAX_PENDING:  # the rest waits on disk, not in memory
                time.sleep(_POLL)
    with contextlib.suppress(DatabaseError):  # already reported through `fatal`
        pipeline.close()
    conn.send_bytes(pickle.dumps(("done", pipeline.counts)))

"""One pipeline for every source: observations in, classified records out, written by one thread.

Sources (live hooks, .mitm and HAR files, pcaps) only build ``Observation``s and ``submit`` them,
which never blocks. A single worker thread owns the database connection: it classifies payloads
(in a helper process for live traffic, so that decoding large bodies never competes with
mitmproxy's event loop for the GIL), turns them into findings and writes every record in
batched transactions. ``close`` drains the queue before it returns.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.classify import Classification, classify
from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.records import (
    Connection,
    Destination,
    Finding,
    Observation,
    Payload,
    Record,
    Weird,
)
from borderflow.geo.addresses import address_kind

logger = logging.getLogger(__name__)

_STOP = object()
_IN_FLIGHT = 16  # observations being classified in the helper process at once


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How the pipeline treats what it finds."""

    redact: bool = True  # store redacted evidence (the default) or the matched values
    classify_in_process: bool = False  # classify in a helper process (live traffic)
    batch_size: int = 2000  # records per transaction at most
    flush_interval: float = 0.25  # seconds a record may wait before it is written


@dataclass(slots=True)
class Counts:
    """What the pipeline has written so far, for summaries."""

    observations: int = 0
    records: int = 0
    findings: int = 0


def classify_payloads(payloads: Sequence[Payload]) -> list[Classification]:
    """Classify each payload's message; a module-level function so a process pool can run it."""
    return [classify(p.message) for p in payloads]


def findings_of(
    payloads: Sequence[Payload], results: Sequence[Classification], *, redact: bool
) -> Iterator[Record]:
    """The finding and weird rows that classifying ``payloads`` produced."""
    for payload, result in zip(payloads, results, strict=True):
        for d in result.detections:
            yield Finding(
                uid=payload.uid,
                trans_depth=payload.trans_depth,
                ts=payload.ts,
                direction=payload.message.direction,
                category=d.category,
                detector=d.detector,
                location=payload.prefix + d.location,
                confidence=d.confidence,
                reason=d.reason,
                evidence=d.evidence if redact else d.value,
            )
        for p in result.problems:
            yield Weird(
                ts=payload.ts,
                uid=payload.uid,
                name=p.name,
                addl=f"{payload.message.direction} {p.addl}",
                source="classify",
            )


def _ignore_sigint() -> None:
    """The helper process leaves Ctrl-C to its parent, which drains the queue and stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _first_ts(obs: Observation) -> float:
    """The observation's earliest timestamp: when its destinations were first seen."""
    times = [r.ts for r in obs.records if isinstance(r, Connection)]
    return min(times, default=0.0)


class Pipeline:
    """Classify and store observations on a worker thread; see the module docstring."""

    def __init__(
        self,
        db: Database,
        settings: Settings = Settings(),
        *,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._on_fatal = on_fatal
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.counts = Counts()
        self.error: str | None = None
        self._pool: ProcessPoolExecutor | None = None
        if settings.classify_in_process:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_ignore_sigint,
            )
        self._thread = threading.Thread(target=self._run, name="borderflow-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, path: Path, settings: Settings = Settings(), **kw: object) -> Pipeline:
        """Open (and migrate) the database at ``path`` and start the worker."""
        return cls(store.open_db(path), settings, **kw)  # type: ignore[arg-type]

    def submit(self, observation: Observation) -> None:
        """Queue ``observation``; O(1), never blocks, safe from any thread."""
        self._queue.put(observation)

    def close(self) -> None:
        """Write everything queued, then stop the worker. Raises if writing failed."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self.error is not None:
            raise DatabaseError(self.error)

    def _run(self) -> None:
        pending: list[Record] = []
        in_flight: collections.deque[tuple[Observation, Future[list[Classification]]]] = (
            collections.deque()
        )
        deadline = time.monotonic() + self._settings.flush_interval
        stopping = False
        while not (stopping and not in_flight and not pending):
            item: object = None
            if not stopping:
                # Poll briefly while the helper process works, else sleep until the next flush.
                wait = 0.005 if in_flight else max(0.001, deadline - time.monotonic())
                with contextlib.suppress(queue.Empty):
                    item = self._queue.get(timeout=wait)
            if item is _STOP:
                stopping = True
            elif isinstance(item, Observation):
                self.counts.observations += 1
                if self._pool is not None and item.payloads:
                    in_flight.append((item, self._pool.submit(classify_payloads, item.payloads)))
                else:
                    pending.extend(self._records(item, None))
            # Take results in submission order, so rows are written in the order they came.
            while in_flight and (stopping or in_flight[0][1].done() or len(in_flight) > _IN_FLIGHT):
                obs, future = in_flight.popleft()
                try:
                    results: list[Classification] | None = future.result()
                except Exception:
                    logger.exception("classifying in the helper process failed; classifying here")
                    results = None
                pending.extend(self._records(obs, results))
            now = time.monotonic()
            if pending and (
                len(pending) >= self._settings.batch_size or now >= deadline or stopping
            ):
                if not self._write(pending):
                    return
                pending = []
            if now >= deadline:
                deadline = now + self._settings.flush_interval

    def _records(self, obs: Observation, results: Sequence[Classification] | None) -> list[Record]:
        records = list(obs.records)
        records.extend(
            Destination(resp_h=h, first_seen=_first_ts(obs), address_kind=address_kind(h))
            for h in obs.destinations
        )
        try:
            if results is None:
                results = classify_payloads(obs.payloads)
            records.extend(findings_of(obs.payloads, results, redact=self._settings.redact))
        except Exception as e:
            logger.exception("classifying failed")
            records.extend(
                Weird(
                    ts=p.ts,
                    uid=p.uid,
                    name="classify_failed",
                    addl=repr(e)[:200],
                    source="pipeline",
                )
                for p in obs.payloads
            )
        return records

    def _write(self, records: list[Record]) -> bool:
        try:
            self.counts.records += store.write(self._db, records)
        except Exception as e:  # noqa: BLE001 - any failure to write is fatal, and said once
            self.error = f"cannot write to database: {e}"
            logger.error(self.error)
            if self._on_fatal is not None:
                self._on_fatal(self.error)
            return False
        self.counts.findings += sum(isinstance(r, Finding) for r in records)
        return True

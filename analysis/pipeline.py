"""One pipeline for every source: observations in, classified records out, written by one thread.

Sources (live hooks, .mitm and HAR files, pcaps) only build ``Observation``s and ``submit``
them, which never blocks. A single worker thread owns the database connection. It writes each
observation's records (connections, exchanges, DNS, destinations) as soon as it sees them, in
batched transactions, and classifies payloads in the time left over: a burst of large bodies
delays findings, never the record that a connection happened. ``close`` drains everything.

Live traffic runs this same pipeline in a helper process (``analysis/live.py``), so that
decoding large bodies never competes with mitmproxy's event loop for the GIL or a core.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.classify import Classification, classify
from borderflow.analysis.detectors.profile import Profile
from borderflow.analysis.enrich import Enricher
from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.records import (
    Capture,
    Connection,
    Finding,
    Observation,
    Payload,
    Record,
    Weird,
)

logger = logging.getLogger(__name__)

_STOP = object()
_CLASSIFY_SLICE = 0.05  # seconds of classification between checks for new records


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How the pipeline treats what it finds."""

    redact: bool = True  # store redacted evidence (the default) or the matched values
    batch_size: int = 20_000  # records per transaction at most (each commit syncs the disk)
    flush_interval: float = 0.2  # seconds a record may wait before it is written
    profile: Profile | None = None  # the test device's planted values, looked for everywhere


@dataclass(slots=True)
class Counts:
    """What the pipeline has written so far, for summaries."""

    observations: int = 0
    records: int = 0
    findings: int = 0


def findings_of(payload: Payload, result: Classification, *, redact: bool) -> Iterator[Record]:
    """The finding and weird rows that classifying ``payload`` produced."""
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
            addl=f"{payload.prefix}{payload.message.direction} {p.addl}",
            source="classify",
        )


def classify_payload(
    payload: Payload, *, redact: bool, profile: Profile | None = None
) -> list[Record]:
    """Classify one payload into rows; a classifier bug becomes a weird row, never a loss."""
    try:
        result = classify(payload.message, profile=profile)
        return list(findings_of(payload, result, redact=redact))
    except Exception as e:
        logger.exception("classifying failed")
        return [
            Weird(
                ts=payload.ts,
                uid=payload.uid,
                name="classify_failed",
                addl=repr(e)[:200],
                source="pipeline",
            )
        ]


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
        self._name = db.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
        self._settings = settings
        self._on_fatal = on_fatal
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.counts = Counts()
        self.error: str | None = None
        self._captures: set[str] = set()  # written here: linked to other captures at the end
        self._enricher = Enricher.from_environment()  # opens the geo databases on first use
        self._thread = threading.Thread(target=self._run, name="borderflow-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls,
        path: Path,
        settings: Settings = Settings(),
        *,
        on_fatal: Callable[[str], None] | None = None,
    ) -> Pipeline:
        """Open (and migrate) the database at ``path`` and start the worker."""
        return cls(store.open_db(path), settings, on_fatal=on_fatal)

    def submit(self, observation: Observation) -> None:
        """Queue ``observation``; O(1), never blocks, safe from any thread."""
        self._queue.put(observation)

    def pending(self) -> int:
        """About how many submitted items the worker has not taken yet."""
        return self._queue.qsize()

    def close(self) -> None:
        """Write everything queued, then stop the worker. Raises if writing failed."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._enricher.close()
        if self.error is not None:
            raise DatabaseError(self.error)

    def _run(self) -> None:
        records: list[Record] = []
        backlog: collections.deque[Payload] = collections.deque()
        deadline = time.monotonic() + self._settings.flush_interval
        stopping = False
        while True:
            # Take what has arrived; wait only when there is nothing to classify either, and
            # only until the records held back are due (or for ever, when there are none).
            wait: float | None = 0.0
            if not backlog and not stopping:
                wait = max(0.001, deadline - time.monotonic()) if records else None
            item = self._next(wait)
            while item is not None:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, Observation):
                    self.counts.observations += 1
                    records.extend(obs_records(self._enricher, item))
                    backlog.extend(item.payloads)
                if len(records) >= self._settings.batch_size:
                    break
                item = self._next(0)
            now = time.monotonic()
            if records and (
                now >= deadline or stopping or len(records) >= self._settings.batch_size
            ):
                if not self._write(records):
                    return
                records = []
                deadline = now + self._settings.flush_interval
            elif not records:
                deadline = now + self._settings.flush_interval
            # Classify for a slice of time, then go back to recording what came in meanwhile.
            found: list[Record] = []
            until = time.monotonic() + _CLASSIFY_SLICE
            while backlog and (stopping or time.monotonic() < until):
                found.extend(
                    classify_payload(
                        backlog.popleft(),
                        redact=self._settings.redact,
                        profile=self._settings.profile,
                    )
                )
                if stopping and len(found) >= self._settings.batch_size:
                    break
            if found and not self._write(found):
                return
            if stopping and not backlog and not records and self._queue.empty():
                self._link_same_connections()
                return

    def _next(self, wait: float | None) -> object:
        """The next queued item, waiting up to ``wait`` seconds (None: until one comes)."""
        with contextlib.suppress(queue.Empty):
            return self._queue.get(timeout=wait) if wait != 0 else self._queue.get_nowait()
        return None

    def _write(self, records: Sequence[Record]) -> bool:
        try:
            self.counts.records += store.write(self._db, records)
        except Exception as e:  # noqa: BLE001 - any failure to write is fatal, and said once
            self._failed(e)
            return False
        self.counts.findings += sum(isinstance(r, Finding) for r in records)
        self._captures.update(r.id for r in records if isinstance(r, Capture))
        return True

    def _link_same_connections(self) -> None:
        """Connections another capture recorded too (a proxy session and a capture taken on
        the phone alongside) are linked, so that counts take each once."""
        try:
            store.mark_same_connections(self._db, self._captures)
        except Exception as e:  # noqa: BLE001 - as for _write
            self._failed(e)

    def _failed(self, e: Exception) -> None:
        self.error = f"{self._name}: cannot write to database ({e})"
        logger.error(self.error)
        if self._on_fatal is not None:
            self._on_fatal(self.error)


def obs_records(enricher: Enricher, obs: Observation) -> list[Record]:
    """An observation's own records plus a destination row for each new server address."""
    records = list(obs.records)
    # Geography, operator and law per address, cached; DNS answers name later connections.
    records.extend(enricher.destinations_for(obs.records, obs.destinations, _first_ts(obs)))
    return records

"""Replay a saved capture into the database through the same pipeline as live traffic."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.detectors.profile import Profile
from borderflow.analysis.errors import BorderflowError, InputError
from borderflow.analysis.ids import derived_id
from borderflow.analysis.pipeline import Counts, Pipeline, Settings
from borderflow.analysis.records import Capture, Observation, SourceKind
from borderflow.analysis.sources import pcap_file
from borderflow.analysis.sources.flowfile import observe_flows, sniff_kind
from borderflow.analysis.sources.mitm import ConnTracker
from borderflow.analysis.tlsdecrypt.keylog import KeyLog, read_key_log
from borderflow.analysis.version import VERSION

_PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What one replayed file added to the database."""

    path: Path
    capture_id: str
    kind: SourceKind
    skipped: bool  # the file was already in the database, so nothing was written
    counts: Counts
    details: str | None = None  # what the source adds to the summary (pcaps: packets, ...)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def capture_id_of(sha256: str) -> str:
    """A file's capture id: the same file always gets the same id, and so the same uids."""
    return derived_id("K", sha256)


def replay_file(
    path: Path,
    db_path: Path,
    *,
    app: str | None = None,
    device: str | None = None,
    redact: bool = True,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    key_log: Path | None = None,
    profile: Profile | None = None,
) -> ReplayResult:
    """Replay ``path`` (.mitm, HAR, pcap or pcapng) into ``db_path``; a file already there is
    skipped. ``key_log`` (NSS format) decrypts TLS in pcap and pcapng files; ``profile`` makes
    the classifier look for the test device's planted values.

    What was read before a broken part of the file stays in the database; the error is raised
    after it is written.
    """
    kind = _kind(path)
    keys = read_key_log(key_log) if key_log is not None and kind is SourceKind.PCAP else None
    sha256 = file_sha256(path)
    cid = capture_id_of(sha256)
    db = store.open_db(db_path)
    if cid in _capture_ids(db):
        if not force:
            return ReplayResult(path, cid, kind, skipped=True, counts=Counts())
        delete_capture(db, cid)
    capture = Capture(
        id=cid,
        source=kind,
        path=str(path),
        sha256=sha256,
        started=time.time(),
        ended=None,
        app=app,
        device=device,
        tool_version=VERSION,
    )
    pipeline = Pipeline(db, Settings(redact=redact, profile=profile))
    pipeline.submit(Observation(records=(capture,)))
    failure: BorderflowError | None = None
    details: list[str] = []
    try:
        sources = _observations(
            path, kind, cid, app=app, keys=keys, progress=progress, details=details
        )
        for obs in sources:
            pipeline.submit(obs)
    except BorderflowError as e:
        failure = e
    finally:
        ended = dataclasses.replace(capture, ended=time.time())
        pipeline.submit(Observation(records=(ended,)))
        pipeline.close()
    if failure is not None:
        raise failure
    return ReplayResult(
        path, cid, kind, skipped=False, counts=pipeline.counts, details="; ".join(details) or None
    )


def _observations(
    path: Path,
    kind: SourceKind,
    capture_id: str,
    *,
    app: str | None,
    keys: KeyLog | None,
    progress: Callable[[int], None] | None,
    details: list[str],
) -> Iterator[Observation]:
    if kind is SourceKind.PCAP:
        from borderflow.analysis.sources.pcap import PcapReplay

        replay = PcapReplay(
            path, capture_id, app=app, keys=keys, progress=progress, on_summary=details.append
        )
        return replay.observations()
    return observe_flows(path, ConnTracker(capture_id, app=app), kind=kind, progress=progress)


def delete_capture(db: Database, capture_id: str) -> None:
    """Remove every row a capture wrote (destinations stay: other captures share them)."""
    uids = "SELECT uid FROM conn WHERE capture_id = ?"
    with db.atomic():
        for table in ("http", "tls", "dns", "finding", "weird"):
            db.execute(f"DELETE FROM [{table}] WHERE uid IN ({uids})", [capture_id])  # noqa: S608 - fixed table names
        db.execute("DELETE FROM conn WHERE capture_id = ?", [capture_id])
        db.execute("DELETE FROM capture WHERE id = ?", [capture_id])


def _capture_ids(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM capture").fetchall()}


def _kind(path: Path) -> SourceKind:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e
    if not magic:
        raise InputError(f"{path}: empty file")
    if magic in _PCAP_MAGICS:
        return SourceKind.PCAP
    if magic[:2] == b"\x1f\x8b":
        if pcap_file.sniff(path) is None:
            raise InputError(f"{path}: gzip-compressed, but not a pcap or pcapng file")
        return SourceKind.PCAP
    return sniff_kind(path)

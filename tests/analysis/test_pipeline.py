"""The pipeline writes everything submitted, in order, and fails loudly when it cannot."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import tflow
from sqlite_utils import Database

from borderflow.analysis import live, store
from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.live import LivePipeline
from borderflow.analysis.pipeline import Counts, Pipeline, Settings
from borderflow.analysis.records import Message, Observation, Payload, Weird
from borderflow.analysis.sources.mitm import ConnTracker


def observation(i: int) -> Observation:
    body = f'{{"email": "user{i}@example.com", "n": {i}}}'.encode()
    message = Message(
        direction="request",
        method="POST",
        url=f"https://api.example-pay.test/v1/{i}",
        headers=(("content-type", "application/json"),),
        body=body,
    )
    return Observation(
        records=(Weird(ts=float(i), uid=f"C{i:016d}", name="marker", addl=str(i), source="test"),),
        payloads=(Payload(uid=f"C{i:016d}", trans_depth=1, ts=float(i), message=message),),
    )


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("kind", ["thread", "helper-process"])
def test_close_writes_everything_submitted_in_order(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "t.db"
    settings = Settings(batch_size=7)
    pipeline = Pipeline.open(path, settings) if kind == "thread" else LivePipeline(path, settings)
    for i in range(300):
        pipeline.submit(observation(i))
    pipeline.close()
    assert [int(r[0]) for r in rows(path, "SELECT addl FROM weird ORDER BY rowid")] == list(
        range(300)
    )
    findings = rows(
        path, "SELECT uid, evidence FROM finding WHERE category = 'contact.email' ORDER BY rowid"
    )
    assert [uid for uid, _ in findings] == [f"C{i:016d}" for i in range(300)]
    assert all("@example.com" in ev and not ev.startswith("user") for _, ev in findings)
    assert pipeline.counts.observations == 300


def test_unredacted_setting_stores_the_matched_value(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    pipeline = Pipeline.open(path, Settings(redact=False))
    pipeline.submit(observation(1))
    pipeline.close()
    assert rows(path, "SELECT evidence FROM finding WHERE category = 'contact.email'") == [
        ("user1@example.com",)
    ]


def test_an_unwritable_database_is_reported_and_stops_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store.open_db(path).close()
    readonly = Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False))
    told: list[str] = []
    pipeline = Pipeline(readonly, on_fatal=told.append)
    pipeline.submit(observation(1))
    with pytest.raises(DatabaseError, match="readonly"):
        pipeline.close()
    assert len(told) == 1
    assert told[0].startswith(f"{path}: cannot write to database")


def test_a_spooled_exchange_snapshot_gives_the_rows_replay_gives() -> None:
    flow = tflow.tflow(resp=True)
    flow.request.content = b'{"email": "a@example.com"}' * 2000  # large: spooled out of band
    flow.request.headers["Host"] = "api.example-pay.test"
    flow.response = http.Response.make(200, b"ok", {"content-type": "text/plain"})
    snapshot = ConnTracker("K1").exchange_snapshot("c", flow)
    frame = b"".join(live.encode([snapshot, observation(1)]))
    spooled, other = live.decode(frame[4:])  # without the length prefix
    assert spooled == snapshot
    assert other == observation(1)
    assert spooled.observation() == ConnTracker("K1").http_exchange("c", flow)


def test_the_helper_frees_the_spool_pages_it_has_read(tmp_path: Path) -> None:
    body = bytes(range(256)) * 400  # 100 KB, spooled out of band
    sent = [
        Observation(
            payloads=(dataclasses.replace(p, message=dataclasses.replace(p.message, body=body)),)
        )
        for p in (observation(i).payloads[0] for i in range(500))
    ]
    spool = tmp_path / "spool"
    with spool.open("wb") as out:
        for i in range(0, len(sent), 10):
            out.write(b"".join(live.encode(sent[i : i + 10])))
        out.write(live._FRAME.pack(0))  # the stop mark
    written = spool.stat().st_size
    with spool.open("r+b") as f:
        received = [
            item for frame in live._frames(f, os.getppid()) if frame for item in live.decode(frame)
        ]
        allocated = os.fstat(f.fileno()).st_blocks * 512
    assert received == sent
    assert written > 40 * 1024 * 1024
    assert allocated < written - 32 * 1024 * 1024  # all but the last, not yet trimmed, part


class _Taken:
    """A pipeline whose worker takes every item at once: only what the feeder submits counts."""

    def __init__(self) -> None:
        self.items: list[Observation] = []
        self.counts = Counts()

    def submit(self, obs: Observation) -> None:
        self.items.append(obs)
        self.counts.observations += 1


class _Load:
    def __init__(self) -> None:
        self.is_busy = True

    def busy(self) -> bool:
        return self.is_busy


def test_payloads_wait_while_the_proxy_is_busy_records_do_not() -> None:
    pipeline, load = _Taken(), _Load()
    classifier = live._Classifier(pipeline, load)  # type: ignore[arg-type]
    classifier.submit(observation(1))
    classifier.release()  # busy, but the first chunk of each second goes anyway
    classifier.submit(observation(2))
    classifier.release()
    assert [(len(o.records), len(o.payloads)) for o in pipeline.items] == [(1, 0), (0, 1), (1, 0)]
    load.is_busy = False
    classifier.release()
    assert pipeline.items[-1] == Observation(payloads=observation(2).payloads)
    classifier.submit(observation(3))
    load.is_busy = True
    classifier.release(everything=True)  # the proxy stopped: nothing stays behind
    assert pipeline.items[-1] == Observation(payloads=observation(3).payloads)
    assert classifier.split == 3


def test_held_payloads_are_classified_even_while_busy_once_they_pass_the_memory_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bound = 3 * len(observation(1).payloads[0].message.body)
    monkeypatch.setattr(live, "_MAX_HELD", bound)
    pipeline, load = _Taken(), _Load()
    classifier = live._Classifier(pipeline, load)  # type: ignore[arg-type]
    classifier.submit(observation(1))
    classifier.release()  # the first chunk goes anyway; the next waits a second while busy
    for i in (2, 3, 4):
        classifier.submit(observation(i))
        classifier.release()
    assert [o.payloads for o in pipeline.items if o.payloads] == [observation(1).payloads]
    classifier.submit(observation(5))  # four bodies held: past the bound
    classifier.release()
    released = [o.payloads[0].uid for o in pipeline.items if o.payloads]
    assert released == [f"C{i:016d}" for i in range(1, 6)]

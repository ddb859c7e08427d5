"""One connection recorded by two captures (a proxy session and a capture taken on the phone
alongside) counts once in reports and summaries, and stays in each capture's own rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from borderflow.analysis import queries, report, store
from borderflow.analysis.pipeline import Pipeline
from borderflow.analysis.records import NotDecryptedWhy, Observation, Record
from tests.report.conftest import KA, KB, capture, conn, dest, finding

LIVE, PHONE = KB, KA  # the phone's capture id sorts first: the decrypted row still wins


def flow(uid: str, capture_id: str, ts: float, community: str, *, decrypted: bool) -> Record:
    why = None if decrypted else NotDecryptedWhy.NO_KEY_LOG
    c = conn(uid, capture_id, ts, "203.0.113.5", "track.cn.example", why=why)
    return dataclasses.replace(c, community_id=community)


def write(db_path: Path, records: list[Record]) -> None:
    """Through the pipeline, as a replay or a live session writes them."""
    pipeline = Pipeline.open(db_path)
    pipeline.submit(Observation(records=tuple(records)))
    pipeline.close()


def two_captures(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    write(
        path,
        [
            capture(LIVE, 1000.0),
            dest("203.0.113.5", "track.cn.example", country="CN"),
            flow("CLIVE00000000001", LIVE, 1000.0, "1:same", decrypted=True),
            flow("CLIVE00000000002", LIVE, 1010.0, "1:only-live", decrypted=True),
            finding("CLIVE00000000001", 1000.0, "location.precise"),
        ],
    )
    write(
        path,
        [
            capture(PHONE, 1000.0),
            flow("CPHONE0000000001", PHONE, 1001.5, "1:same", decrypted=False),  # phone's clock
            flow("CPHONE0000000002", PHONE, 1200.0, "1:same", decrypted=False),  # port reused later
        ],
    )
    return path


def test_the_pipeline_links_the_row_another_capture_recorded_better(tmp_path: Path) -> None:
    db = store.open_db(two_captures(tmp_path))
    linked = dict(db.execute("SELECT uid, same_as FROM conn ORDER BY uid").fetchall())
    assert linked == {
        "CLIVE00000000001": None,  # decrypted: kept
        "CLIVE00000000002": None,
        "CPHONE0000000001": "CLIVE00000000001",
        "CPHONE0000000002": None,  # same Community ID, minutes later: another connection
    }


def test_reports_and_summaries_count_it_once_and_a_capture_alone_keeps_it(
    tmp_path: Path,
) -> None:
    db = store.open_db(two_captures(tmp_path))
    assert report.build(db)["headline"]["connections"] == 3
    assert queries.summary(db, queries.Filters())["connections"] == 3
    assert report.build(db, capture=PHONE)["headline"]["connections"] == 2
    assert queries.summary(db, queries.Filters(capture=PHONE))["connections"] == 2
    assert len(queries.flows(db, queries.Filters())) == 4  # listings show every row

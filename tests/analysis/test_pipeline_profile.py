"""A device profile given to the pipeline (proxy or replay) finds planted values in any form."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from borderflow.analysis.detectors.profile import parse_profile
from borderflow.analysis.live import LivePipeline
from borderflow.analysis.pipeline import Pipeline, Settings
from borderflow.analysis.records import Message, Observation, Payload

IMEI = "490154203237518"


def hashed_imei_upload() -> Observation:
    digest = hashlib.sha256(IMEI.encode()).hexdigest()
    message = Message(
        direction="request",
        method="POST",
        url="https://ulogs.umeng.test/upload",
        headers=(("content-type", "application/json"),),
        body=f'{{"k": "{digest}"}}'.encode(),
    )
    return Observation(payloads=(Payload(uid="C1", trans_depth=1, ts=1.0, message=message),))


@pytest.mark.parametrize("kind", ["thread", "helper-process"])
def test_a_profile_in_the_settings_finds_a_hashed_planted_imei(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "t.db"
    settings = Settings(profile=parse_profile({"device": {"imei": IMEI}}))
    pipeline = Pipeline.open(path, settings) if kind == "thread" else LivePipeline(path, settings)
    pipeline.submit(hashed_imei_upload())
    pipeline.close()
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT category, location, reason FROM finding").fetchall()
    assert [(c, loc) for c, loc, _ in found] == [("identifiers.device", "body/json:$.k")]
    assert "SHA-256" in found[0][2]


def test_without_a_profile_a_hashed_imei_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    pipeline = Pipeline.open(path)
    pipeline.submit(hashed_imei_upload())
    pipeline.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM finding").fetchone() == (0,)

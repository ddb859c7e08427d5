"""Replaying mitmproxy flow files and HAR exports, checked against an independent oracle.

The oracle is ``oracle_flows.py`` beside the shared captures: it reads HAR as plain JSON and
.mitm with mitmproxy's reader, and counts requests and hosts per file.
"""

from __future__ import annotations

import gc
import importlib.util
import sqlite3
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mitmproxy import http, io

from borderflow.analysis.errors import InputError
from borderflow.analysis.replay import replay_file

FLOW_FILES = [
    "mitmproxy/test/mitmproxy/data/flows/successful_log.mitm",
    "mitmproxy/test/mitmproxy/data/flows/successful_log.har",
    "mitmproxy/test/mitmproxy/data/flows/diff_data.mitm",
    "mitmproxy/test/mitmproxy/data/flows/diff_data.har",
    "mitmproxy/test/mitmproxy/data/flows/error_log.mitm",
    "mitmproxy/test/mitmproxy/data/flows/error_log.har",
    "mitmproxy/test/mitmproxy/data/flows/event_stream.mitm",
    "mitmproxy/test/mitmproxy/data/flows/incomplete_log.mitm",
    "mitmproxy/test/mitmproxy/data/flows/incomplete_log.har",
    "mitmproxy/test/mitmproxy/data/flows/websocket.mitm",
    "mitmproxy/test/mitmproxy/data/flows/websocket.har",
    "mitmproxy/test/mitmproxy/data/flows/corrupted_gzip_body.mitm",
    "mitmproxy/test/mitmproxy/data/flows/compressed.zhar",
    "mitmproxy/test/mitmproxy/data/dumpfile-7-websocket.mitm",
    "mitmproxy/test/mitmproxy/data/dumpfile-018.mitm",
    "mitmproxy/test/mitmproxy/data/dumpfile-19.mitm",
    "mitmproxy/test/mitmproxy/data/har_files/chrome.har",
    "mitmproxy/test/mitmproxy/data/har_files/firefox.har",
    "mitmproxy/test/mitmproxy/data/har_files/safari.har",
    "mitmproxy/test/mitmproxy/data/har_files/charles.har",
    "mitmproxy/test/mitmproxy/data/har_files/postdata.har",
    "mitmproxy/test/mitmproxy/data/har_files/with-bom.har",
    "mitmproxy/test/mitmproxy/data/har_files/insomnia.har",
]

UNREADABLE = [
    "mitmproxy/test/mitmproxy/data/dumpfile-010.mitm",
    "mitmproxy/test/mitmproxy/data/corrupted_har/brokenfile.har",
    "mitmproxy/test/mitmproxy/data/har_extractor.har",
]


@pytest.fixture(scope="module")
def oracle(shared_captures: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "oracle_flows", shared_captures / "oracle_flows.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected(oracle: ModuleType, path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the oracle leaves files to the GC
        if path.suffix == ".mitm":
            summary = oracle.mitm_summary(str(path))
            # A .mitm file holds a WebSocket flow twice (at its handshake and at its end);
            # the exchange is one, so count distinct flows.
            with path.open("rb") as f:
                summary["http_requests"] = len(
                    {x.id for x in io.FlowReader(f).stream() if isinstance(x, http.HTTPFlow)}
                )
        else:
            summary = oracle.har_summary(str(path))
        gc.collect()
    return summary  # type: ignore[no-any-return]


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("name", FLOW_FILES)
def test_replay_records_every_request_the_oracle_counts(
    shared_captures: Path, oracle: ModuleType, tmp_path: Path, name: str
) -> None:
    path = shared_captures / name
    expected = _expected(oracle, path)
    db = tmp_path / "t.db"
    replay_file(path, db)
    assert _rows(db, "SELECT count(*) FROM http")[0][0] == expected["http_requests"]
    hosts = {h for (h,) in _rows(db, "SELECT DISTINCT host FROM http")}
    assert hosts == set(expected["hosts"]) - {None, ""}
    orphans = _rows(db, "SELECT count(*) FROM http WHERE uid NOT IN (SELECT uid FROM conn)")
    assert orphans[0][0] == 0, "every exchange joins to a conn row"


def test_replaying_the_same_file_twice_adds_nothing(shared_captures: Path, tmp_path: Path) -> None:
    path = shared_captures / "mitmproxy/test/mitmproxy/data/flows/diff_data.mitm"
    db = tmp_path / "t.db"
    first = replay_file(path, db)
    counts = _rows(db, "SELECT (SELECT count(*) FROM conn), (SELECT count(*) FROM http)")
    second = replay_file(path, db)
    assert second.skipped
    assert not first.skipped
    assert _rows(db, "SELECT (SELECT count(*) FROM conn), (SELECT count(*) FROM http)") == counts


def test_same_file_gives_the_same_rows_in_two_databases(
    shared_captures: Path, tmp_path: Path
) -> None:
    path = shared_captures / "mitmproxy/test/mitmproxy/data/flows/successful_log.har"
    dumps = []
    for name in ("a.db", "b.db"):
        replay_file(path, tmp_path / name)
        dumps.append(
            [
                _rows(tmp_path / name, f"SELECT * FROM {t} ORDER BY 1, 2")
                for t in ("conn", "http", "finding", "weird")
            ]
        )
    assert dumps[0] == dumps[1]


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_flow_file_is_one_line_error_naming_the_file(
    shared_captures: Path, tmp_path: Path, name: str
) -> None:
    path = shared_captures / name
    with pytest.raises(InputError) as err:
        replay_file(path, tmp_path / "t.db")
    message = str(err.value)
    assert message.startswith(str(path))
    assert "\n" not in message


def test_truncated_flow_file_keeps_the_flows_before_the_break(
    shared_captures: Path, tmp_path: Path
) -> None:
    source = (shared_captures / "mitmproxy/test/mitmproxy/data/flows/diff_data.mitm").read_bytes()
    # Cut inside the last flow: the flows before it must still be recorded.
    path = tmp_path / "cut.mitm"
    path.write_bytes(source[: len(source) - 2000])
    db = tmp_path / "t.db"
    with pytest.raises(InputError, match=r"cut\.mitm"):
        replay_file(path, db)
    assert _rows(db, "SELECT count(*) FROM http")[0][0] >= 1
    assert _rows(db, "SELECT count(*) FROM weird WHERE name = 'unreadable_flow_file'")[0][0] == 1

"""The migrated schema and the record classes agree, and migrating twice changes nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from borderflow.analysis import records, store
from borderflow.analysis.errors import DatabaseError

RECORDS = [
    records.Capture,
    records.Connection,
    records.HttpExchange,
    records.TlsInfo,
    records.DnsRecord,
    records.Finding,
    records.Destination,
    records.Weird,
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.table)
def test_table_columns_equal_record_fields(tmp_path: Path, record: Any) -> None:
    db = store.open_db(tmp_path / "t.db")
    columns = list(db[record.table].columns_dict)
    assert columns == [f.name for f in dataclasses.fields(record)]


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    first = store.open_db(path)
    schema = first.schema
    first.close()
    assert store.open_db(path).schema == schema


def test_database_uses_wal(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "t.db")
    assert db.journal_mode == "wal"


def test_opening_a_database_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        store.open_db(tmp_path / "missing" / "t.db")


def test_a_file_that_is_not_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError) as err:
        store.open_db(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)

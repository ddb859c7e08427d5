"""Open the SQLite database, migrating it to the current schema, and write records to it."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from borderflow.analysis.errors import DatabaseError
from borderflow.analysis.migrations import migrations
from borderflow.analysis.records import Record

# Tables whose rows may arrive again (a replay, a connection seen twice): keep the first.
_KEEP_FIRST = frozenset({"finding", "destination"})
# Tables whose row is rewritten when a later observation knows more (a capture's end).
_REPLACE = frozenset({"capture", "conn", "http", "tls"})


def open_db(path: Path, *, readonly: bool = False) -> Database:
    """Open (creating and migrating unless ``readonly``) the database at ``path``."""
    if readonly:
        if not path.is_file():
            raise DatabaseError(f"{path}: no such database")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            db = Database(conn)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as e:
            raise DatabaseError(f"{path}: not a borderflow database ({e})") from e
        if "conn" not in db.table_names():
            raise DatabaseError(f"{path}: not a borderflow database (no conn table)")
        return db
    if path.is_dir():
        raise DatabaseError(f"{path}: is a directory, not a database file")
    if not path.parent.is_dir():
        raise DatabaseError(f"{path}: folder {path.parent} does not exist")
    try:
        db = Database(sqlite3.connect(path, check_same_thread=False))
        migrations.apply(db)
    except sqlite3.Error as e:
        raise DatabaseError(f"{path}: cannot open database ({e})") from e
    return db


def row(record: Record) -> dict[str, Any]:
    """A record as a row: enums become their values, booleans integers."""
    values = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        values[f.name] = int(v) if isinstance(v, bool) else v
    return values


def write(db: Database, records: Iterable[Record]) -> int:
    """Write ``records`` in one transaction, grouped by table; returns how many were written."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_table.setdefault(record.table, []).append(row(record))
    with db.atomic():
        for table, rows in by_table.items():
            _insert(db, table, rows)
    return sum(len(rows) for rows in by_table.values())


def _insert(db: Database, table: str, rows: Sequence[dict[str, Any]]) -> None:
    db.table(table).insert_all(
        rows,
        batch_size=500,
        ignore=table in _KEEP_FIRST,
        replace=table in _REPLACE,
    )

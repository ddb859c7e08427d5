"""Open the SQLite database, migrating it to the current schema, and write records to it."""

from __future__ import annotations

import dataclasses
import operator
import sqlite3
from collections.abc import Callable, Iterable
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
_CACHE_KIB = 64 * 1024  # page cache of the writing connection


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
        # The indexes of a large capture's rows outgrow SQLite's default 2 MiB page cache,
        # and every batch would read their pages back: a bound, not an allocation.
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        migrations.apply(db)
    except sqlite3.Error as e:
        raise DatabaseError(f"{path}: cannot open database ({e})") from e
    return db


def write(db: Database, records: Iterable[Record]) -> int:
    """Write ``records`` in one transaction, grouped by table; returns how many were written.

    One prepared statement per record type, run with ``executemany``: sqlite-utils'
    ``insert_all`` builds a dict per row and a new multi-row statement per batch, which cost
    more than SQLite's own work. SQLite binds booleans as integers and enums (``str``
    subclasses) as their values, as the schema stores them.
    """
    by_type: dict[type[Record], list[Record]] = {}
    for record in records:
        by_type.setdefault(type(record), []).append(record)
    with db.atomic():
        for kind, rows in by_type.items():
            sql, values = _statement(kind)
            db.conn.executemany(sql, map(values, rows))
    return sum(len(rows) for rows in by_type.values())


_STATEMENTS: dict[type[Record], tuple[str, Callable[[Record], tuple[Any, ...]]]] = {}


def _statement(kind: type[Record]) -> tuple[str, Callable[[Record], tuple[Any, ...]]]:
    """The INSERT for a record type and a function giving a record's values in its order."""
    found = _STATEMENTS.get(kind)
    if found is None:
        names = [f.name for f in dataclasses.fields(kind)]
        verb = "INSERT"
        if kind.table in _REPLACE:
            verb = "INSERT OR REPLACE"
        elif kind.table in _KEEP_FIRST:
            verb = "INSERT OR IGNORE"
        columns = ", ".join(f"[{name}]" for name in names)
        sql = f"{verb} INTO [{kind.table}] ({columns}) VALUES ({', '.join('?' * len(names))})"
        # Every record type has several fields, so attrgetter gives a tuple.
        found = _STATEMENTS[kind] = (sql, operator.attrgetter(*names))
    return found

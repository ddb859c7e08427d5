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


# Two records of one connection: same Community ID, in different captures, this close in time
# (a phone's clock and the computer's may differ by a little; a 5-tuple is rarely reused
# within a minute).
SAME_CONNECTION_WINDOW = 60.0


def mark_same_connections(db: Database, capture_ids: Iterable[str]) -> int:
    """Link connections ``capture_ids`` share with other captures; how many rows are linked.

    Of each pair the row kept is the decrypted one, then the one of the capture whose id sorts
    first (so the result does not depend on the order of replays); the other gets ``same_as``
    = the kept row's uid. Reports and summaries count each connection once; listings keep both.
    """
    ids = sorted(set(capture_ids))
    marks = ",".join("?" * len(ids))
    others = f"SELECT 1 FROM capture WHERE id NOT IN ({marks}) LIMIT 1"  # noqa: S608
    if not ids or db.execute(others, ids).fetchone() is None:
        return 0  # the only capture: nothing to share
    with db.atomic():
        db.execute(
            f"""UPDATE conn SET same_as = (
                    SELECT k.uid FROM conn AS k
                    WHERE k.community_id = conn.community_id
                      AND k.capture_id != conn.capture_id
                      AND abs(k.ts - conn.ts) <= ?
                      AND (k.decrypted > conn.decrypted
                           OR (k.decrypted = conn.decrypted AND k.capture_id < conn.capture_id))
                    ORDER BY k.decrypted DESC, k.capture_id, k.uid
                    LIMIT 1)
                WHERE community_id IN (
                    SELECT community_id FROM conn WHERE capture_id IN ({marks}))""",  # noqa: S608
            [SAME_CONNECTION_WINDOW, *ids],
        )
    linked: int = db.execute("SELECT count(*) FROM conn WHERE same_as IS NOT NULL").fetchone()[0]
    return linked


def counted_once_sql(db: Database, capture: str | None) -> str:
    """The condition (`` AND ...``, or empty) under which counts over ``conn`` take each
    connection once: over several captures, not the rows ``mark_same_connections`` linked to
    another; within one capture (``capture``), all of its rows."""
    if capture is not None:
        return ""
    try:
        found = db.execute("SELECT 1 FROM conn WHERE same_as IS NOT NULL LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return ""  # a database from before the column, opened read-only
    return "" if found is None else " AND conn.same_as IS NULL"


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

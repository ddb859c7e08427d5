"""The read-side queries behind ``borderflow flows``, ``findings``, ``destinations``, ``summary``
and ``sql``.

Each returns plain rows (dicts) so the CLI can print them as a table, JSON or CSV. Filtering
and counting happen in SQL, never in Python loops over rows. Every connection is joined with
its ``destination`` row (address and the name it was reached as, ``borders.DESTINATION_JOIN``),
so the geography filters and columns work the same in every command.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.borders import DESTINATION_JOIN, outside_home_sql
from borderflow.analysis.errors import BorderflowError
from borderflow.geo.errors import GeoError
from borderflow.geo.jurisdictions import Home, Rules


class FilterError(BorderflowError):
    """A filter's value is malformed: ``--since 'xyz': ...``."""


class ReadOnlyError(BorderflowError):
    """``borderflow sql`` was given a statement that would change the database."""


def _default_home() -> Home:
    return Rules.load().home("EU")


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """Filters shared by the query commands; ``None`` (or ``False``) means no filter."""

    host: str | None = None  # matches server_name or resp_h, or a subdomain of server_name
    category: str | None = None  # a finding category, or a prefix ending in "." (contact.)
    capture: str | None = None
    app: str | None = None  # conn.app, exactly
    country: str | None = None  # located in (destination.country), an upper-case ISO code
    operator: str | None = None  # substring of operator, operator_parent or host_operator
    cross_border: bool = False  # only destinations with a jurisdiction outside ``home``
    since: float | None = None  # Unix seconds: connections opened (findings found) from then
    home: Home = field(default_factory=_default_home)  # for cross_border, filter and column


def parse_since(text: str, *, now: float | None = None) -> float:
    """``--since``: an ISO 8601 date or time (UTC unless it has an offset), or an age (30m, 2h,
    7d, 1w) counted back from ``now``; Unix seconds."""
    value = text.strip()
    age = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", value, flags=re.IGNORECASE)
    if age:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[age.group(2).lower()]
        return (time.time() if now is None else now) - float(age.group(1)) * unit
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            f"--since {text!r}: not an ISO 8601 date or time (2026-05-01, 2026-05-01T14:30, "
            "2026-05-01T14:30+02:00) or an age (30m, 2h, 7d)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def parse_country(text: str) -> str:
    """``--country``: a two-letter ISO 3166-1 code, in upper case."""
    code = text.strip()
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise FilterError(f"--country {text!r}: not a two-letter country code (DE, US, CN, ...)")
    return code.upper()


def parse_home(text: str) -> Home:
    """``--home``: EU, EEA, GB or a two-letter country code."""
    try:
        rules = Rules.load()
    except GeoError as e:
        raise FilterError(str(e)) from e
    try:
        return rules.home(text)
    except GeoError as e:
        raise FilterError(f"--home {text!r}: not EU, EEA, GB or a two-letter country code") from e


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, with its wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: Filters, *, since_column: str = "conn.ts") -> tuple[str, list[Any]]:
    """The connection filters as SQL over ``conn`` joined with ``destination``."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.host:
        clauses.append(
            "(conn.server_name = ? OR conn.resp_h = ? OR conn.server_name LIKE ? ESCAPE '\\')"
        )
        escaped = f.host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [f.host, f.host, f"%.{escaped}"]
    if f.capture:
        clauses.append("conn.capture_id = ?")
        params.append(f.capture)
    if f.app:
        clauses.append("conn.app = ?")
        params.append(f.app)
    if f.country:
        clauses.append("destination.country = ?")
        params.append(f.country)
    if f.operator:
        columns = ("operator", "operator_parent", "host_operator")
        clauses.append(
            "(" + " OR ".join(f"destination.{c} LIKE ? ESCAPE '\\'" for c in columns) + ")"
        )
        params += [_like(f.operator)] * len(columns)
    if f.cross_border:
        outside, outside_params = outside_home_sql(f.home)
        clauses.append(outside)
        params += outside_params
    if f.since is not None:
        clauses.append(f"{since_column} >= ?")
        params.append(f.since)
    return (" AND ".join(clauses) or "1"), params


def _cross_border_column(f: Filters) -> tuple[str, list[Any]]:
    """``cross_border`` (1 or 0) for ``f.home``; 0 when nothing known lies outside it."""
    outside, params = outside_home_sql(f.home)
    return f"CASE WHEN {outside} THEN 1 ELSE 0 END AS cross_border", params


def _rows(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _limit(limit: int | None) -> tuple[str, list[Any]]:
    return ("LIMIT ?", [limit]) if limit else ("", [])


# The destination's geography and operator, as flows and findings show them.
_GEOGRAPHY = """destination.country, destination.operator, destination.operator_parent,
               destination.operator_hq_country"""


def flows(db: Database, f: Filters, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per connection, oldest first, with its exchange and finding counts."""
    where, params = _where(f)
    if f.category:
        where += " AND conn.uid IN (SELECT uid FROM finding WHERE " + _category_sql() + ")"
        params += _category_params(f.category)
    cross, cross_params = _cross_border_column(f)
    limit_sql, limit_params = _limit(limit)
    sql = f"""
        SELECT conn.ts, conn.uid, conn.capture_id, conn.app, conn.orig_h, conn.orig_p,
               conn.resp_h, conn.resp_p, conn.proto, conn.service, conn.server_name,
               conn.decrypted, conn.not_decrypted_why, conn.orig_bytes, conn.resp_bytes,
               {_GEOGRAPHY}, {cross},
               (SELECT count(*) FROM http WHERE http.uid = conn.uid) AS requests,
               (SELECT count(*) FROM finding WHERE finding.uid = conn.uid) AS findings
        FROM conn {DESTINATION_JOIN}
        WHERE {where}
        ORDER BY conn.ts, conn.uid
        {limit_sql}
    """
    return _rows(db, sql, cross_params + params + limit_params)


def findings(db: Database, f: Filters, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per finding, with where it went (host, address, country, operator) and the
    request it was in. ``--since`` counts from when the finding was seen."""
    where, params = _where(f, since_column="finding.ts")
    if f.category:
        where += " AND " + _category_sql()
        params += _category_params(f.category)
    cross, cross_params = _cross_border_column(f)
    limit_sql, limit_params = _limit(limit)
    sql = f"""
        SELECT finding.ts, finding.uid, finding.trans_depth, finding.direction,
               finding.category, finding.detector, finding.confidence,
               coalesce(http.host, conn.server_name, conn.resp_h) AS host, conn.resp_h,
               {_GEOGRAPHY}, {cross},
               http.method, http.uri, finding.location, finding.evidence, finding.reason
        FROM finding
        JOIN conn ON conn.uid = finding.uid
        {DESTINATION_JOIN}
        LEFT JOIN http ON http.uid = finding.uid AND http.trans_depth = finding.trans_depth
        WHERE {where}
        ORDER BY finding.ts, finding.uid, finding.trans_depth, finding.location
        {limit_sql}
    """
    return _rows(db, sql, cross_params + params + limit_params)


def destinations(db: Database, f: Filters, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per destination (address and the name it was reached as) of the filtered
    connections: where it is, who operates it, the laws that reach it, and the traffic.

    ``findings`` counts the findings (of ``--category``, when given) in those connections.
    Most findings first, then most connections, then by name and address.
    """
    where, params = _where(f)
    found_where, found_params = "1", []
    if f.category:
        found_where = _category_sql()
        found_params = _category_params(f.category)
        where += " AND found.n IS NOT NULL"
    cross, cross_params = _cross_border_column(f)
    limit_sql, limit_params = _limit(limit)
    # Findings are counted per connection first, so joining them cannot repeat a connection.
    sql = f"""
        WITH found AS (
            SELECT finding.uid, count(*) AS n FROM finding WHERE {found_where}
            GROUP BY finding.uid
        )
        SELECT conn.server_name AS host, conn.resp_h, destination.country, destination.city,
               destination.asn, destination.as_org, destination.operator,
               destination.operator_parent, destination.operator_hq_country,
               destination.attributed_by, {cross}, destination.laws,
               count(*) AS connections, coalesce(sum(found.n), 0) AS findings,
               coalesce(sum(conn.orig_bytes), 0) AS orig_bytes,
               coalesce(sum(conn.resp_bytes), 0) AS resp_bytes,
               min(conn.ts) AS first_seen, max(conn.ts) AS last_seen
        FROM conn {DESTINATION_JOIN}
        LEFT JOIN found ON found.uid = conn.uid
        WHERE {where}
        GROUP BY conn.resp_h, coalesce(conn.server_name, '')
        ORDER BY findings DESC, connections DESC, coalesce(conn.server_name, ''), conn.resp_h
        {limit_sql}
    """
    return _rows(db, sql, found_params + cross_params + params + limit_params)


def summary(db: Database, f: Filters) -> dict[str, Any]:
    """Headline figures: connections, how many were decrypted, findings per category.

    Over several captures, a connection two of them recorded counts once (``conn.same_as``).
    """
    once = store.counted_once_sql(db, f.capture)
    where, params = _where(f)
    where += once
    # The join adds at most one destination row per connection, so it never changes a count.
    totals = _rows(
        db,
        f"""SELECT count(*) AS connections, coalesce(sum(conn.decrypted), 0) AS decrypted,
                   count(DISTINCT coalesce(conn.server_name, conn.resp_h)) AS destinations
            FROM conn {DESTINATION_JOIN} WHERE {where}""",
        params,
    )[0]
    totals["requests"] = db.execute(
        f"""SELECT count(*) FROM http JOIN conn ON conn.uid = http.uid {DESTINATION_JOIN}
            WHERE {where}""",
        params,
    ).fetchone()[0]
    why = _rows(
        db,
        f"""SELECT conn.not_decrypted_why AS why, count(*) AS connections
            FROM conn {DESTINATION_JOIN} WHERE {where} AND NOT conn.decrypted
            GROUP BY conn.not_decrypted_why ORDER BY connections DESC, why""",
        params,
    )
    cat_where, cat_params = _where(f, since_column="finding.ts")
    cat_where += once
    if f.category:
        cat_where += " AND " + _category_sql()
        cat_params += _category_params(f.category)
    outside, outside_params = outside_home_sql(f.home)
    categories = _rows(
        db,
        f"""SELECT finding.category, count(*) AS findings,
                   sum(CASE WHEN {outside} THEN 1 ELSE 0 END) AS cross_border,
                   count(DISTINCT coalesce(conn.server_name, conn.resp_h)) AS destinations,
                   group_concat(DISTINCT coalesce(conn.server_name, conn.resp_h)) AS hosts
            FROM finding JOIN conn ON conn.uid = finding.uid {DESTINATION_JOIN}
            WHERE {cat_where} AND finding.direction = 'request'
            GROUP BY finding.category ORDER BY findings DESC, finding.category""",
        outside_params + cat_params,
    )
    for c in categories:
        c["hosts"] = ",".join(sorted(set((c["hosts"] or "").split(","))))
    capture_where, capture_params = "1", []
    if f.capture:
        capture_where, capture_params = "id = ?", [f.capture]
    captures = _rows(
        db,
        f"""SELECT id, source, path, app, device, started, ended FROM capture
            WHERE {capture_where} ORDER BY started, id""",
        capture_params,
    )
    return {
        **totals,
        "home": f.home.code,
        "not_decrypted": why,
        "categories": categories,
        "captures": captures,
    }


def _category_sql() -> str:
    """A category, or every category under it: "contact" matches contact.email."""
    return "(finding.category = ? OR substr(finding.category, 1, length(?)) = ?)"


def _category_params(category: str) -> list[Any]:
    prefix = category.rstrip(".") + "."
    return [category, prefix, prefix]


# ``borderflow sql``: what the authorizer lets through. Everything else is refused.
_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
# Pragmas that only describe the schema; any other pragma with an argument could set something.
_SCHEMA_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
    }
)
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_temp_master", "sqlite_schema"})
_SCHEMA_TABLE_ACTIONS = frozenset(
    {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
)
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in [
        "CREATE_INDEX",
        "CREATE_TABLE",
        "CREATE_TEMP_INDEX",
        "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER",
        "CREATE_TEMP_VIEW",
        "CREATE_TRIGGER",
        "CREATE_VIEW",
        "DELETE",
        "DROP_INDEX",
        "DROP_TABLE",
        "DROP_TEMP_INDEX",
        "DROP_TEMP_TABLE",
        "DROP_TEMP_TRIGGER",
        "DROP_TEMP_VIEW",
        "DROP_TRIGGER",
        "DROP_VIEW",
        "INSERT",
        "PRAGMA",
        "TRANSACTION",
        "UPDATE",
        "ATTACH",
        "DETACH",
        "ALTER_TABLE",
        "REINDEX",
        "ANALYZE",
        "CREATE_VTABLE",
        "DROP_VTABLE",
        "SAVEPOINT",
    ]
}


def _what(action: int, arg1: str | None, arg2: str | None) -> str:
    """A refused action as a few words: ``INSERT conn``, ``PRAGMA writable_schema = ON``."""
    name = _ACTION_NAMES.get(action, f"action {action}")
    if action == sqlite3.SQLITE_PRAGMA:
        return f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else "")
    if action == sqlite3.SQLITE_ATTACH:
        return f"ATTACH {arg1}" if arg1 else "ATTACH of a temporary database (as VACUUM does)"
    if action == sqlite3.SQLITE_ALTER_TABLE:  # arg1 is the schema, arg2 the table
        return f"{name} {arg2}"
    name = {"INSERT": "INSERT INTO", "DELETE": "DELETE FROM"}.get(name, name)
    target = arg1 or arg2
    return f"{name} {target}" if target else name


def read_only_sql(
    db: Database, sql: str, params: Mapping[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run one statement on ``db`` (opened with ``mode=ro``), refusing anything but reading.

    ``PRAGMA query_only`` and an authorizer that allows only SELECT, reading columns, functions
    and schema-describing pragmas guard it twice: writes, ATTACH and pragma changes raise
    ``ReadOnlyError`` before anything runs. Returns the column names and the rows.
    """
    conn = db.conn
    conn.execute("PRAGMA query_only = ON")
    refused: list[str] = []

    def authorize(action: int, arg1: str | None, arg2: str | None, *_: str | None) -> int:
        if action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1 in _SCHEMA_PRAGMAS):
            return sqlite3.SQLITE_OK
        if action in _SCHEMA_TABLE_ACTIONS and arg1 in _SCHEMA_TABLES:
            # Reported before CREATE and DROP (refused next, by name) and by the pragma_*
            # table functions; SQLite itself refuses to let a statement change these tables.
            return sqlite3.SQLITE_OK
        refused.append(_what(action, arg1, arg2))
        return sqlite3.SQLITE_DENY

    conn.set_authorizer(authorize)
    try:
        cursor = conn.execute(sql, dict(params or {}))
        names = [d[0] for d in cursor.description or ()]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    except sqlite3.DatabaseError as e:
        if refused:
            raise ReadOnlyError(f"borderflow sql is read-only: it refuses {refused[0]}") from e
        if any(x in str(e) for x in ("readonly", "read-only", "query_only", "may not be modified")):
            raise ReadOnlyError(f"borderflow sql is read-only: {e}") from e
        raise
    finally:
        conn.set_authorizer(None)
    return names, rows

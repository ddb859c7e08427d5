"""The read-side queries behind ``borderflow flows``, ``findings`` and ``summary``.

Each returns plain rows (dicts) so the CLI can print them as a table, JSON or CSV. Filtering
and counting happen in SQL, never in Python loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """Filters shared by the query commands; ``None`` means no filter."""

    host: str | None = None  # matches server_name or resp_h, or a subdomain of server_name
    category: str | None = None  # a finding category, or a prefix ending in "." (contact.)
    capture: str | None = None


def _where(f: Filters, *, conn: str = "conn") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.host:
        clauses.append(
            f"({conn}.server_name = ? OR {conn}.resp_h = ? OR {conn}.server_name LIKE ? ESCAPE '\\')"
        )
        escaped = f.host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [f.host, f.host, f"%.{escaped}"]
    if f.capture:
        clauses.append(f"{conn}.capture_id = ?")
        params.append(f.capture)
    return (" AND ".join(clauses) or "1"), params


def _rows(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def flows(db: Database, f: Filters, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per connection, oldest first, with its exchange and finding counts."""
    where, params = _where(f)
    if f.category:
        where += " AND conn.uid IN (SELECT uid FROM finding WHERE " + _category_sql() + ")"
        params += _category_params(f.category)
    sql = f"""
        SELECT conn.ts, conn.uid, conn.app, conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p,
               conn.proto, conn.service, conn.server_name, conn.decrypted,
               conn.not_decrypted_why, conn.orig_bytes, conn.resp_bytes,
               (SELECT count(*) FROM http WHERE http.uid = conn.uid) AS requests,
               (SELECT count(*) FROM finding WHERE finding.uid = conn.uid) AS findings
        FROM conn WHERE {where}
        ORDER BY conn.ts, conn.uid
        {"LIMIT ?" if limit else ""}
    """
    return _rows(db, sql, params + ([limit] if limit else []))


def findings(db: Database, f: Filters, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per finding, with where it went (host, address) and the request it was in."""
    where, params = _where(f)
    if f.category:
        where += " AND " + _category_sql()
        params += _category_params(f.category)
    sql = f"""
        SELECT finding.ts, finding.uid, finding.trans_depth, finding.direction,
               finding.category, finding.detector, finding.confidence,
               coalesce(http.host, conn.server_name, conn.resp_h) AS host, conn.resp_h,
               http.method, http.uri, finding.location, finding.evidence, finding.reason
        FROM finding
        JOIN conn ON conn.uid = finding.uid
        LEFT JOIN http ON http.uid = finding.uid AND http.trans_depth = finding.trans_depth
        WHERE {where}
        ORDER BY finding.ts, finding.uid, finding.trans_depth, finding.location
        {"LIMIT ?" if limit else ""}
    """
    return _rows(db, sql, params + ([limit] if limit else []))


def summary(db: Database, f: Filters) -> dict[str, Any]:
    """Headline figures: connections, how many were decrypted, findings per category."""
    where, params = _where(f)
    totals = _rows(
        db,
        f"""SELECT count(*) AS connections, coalesce(sum(decrypted), 0) AS decrypted,
                   count(DISTINCT coalesce(server_name, resp_h)) AS destinations,
                   (SELECT count(*) FROM http JOIN conn c2 ON c2.uid = http.uid
                    WHERE c2.uid IN (SELECT uid FROM conn WHERE {where})) AS requests
            FROM conn WHERE {where}""",
        params + params,
    )[0]
    why = _rows(
        db,
        f"""SELECT not_decrypted_why AS why, count(*) AS connections
            FROM conn WHERE {where} AND NOT decrypted
            GROUP BY not_decrypted_why ORDER BY connections DESC, why""",
        params,
    )
    cat_where = where
    cat_params = list(params)
    if f.category:
        cat_where += " AND " + _category_sql()
        cat_params += _category_params(f.category)
    categories = _rows(
        db,
        f"""SELECT finding.category, count(*) AS findings,
                   count(DISTINCT coalesce(conn.server_name, conn.resp_h)) AS destinations,
                   group_concat(DISTINCT coalesce(conn.server_name, conn.resp_h)) AS hosts
            FROM finding JOIN conn ON conn.uid = finding.uid
            WHERE {cat_where} AND finding.direction = 'request'
            GROUP BY finding.category ORDER BY findings DESC, finding.category""",
        cat_params,
    )
    for c in categories:
        c["hosts"] = ",".join(sorted(set((c["hosts"] or "").split(","))))
    captures = _rows(
        db,
        "SELECT id, source, path, app, device, started, ended FROM capture ORDER BY started, id",
        [],
    )
    return {**totals, "not_decrypted": why, "categories": categories, "captures": captures}


def _category_sql() -> str:
    """A category, or every category under it: "contact" matches contact.email."""
    return "(finding.category = ? OR substr(finding.category, 1, length(?)) = ?)"


def _category_params(category: str) -> list[Any]:
    prefix = category.rstrip(".") + "."
    return [category, prefix, prefix]

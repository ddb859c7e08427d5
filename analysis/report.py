"""Build the cross-border report (``report_model.Report``) from the database, by SQL aggregation.

A report must come out of a million connections in seconds, so the rows are only ever counted
in SQL: one pass over ``conn`` grouped per destination and inspection state, one over request
findings grouped per destination and category, and the first few findings of each category
as evidence; the indexes of the ``report_indexes`` migration make each an index scan. Everything
after that (jurisdictions, operators, flows, geography) is folded in Python from those small
per-destination results, so every figure of the report agrees with the others.

Deterministic: no clock, every list sorted with a full tie-break, so the same database gives
the same JSON byte for byte.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.borders import outside_home_sql
from borderflow.analysis.detectors.categories import STORE_CATEGORIES
from borderflow.analysis.errors import BorderflowError
from borderflow.analysis.records import Category as CategoryName
from borderflow.analysis.report_declared import Declaration
from borderflow.analysis.report_model import (
    FORMAT,
    CaptureInfo,
    Category,
    CategoryDestination,
    CountryTraffic,
    Declared,
    Evidence,
    FlowLink,
    Headline,
    Jurisdiction,
    LawInfo,
    NotInspected,
    Operator,
    Place,
    Report,
    Scope,
    StoreNames,
    Undeclared,
    WeirdCount,
    Where,
)
from borderflow.analysis.version import VERSION
from borderflow.geo.errors import GeoError
from borderflow.geo.jurisdictions import Home, Rules, outside_places

EVIDENCE_PER_CATEGORY = 5
UNKNOWN_OPERATOR = "unknown"

# The destination columns a report shows; the same names as in ``Where``.
_DEST_COLUMNS = (
    "country",
    "city",
    "asn",
    "as_org",
    "operator",
    "operator_country",
    "operator_parent",
    "operator_hq_country",
    "operator_flag",
    "attributed_by",
    "host_hq_country",
    "laws",
)


class ReportError(BorderflowError):
    """The report cannot be built as asked: an unknown capture id or home."""


def parse_home(name: str) -> Home:
    """``--home``: EU, EEA, GB or a two-letter country code; ``ReportError`` otherwise."""
    try:
        return Rules.load().home(name)
    except GeoError as e:
        raise ReportError(f"--home {name}: not EU, EEA, GB or a two-letter country code") from e


def scope_sql(capture: str | None, app: str | None) -> tuple[str, list[Any]]:
    """The report's scope as an SQL condition over ``conn``."""
    clauses, params = [], []
    if capture is not None:
        clauses.append("conn.capture_id = ?")
        params.append(capture)
    if app is not None:
        clauses.append("conn.app = ?")
        params.append(app)
    return " AND ".join(clauses) or "1", params


def _uid_in(scope: str) -> str:
    """A condition on a table's ``uid``: its connection is in scope."""
    return "1" if scope == "1" else f"uid IN (SELECT uid FROM conn WHERE {scope})"  # noqa: S608


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """Read in one transaction, so every query sees the same rows while a recorder writes."""
    if db.conn.in_transaction:  # the caller's transaction is the snapshot
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("ROLLBACK")  # nothing was written: reading only


def rows(db: Database, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _none_last(value: str | None) -> tuple[bool, str]:
    """A sort key that puts ``None`` (unknown) after every known value."""
    return (value is None, value or "")


@dataclass(slots=True)
class Dest:
    """One destination (address, name reached as) of the scope, with its traffic."""

    where: Where
    operator_key: tuple[str, str | None]  # Operator.operator, Operator.hq_country
    connections: int = 0
    orig_bytes: int = 0
    resp_bytes: int = 0


def build(
    db: Database,
    *,
    capture: str | None = None,
    app: str | None = None,
    home: str | Home = "EU",
    declared: Declaration | None = None,
    database_name: str = "borderflow.db",
) -> Report:
    """The report over the connections of ``capture`` and ``app`` (``None``: all), judged from
    ``home``; ``declared`` adds declared vs observed."""
    where_home = home if isinstance(home, Home) else parse_home(home)
    with snapshot(db):
        return _build(db, capture, app, where_home, declared, database_name)


def _build(
    db: Database,
    capture: str | None,
    app: str | None,
    where_home: Home,
    declared: Declaration | None,
    database_name: str,
) -> Report:
    rules = Rules.load()
    captures = _captures(db, capture, app, database_name)
    scope, params = scope_sql(capture, app)
    scope += store.counted_once_sql(db, capture)

    dests, conn_groups = destinations(db, scope, params, where_home)
    found = findings(db, scope, params)
    evidence = _evidence(db, scope, params, sorted({f["category"] for f in found}))
    sql = f"SELECT count(*) FROM http WHERE {_uid_in(scope)}"  # noqa: S608
    (requests,) = db.execute(sql, params).fetchone()

    categories = _categories(found, dests, evidence)
    by_country = jurisdictions(found, dests, where_home, rules)
    operators = _operators(found, dests)
    laws_used = {law for c in categories for d in c["destinations"] for law in d["laws"]}
    laws_used |= {law for j in by_country for law in j["laws"]}
    headline = Headline(
        connections=sum(g["connections"] for g in conn_groups),
        decrypted=sum(g["connections"] for g in conn_groups if g["decrypted"]),
        not_inspected=sum(g["connections"] for g in conn_groups if not g["decrypted"]),
        destinations=len(dests),
        requests=requests,
        findings=sum(c["findings"] for c in categories),
        categories=len(categories),
        cross_border_findings=sum(
            f["findings"]
            for f in found
            if dests[f["resp_h"], f["reached_as"]].where["cross_border"]
        ),
        cross_border_destinations=sum(d.where["cross_border"] for d in dests.values()),
        by_jurisdiction=by_country,
        by_operator=operators,
    )
    return Report(
        format=FORMAT,
        tool_version=VERSION,
        scope=Scope(
            database=database_name,
            captures=captures,
            app=app,
            home=where_home.code,
            home_name=where_home.name,
            first_seen=min((g["first_seen"] for g in conn_groups), default=None),
            last_seen=max((g["last_seen"] for g in conn_groups), default=None),
        ),
        headline=headline,
        categories=categories,
        flows=_flows(found, dests),
        geography=_geography(found, dests, where_home),
        not_inspected=_not_inspected(conn_groups, dests),
        declared=_declared(declared, categories) if declared is not None else None,
        laws=_laws(laws_used, rules),
        weird=_weird(db, scope, params),
    )


def to_json(report: Report) -> str:
    """The report as ``--format json`` prints it."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _captures(
    db: Database, capture: str | None, app: str | None, database_name: str
) -> list[CaptureInfo]:
    columns = "id, source, path, sha256, started, ended, app, device"
    if capture is not None:
        found = rows(db, f"SELECT {columns} FROM capture WHERE id = ?", [capture])  # noqa: S608
        if not found:
            raise ReportError(
                f"--capture {capture}: no such capture in {database_name}"
                " (`borderflow summary` lists them)"
            )
    elif app is not None:
        found = rows(
            db,
            f"""SELECT {columns} FROM capture WHERE app = ?
                OR id IN (SELECT DISTINCT capture_id FROM conn WHERE app = ?)""",  # noqa: S608
            [app, app],
        )
    else:
        found = rows(db, f"SELECT {columns} FROM capture")  # noqa: S608
    found.sort(key=lambda c: (c["started"], c["id"]))
    return [cast(CaptureInfo, c) for c in found]


def destinations(
    db: Database, scope: str, params: list[Any], home: Home
) -> tuple[dict[tuple[str, str], Dest], list[dict[str, Any]]]:
    """Every destination of the scope, and its connections per inspection state.

    Connections are grouped first, on the raw columns so that the ``conn_by_destination``
    index is read in order, and the small result is joined with ``destination`` on the keys
    of ``borders.DESTINATION_JOIN``: a million connections cost one scan of an index.
    """
    outside, outside_params = outside_home_sql(home)
    columns = ", ".join(f"destination.{c}" for c in _DEST_COLUMNS)
    groups = rows(
        db,
        f"""WITH raw AS (
                SELECT conn.resp_h, conn.server_name, conn.decrypted,
                       conn.not_decrypted_why AS why, count(*) AS connections,
                       coalesce(sum(conn.orig_bytes), 0) AS orig_bytes,
                       coalesce(sum(conn.resp_bytes), 0) AS resp_bytes,
                       min(conn.ts) AS first_seen, max(conn.ts) AS last_seen
                FROM conn WHERE {scope}
                GROUP BY conn.resp_h, conn.server_name, conn.decrypted, conn.not_decrypted_why
            ),
            grouped AS (
                SELECT coalesce(resp_h, '') AS resp_h, coalesce(server_name, '') AS reached_as,
                       decrypted, why, sum(connections) AS connections,
                       sum(orig_bytes) AS orig_bytes, sum(resp_bytes) AS resp_bytes,
                       min(first_seen) AS first_seen, max(last_seen) AS last_seen
                FROM raw GROUP BY 1, 2, 3, 4
            )
            SELECT grouped.*, {columns},
                   CASE WHEN {outside} THEN 1 ELSE 0 END AS cross_border
            FROM grouped LEFT JOIN destination
              ON destination.resp_h = grouped.resp_h
             AND destination.reached_as = grouped.reached_as
            ORDER BY grouped.resp_h, grouped.reached_as, grouped.decrypted,
                     coalesce(grouped.why, '')""",  # noqa: S608
        params + outside_params,
    )
    dests: dict[tuple[str, str], Dest] = {}
    for g in groups:
        key = (g["resp_h"], g["reached_as"])
        if key not in dests:
            dests[key] = Dest(where=_where(g, home), operator_key=_operator_of(g))
        d = dests[key]
        d.connections += g["connections"]
        d.orig_bytes += g["orig_bytes"]
        d.resp_bytes += g["resp_bytes"]
    return dests, groups


def _where(g: dict[str, Any], home: Home) -> Where:
    places = outside_places(g, home)
    return Where(
        host=g["reached_as"] or None,
        resp_h=g["resp_h"],
        country=g["country"],
        city=g["city"],
        asn=g["asn"],
        as_org=g["as_org"],
        operator=g["operator"],
        operator_parent=g["operator_parent"],
        operator_hq_country=g["operator_hq_country"],
        operator_flag=g["operator_flag"],
        attributed_by=g["attributed_by"],
        cross_border=bool(g["cross_border"]),
        outside=[Place(what=what, country=country) for what, country in places],
        laws=list(dict.fromkeys(x for x in (g["laws"] or "").split(",") if x)),
    )


def _operator_of(g: dict[str, Any]) -> tuple[str, str | None]:
    """Who answers for a destination: the parent company when known, and its headquarters."""
    if g["operator_parent"]:
        return g["operator_parent"], g["operator_hq_country"] or g["operator_country"]
    if g["operator"]:
        return g["operator"], g["operator_country"]
    return UNKNOWN_OPERATOR, None


def findings(db: Database, scope: str, params: list[Any]) -> list[dict[str, Any]]:
    """Request findings counted per destination and category."""
    return rows(
        db,
        f"""SELECT coalesce(conn.resp_h, '') AS resp_h,
                   coalesce(conn.server_name, '') AS reached_as, finding.category,
                   count(*) AS findings, count(DISTINCT finding.uid) AS connections,
                   min(finding.ts) AS first_seen, max(finding.ts) AS last_seen
            FROM finding JOIN conn ON conn.uid = finding.uid
            WHERE finding.direction = 'request' AND {scope}
            GROUP BY 1, 2, 3
            ORDER BY 3, 1, 2""",  # noqa: S608
        params,
    )


def _evidence(
    db: Database, scope: str, params: list[Any], categories: Iterable[str]
) -> dict[str, list[Evidence]]:
    """The oldest ``EVIDENCE_PER_CATEGORY`` request findings of each category, with their
    request: one query per category, read in order from ``finding_by_category``."""
    by_category: dict[str, list[Evidence]] = {}
    for category in categories:
        picked = rows(
            db,
            f"""SELECT finding.uid, finding.trans_depth, finding.ts,
                       coalesce(http.host, conn.server_name) AS host, http.method, http.uri,
                       finding.location, finding.detector, finding.confidence,
                       coalesce(finding.reason, '') AS reason,
                       coalesce(finding.evidence, '') AS evidence
                FROM finding JOIN conn ON conn.uid = finding.uid
                LEFT JOIN http
                  ON http.uid = finding.uid AND http.trans_depth = finding.trans_depth
                WHERE finding.direction = 'request' AND finding.category = ? AND {scope}
                ORDER BY finding.ts, finding.uid, finding.trans_depth, finding.location,
                         finding.detector, finding.evidence
                LIMIT ?""",  # noqa: S608
            [category, *params, EVIDENCE_PER_CATEGORY],
        )
        by_category[category] = [cast(Evidence, p) for p in picked]
    return by_category


def _store_names(category: str) -> StoreNames:
    try:
        mapped = STORE_CATEGORIES[CategoryName(category)]
    except ValueError:
        return StoreNames(apple=[], google=[])
    return StoreNames(apple=list(mapped.apple), google=list(mapped.google))


def _categories(
    found: list[dict[str, Any]],
    dests: dict[tuple[str, str], Dest],
    evidence: dict[str, list[Evidence]],
) -> list[Category]:
    per: dict[str, list[CategoryDestination]] = defaultdict(list)
    connections: dict[str, int] = defaultdict(int)
    for f in found:
        where = dests[f["resp_h"], f["reached_as"]].where
        per[f["category"]].append(
            CategoryDestination(
                **where,
                findings=f["findings"],
                first_seen=f["first_seen"],
                last_seen=f["last_seen"],
            )
        )
        connections[f["category"]] += f["connections"]  # a connection has one destination
    out = []
    for name, destinations in per.items():
        destinations.sort(key=lambda d: (-d["findings"], _none_last(d["host"]), d["resp_h"]))
        out.append(
            Category(
                category=name,
                findings=sum(d["findings"] for d in destinations),
                connections=connections[name],
                first_seen=min(d["first_seen"] for d in destinations),
                last_seen=max(d["last_seen"] for d in destinations),
                cross_border=any(d["cross_border"] for d in destinations),
                store=_store_names(name),
                destinations=destinations,
                evidence=evidence.get(name, []),
                evidence_total=sum(d["findings"] for d in destinations),
            )
        )
    out.sort(key=lambda c: (-c["findings"], c["category"]))
    return out


def jurisdictions(
    found: list[dict[str, Any]], dests: dict[tuple[str, str], Dest], home: Home, rules: Rules
) -> list[Jurisdiction]:
    """Findings per country outside home; a finding counts once per country it reached."""
    findings: dict[str, int] = defaultdict(int)
    categories: dict[str, set[str]] = defaultdict(set)
    laws: dict[str, set[str]] = defaultdict(set)
    of_country: dict[str, set[str]] = {}
    for f in found:
        where = dests[f["resp_h"], f["reached_as"]].where
        for country in dict.fromkeys(p["country"] for p in where["outside"]):
            findings[country] += f["findings"]
            categories[country].add(f["category"])
            if country not in of_country:
                of_country[country] = {law.id for law in rules.laws_of(country)}
            laws[country].update(x for x in where["laws"] if x in of_country[country])
    out = [
        Jurisdiction(
            country=c,
            findings=n,
            categories=sorted(categories[c]),
            laws=sorted(laws[c]),
        )
        for c, n in findings.items()
    ]
    out.sort(key=lambda j: (-j["findings"], j["country"]))
    return out


def _operators(found: list[dict[str, Any]], dests: dict[tuple[str, str], Dest]) -> list[Operator]:
    findings: dict[tuple[str, str | None], int] = defaultdict(int)
    categories: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    cross: dict[tuple[str, str | None], bool] = defaultdict(bool)
    for f in found:
        d = dests[f["resp_h"], f["reached_as"]]
        findings[d.operator_key] += f["findings"]
        categories[d.operator_key].add(f["category"])
        cross[d.operator_key] |= d.where["cross_border"]
    out = [
        Operator(
            operator=name,
            hq_country=hq,
            findings=n,
            categories=sorted(categories[name, hq]),
            cross_border=cross[name, hq],
        )
        for (name, hq), n in findings.items()
    ]
    out.sort(key=lambda o: (-o["findings"], o["operator"], _none_last(o["hq_country"])))
    return out


def _flows(found: list[dict[str, Any]], dests: dict[tuple[str, str], Dest]) -> list[FlowLink]:
    links: dict[tuple[str, str | None, str, str | None, bool], int] = defaultdict(int)
    for f in found:
        d = dests[f["resp_h"], f["reached_as"]]
        operator, hq = d.operator_key
        key = (f["category"], d.where["country"], operator, hq, d.where["cross_border"])
        links[key] += f["findings"]
    out = [
        FlowLink(
            category=category,
            country=country,
            operator=operator,
            operator_hq_country=hq,
            cross_border=cross,
            findings=n,
        )
        for (category, country, operator, hq, cross), n in links.items()
    ]
    out.sort(
        key=lambda x: (
            -x["findings"],
            x["category"],
            _none_last(x["country"]),
            x["operator"],
            _none_last(x["operator_hq_country"]),
            x["cross_border"],
        )
    )
    return out


def _geography(
    found: list[dict[str, Any]], dests: dict[tuple[str, str], Dest], home: Home
) -> list[CountryTraffic]:
    totals: dict[str | None, CountryTraffic] = {}
    for d in dests.values():
        country = d.where["country"]
        t = totals.setdefault(
            country,
            CountryTraffic(
                country=country,
                connections=0,
                findings=0,
                orig_bytes=0,
                resp_bytes=0,
                cross_border=country is not None and country not in home.countries,
            ),
        )
        t["connections"] += d.connections
        t["orig_bytes"] += d.orig_bytes
        t["resp_bytes"] += d.resp_bytes
    for f in found:
        totals[dests[f["resp_h"], f["reached_as"]].where["country"]]["findings"] += f["findings"]
    return sorted(
        totals.values(),
        key=lambda t: (-t["findings"], -t["connections"], _none_last(t["country"])),
    )


def _not_inspected(
    groups: list[dict[str, Any]], dests: dict[tuple[str, str], Dest]
) -> list[NotInspected]:
    out = []
    for g in groups:
        if g["decrypted"]:
            continue
        d = dests[g["resp_h"], g["reached_as"]]
        out.append(
            NotInspected(
                why=g["why"] or "unknown",
                host=d.where["host"],
                resp_h=g["resp_h"],
                country=d.where["country"],
                operator=d.operator_key[0] if d.operator_key[0] != UNKNOWN_OPERATOR else None,
                cross_border=d.where["cross_border"],
                connections=g["connections"],
                orig_bytes=g["orig_bytes"],
                resp_bytes=g["resp_bytes"],
                first_seen=g["first_seen"],
                last_seen=g["last_seen"],
            )
        )
    out.sort(key=lambda n: (-n["connections"], n["why"], _none_last(n["host"]), n["resp_h"]))
    return out


def _declared(declaration: Declaration, categories: list[Category]) -> Declared:
    """Observed categories none of whose store names was declared, and declared names unseen."""
    store = declaration.store
    declared = set(declaration.collected)
    undeclared = []
    observed_names: set[str] = set()
    for c in categories:
        names = c["store"][store]
        observed_names.update(names)
        if not declared.intersection(names):
            hosts = {d["host"] or d["resp_h"] for d in c["destinations"]}
            undeclared.append(
                Undeclared(
                    category=c["category"],
                    store_categories=list(names),
                    findings=c["findings"],
                    hosts=sorted(hosts),
                )
            )
    undeclared.sort(key=lambda u: (-u["findings"], u["category"]))
    return Declared(
        file=declaration.file,
        store=store,
        declared=list(declaration.collected),
        undeclared=undeclared,
        not_observed=sorted(declared - observed_names),
    )


def _laws(ids: set[str], rules: Rules) -> list[LawInfo]:
    out = []
    for law_id in ids:
        law = rules.law(law_id)
        if law is None:
            out.append(
                LawInfo(
                    id=law_id,
                    jurisdiction="",
                    name=law_id,
                    citation="",
                    effect="",
                    source="",
                    flag="not in this version's jurisdiction rules",
                )
            )
            continue
        out.append(
            LawInfo(
                id=law.id,
                jurisdiction=law.jurisdiction,
                name=law.name,
                citation=law.citation,
                effect=law.effect,
                source=law.source,
                flag=law.flag,
            )
        )
    out.sort(key=lambda x: (x["jurisdiction"], x["id"]))
    return out


def _weird(db: Database, scope: str, params: list[Any]) -> list[WeirdCount]:
    """Problems met while recording; with a scope, those of its connections only."""
    found = rows(
        db,
        f"SELECT name, count(*) AS count FROM weird WHERE {_uid_in(scope)} GROUP BY name"  # noqa: S608
        " ORDER BY count DESC, name",
        params,
    )
    return [cast(WeirdCount, w) for w in found]

"""``borderflow diff A B``: what changed between two captures (app versions, before and after
consent), in the report's own terms.

Both captures are aggregated by the report's SQL (``report.destinations`` and
``report.findings``), so a diff agrees with the two reports it compares. Destinations are
compared by host name (the address when there is none): servers behind a CDN change address
between runs, which is not a change a reader cares about; their country and operator are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypedDict, cast

from sqlite_utils import Database

from borderflow.analysis import report
from borderflow.analysis.report_md import text as md
from borderflow.analysis.report_model import CaptureInfo
from borderflow.analysis.version import VERSION
from borderflow.geo.jurisdictions import Home, Rules

FORMAT = "borderflow-diff/1"
Status = Literal["new", "gone", "changed", "same"]


class CategoryChange(TypedDict):
    """A category sent in A, in B, or both; ``status`` says which and whether it changed."""

    category: str
    status: Status  # new: only in B; gone: only in A; changed: counts, hosts or cross-border
    findings_a: int
    findings_b: int
    cross_border_a: bool
    cross_border_b: bool
    hosts_added: list[str]  # hosts it went to in B but not in A
    hosts_removed: list[str]


class DestinationState(TypedDict):
    """A host in one capture: where it is, who runs it, what it received."""

    host: str  # the name it was reached as, else its address
    countries: list[str]  # located in (unknown omitted)
    operators: list[str]  # parent company, else operator, else "unknown"
    cross_border: bool
    connections: int
    findings: int
    categories: list[str]


class DestinationChange(TypedDict):
    host: str
    status: Status  # new: only in B; gone: only in A; changed: place, operator or cross-border
    a: DestinationState | None
    b: DestinationState | None


class JurisdictionChange(TypedDict):
    country: str
    status: Status
    findings_a: int
    findings_b: int


class Totals(TypedDict):
    connections: int
    not_inspected: int
    destinations: int
    findings: int
    cross_border_findings: int


class Diff(TypedDict):
    format: str  # FORMAT
    tool_version: str
    database: str
    home: str
    home_name: str
    a: CaptureInfo
    b: CaptureInfo
    totals_a: Totals
    totals_b: Totals
    categories: list[CategoryChange]  # every category of either capture, by name
    destinations: list[DestinationChange]  # new, gone and changed hosts (not "same"), by host
    jurisdictions: list[JurisdictionChange]  # countries outside home that received findings


@dataclass(slots=True)
class _Side:
    """One capture, folded per category, host and country."""

    totals: Totals
    findings: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cross: dict[str, bool] = field(default_factory=lambda: defaultdict(bool))
    hosts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    dests: dict[str, DestinationState] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _side(db: Database, capture: str, home: Home, rules: Rules) -> _Side:
    scope, params = report.scope_sql(capture, None)
    dests, groups = report.destinations(db, scope, params, home)
    found = report.findings(db, scope, params)
    side = _Side(
        totals=Totals(
            connections=sum(g["connections"] for g in groups),
            not_inspected=sum(g["connections"] for g in groups if not g["decrypted"]),
            destinations=len(dests),
            findings=sum(f["findings"] for f in found),
            cross_border_findings=sum(
                f["findings"]
                for f in found
                if dests[f["resp_h"], f["reached_as"]].where["cross_border"]
            ),
        )
    )
    per_host: dict[str, list[report.Dest]] = defaultdict(list)
    for d in dests.values():
        per_host[d.where["host"] or d.where["resp_h"]].append(d)
    host_findings: dict[str, int] = defaultdict(int)
    host_categories: dict[str, set[str]] = defaultdict(set)
    for f in found:
        where = dests[f["resp_h"], f["reached_as"]].where
        host = where["host"] or where["resp_h"]
        side.findings[f["category"]] += f["findings"]
        side.cross[f["category"]] |= where["cross_border"]
        side.hosts[f["category"]].add(host)
        host_findings[host] += f["findings"]
        host_categories[host].add(f["category"])
    for host, ds in per_host.items():
        side.dests[host] = DestinationState(
            host=host,
            countries=sorted({d.where["country"] for d in ds if d.where["country"]}),
            operators=sorted({d.operator_key[0] for d in ds}),
            cross_border=any(d.where["cross_border"] for d in ds),
            connections=sum(d.connections for d in ds),
            findings=host_findings[host],
            categories=sorted(host_categories[host]),
        )
    for j in report.jurisdictions(found, dests, home, rules):
        side.countries[j["country"]] = j["findings"]
    return side


def _status(in_a: bool, in_b: bool, changed: bool) -> Status:
    if not in_a:
        return "new"
    if not in_b:
        return "gone"
    return "changed" if changed else "same"


def compare(
    db: Database, a: str, b: str, *, home: str | Home = "EU", database_name: str = "borderflow.db"
) -> Diff:
    """What changed from capture ``a`` to capture ``b``; ``ReportError`` for an unknown id."""
    where = home if isinstance(home, Home) else report.parse_home(home)
    rules = Rules.load()
    with report.snapshot(db):
        info = {c: _capture(db, c, database_name) for c in (a, b)}
        sa, sb = _side(db, a, where, rules), _side(db, b, where, rules)

    categories = []
    for name in sorted(set(sa.findings) | set(sb.findings)):
        added = sorted(sb.hosts[name] - sa.hosts[name])
        removed = sorted(sa.hosts[name] - sb.hosts[name])
        changed = bool(
            added
            or removed
            or sa.findings[name] != sb.findings[name]
            or sa.cross[name] != sb.cross[name]
        )
        categories.append(
            CategoryChange(
                category=name,
                status=_status(name in sa.findings, name in sb.findings, changed),
                findings_a=sa.findings[name],
                findings_b=sb.findings[name],
                cross_border_a=sa.cross[name],
                cross_border_b=sb.cross[name],
                hosts_added=added,
                hosts_removed=removed,
            )
        )

    destinations = []
    for host in sorted(set(sa.dests) | set(sb.dests)):
        da, db_ = sa.dests.get(host), sb.dests.get(host)
        changed = (
            da is not None
            and db_ is not None
            and (
                da["countries"] != db_["countries"]
                or da["operators"] != db_["operators"]
                or da["cross_border"] != db_["cross_border"]
            )
        )
        status = _status(da is not None, db_ is not None, changed)
        if status != "same":
            destinations.append(DestinationChange(host=host, status=status, a=da, b=db_))

    jurisdictions = [
        JurisdictionChange(
            country=c,
            status=_status(
                c in sa.countries, c in sb.countries, sa.countries[c] != sb.countries[c]
            ),
            findings_a=sa.countries[c],
            findings_b=sb.countries[c],
        )
        for c in sorted(set(sa.countries) | set(sb.countries))
    ]
    return Diff(
        format=FORMAT,
        tool_version=VERSION,
        database=database_name,
        home=where.code,
        home_name=where.name,
        a=info[a],
        b=info[b],
        totals_a=sa.totals,
        totals_b=sb.totals,
        categories=categories,
        destinations=destinations,
        jurisdictions=jurisdictions,
    )


def _capture(db: Database, capture: str, database_name: str) -> CaptureInfo:
    found = report.rows(
        db,
        "SELECT id, source, path, sha256, started, ended, app, device FROM capture WHERE id = ?",
        [capture],
    )
    if not found:
        raise report.ReportError(
            f"capture {capture}: no such capture in {database_name}"
            " (`borderflow summary` lists them)"
        )
    return cast(CaptureInfo, found[0])


def to_json(diff: Diff) -> str:
    return json.dumps(diff, indent=2, ensure_ascii=False) + "\n"


Escape = Callable[[str], str]


def _plain(value: str) -> str:
    return value


def _join(values: list[str], e: Escape) -> str:
    return ", ".join(e(v) for v in values)


def _place(state: DestinationState, e: Escape) -> str:
    where = _join(state["countries"], e) or "unknown"
    return f"{where}, {_join(state['operators'], e)}" + (
        ", cross-border" if state["cross_border"] else ""
    )


def _sections(diff: Diff, e: Escape) -> list[tuple[str, list[str]]]:
    """The diff as (section title, lines), each string from traffic passed through ``e``."""
    ta, tb = diff["totals_a"], diff["totals_b"]
    totals = [
        f"connections: {ta['connections']} -> {tb['connections']}",
        f"not inspected: {ta['not_inspected']} -> {tb['not_inspected']}",
        f"destinations: {ta['destinations']} -> {tb['destinations']}",
        f"findings sent: {ta['findings']} -> {tb['findings']}",
        f"cross-border findings: {ta['cross_border_findings']} -> {tb['cross_border_findings']}",
    ]
    newly, gone, changed = [], [], []
    for c in diff["categories"]:
        name = e(c["category"])
        if c["status"] == "new":
            newly.append(f"{name} ({c['findings_b']}) to {_join(c['hosts_added'], e)}")
        elif c["status"] == "gone":
            gone.append(f"{name} ({c['findings_a']}) to {_join(c['hosts_removed'], e)}")
        elif c["status"] == "changed":
            parts = [f"{c['findings_a']} -> {c['findings_b']} findings"]
            if c["cross_border_a"] != c["cross_border_b"]:
                parts.append(
                    "now cross-border" if c["cross_border_b"] else "no longer cross-border"
                )
            if c["hosts_added"]:
                parts.append("now also to " + _join(c["hosts_added"], e))
            if c["hosts_removed"]:
                parts.append("no longer to " + _join(c["hosts_removed"], e))
            changed.append(f"{name}: " + "; ".join(parts))
    dests = []
    for d in diff["destinations"]:
        if d["a"] is not None and d["b"] is not None:
            dests.append(f"changed {e(d['host'])}: {_place(d['a'], e)} -> {_place(d['b'], e)}")
        elif d["b"] is not None:
            dests.append(f"new {e(d['host'])}: {_place(d['b'], e)}")
        elif d["a"] is not None:
            dests.append(f"gone {e(d['host'])}: {_place(d['a'], e)}")
    countries = [
        f"{j['status']} {e(j['country'])}: {j['findings_a']} -> {j['findings_b']} findings"
        for j in diff["jurisdictions"]
        if j["status"] != "same"
    ]
    return [
        ("Totals (A -> B)", totals),
        ("Categories newly sent", newly),
        ("Categories no longer sent", gone),
        ("Categories sent in both, changed", changed),
        ("Destinations new, gone or changed", dests),
        ("Countries outside home receiving data", countries),
    ]


def _title(diff: Diff, e: Escape) -> str:
    a, b = diff["a"], diff["b"]
    return (
        f"A = {e(a['id'])} ({e(a['path'] or a['source'])}), "
        f"B = {e(b['id'])} ({e(b['path'] or b['source'])}); home {e(diff['home'])}"
    )


def render_text(diff: Diff) -> str:
    """The diff for a terminal."""
    out = [_title(diff, _plain), ""]
    for title, lines in _sections(diff, _plain):
        out.append(f"{title}:")
        out += [f"  {line}" for line in lines] or ["  (none)"]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_md(diff: Diff) -> str:
    """The diff for an issue tracker, everything from traffic escaped."""
    out = ["# What changed between two captures", "", _title(diff, md), ""]
    for title, lines in _sections(diff, md):
        out += [f"## {title}", ""]
        out += [f"- {line}" for line in lines] or ["- none"]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"

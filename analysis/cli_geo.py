"""``borderflow geo``: install the default databases, look addresses up, list what is in use.

Kept apart from ``cli.py`` and importing geo/ only inside the commands, so that
``borderflow --help`` does not pay for maxminddb or the Public Suffix List.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from borderflow.analysis.cli_options import home_option

if TYPE_CHECKING:
    from borderflow.geo.attribution import Attributor, DestinationFacts
    from borderflow.geo.jurisdictions import Home, Rules

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

Resolve = Callable[[str], list[str]]


@contextlib.contextmanager
def geo_errors() -> Iterator[None]:
    """Errors a user can cause become one line and exit status 1, never a traceback."""
    from borderflow.geo.errors import GeoError

    try:
        yield
    except GeoError as e:
        raise click.ClickException(str(e)) from e


def geo_dir_option[F: Callable[..., Any]](fn: F) -> F:
    return click.option(
        "--geo-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="BORDERFLOW_GEO_DIR",
        help="Folder of .mmdb databases (env BORDERFLOW_GEO_DIR; default: "
        "$XDG_DATA_HOME/borderflow/geo or ~/.local/share/borderflow/geo).",
    )(fn)


def _folder(geo_dir: Path | None) -> Path:
    from borderflow.geo.paths import default_geo_dir

    return geo_dir if geo_dir is not None else default_geo_dir(os.environ)


@click.group(context_settings=CONTEXT_SETTINGS)
def geo() -> None:
    """Where servers are, who operates them, and whose law reaches them."""


@geo.command()
@geo_dir_option
@click.option(
    "--skip-without-npm",
    is_flag=True,
    help="Where npm is missing, say how to supply databases and exit 0 (for make targets).",
)
def update(geo_dir: Path | None, skip_without_npm: bool) -> None:
    """Fetch, verify and install the pinned default databases (a second run is quick)."""
    from borderflow.geo.update import NpmMissing, default_fetch
    from borderflow.geo.update import update as run_update

    folder = _folder(geo_dir)
    try:
        with geo_errors():
            outcomes = run_update(folder, fetch=default_fetch())
    except click.ClickException as e:
        if skip_without_npm and isinstance(e.__cause__, NpmMissing):
            click.echo(f"Skipped: {e.message}", err=True)
            return
        raise
    for o in outcomes:
        click.echo(f"{o.status:>10}  {folder / o.output}  ({o.package.name}@{o.package.version})")
    click.echo("Attribution (the licences ask for it):")
    for attribution in dict.fromkeys(o.package.attribution for o in outcomes):
        click.echo(f"  {attribution}")


@geo.command()
@click.argument("targets", nargs=-1, required=True, metavar="IP|HOST|HOST@IP...")
@geo_dir_option
@home_option
@click.option("--json", "as_json", is_flag=True, help="Output a JSON array.")
def lookup(targets: tuple[str, ...], geo_dir: Path | None, home: str, as_json: bool) -> None:
    """Located in, registered in, operated by, and the laws that reach each target.

    A HOST is resolved through the system resolver; HOST@IP looks HOST up as served from IP
    without resolving anything.
    """
    with geo_errors():
        results = lookup_targets(targets, _folder(geo_dir), home=home)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for i, r in enumerate(results):
        if i:
            click.echo()
        click.echo(describe(r))
    attributions = {a for r in results for a in r.get("attribution", ())}
    if attributions:
        click.echo()
        for a in sorted(attributions):
            click.echo(a)


@geo.command()
@geo_dir_option
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def info(geo_dir: Path | None, as_json: bool) -> None:
    """The databases in use, with their dates and licences, and the curated data files."""
    with geo_errors():
        result = database_info(_folder(geo_dir))
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"folder: {result['folder']}")
    if not result["databases"]:
        click.echo(f"  no databases: {result['hint']}")
    for db in result["databases"]:
        click.echo(f"  {db['file']}")
        click.echo(
            f"    answers:  {', '.join(db['roles'])}  ({db['schema']}, IPv{db['ip_version']})"
        )
        click.echo(f"    source:   {db['source']}  built {db['built']}")
        click.echo(f"    licence:  {db['licence'] or 'unknown'}")
        if db["attribution"]:
            click.echo(f"    credit:   {db['attribution']}")
        if db["verified"] is not None:
            click.echo(
                f"    sha256:   {'matches the manifest' if db['verified'] else 'CHANGED since install: run `borderflow geo update`'}"
            )
    click.echo("curated data (borderflow/geo/data):")
    for d in result["data_files"]:
        click.echo(f"  {d['file']}: {d['rows']} rows, {d['flagged']} flagged uncertain")


def lookup_targets(
    targets: tuple[str, ...],
    folder: Path,
    *,
    home: str = "EU",
    resolve: Resolve | None = None,
) -> list[dict[str, Any]]:
    """The answers for each target as JSON-ready mappings (what ``--json`` prints)."""
    from borderflow.geo.attribution import Attributor
    from borderflow.geo.databases import NO_DATABASES_HINT, GeoDatabases
    from borderflow.geo.errors import GeoDatabaseError
    from borderflow.geo.jurisdictions import Rules

    rules = Rules.load()
    where = rules.home(home)
    databases = GeoDatabases.open(folder)
    if not databases.infos:
        raise GeoDatabaseError(f"{folder}: no .mmdb databases; {NO_DATABASES_HINT}")
    attributor = Attributor(databases, rules)
    out: list[dict[str, Any]] = []
    try:
        for target in targets:
            for address, host in _addresses(target, resolve or _resolve):
                out.append(_answer(attributor, rules, where, address, host))
    finally:
        databases.close()
    return out


def _addresses(target: str, resolve: Resolve) -> list[tuple[str, str | None]]:
    from borderflow.geo.errors import GeoError

    host, sep, address = target.rpartition("@")
    if sep:
        return [(address, host or None)]
    with contextlib.suppress(ValueError):
        return [(str(ipaddress.ip_address(target.strip("[]"))), None)]
    try:
        found = resolve(target)
    except OSError as e:
        raise GeoError(f"{target}: cannot resolve ({e}); give HOST@IP to look it up offline") from e
    if not found:
        raise GeoError(f"{target}: no addresses; give HOST@IP to look it up offline")
    return [(a, target) for a in found]


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(i[4][0]) for i in infos))


def _answer(
    attributor: Attributor, rules: Rules, home: Home, address: str, host: str | None
) -> dict[str, Any]:
    from borderflow.geo.jurisdictions import is_cross_border, outside_places

    facts: DestinationFacts = attributor.describe(address, host)
    fields = facts.fields()
    cross, laws = is_cross_border(fields, home, rules)
    adequacy = {}
    for _, country in outside_places(fields, home):
        a = rules.adequacy(country, home)
        adequacy[country] = (
            None
            if a is None
            else {"instrument": a.instrument, "scope": a.scope, "source": a.source, "flag": a.flag}
        )
    home_flags = {
        c: home.flags[c]
        for c in (fields["country"], fields["operator_hq_country"])
        if c in home.flags
    }
    assert attributor.databases is not None
    return {
        **fields,
        "laws": list(facts.laws),
        "home": home.code,
        "cross_border": cross,
        "outside_home": [{"what": w, "country": c} for w, c in outside_places(fields, home)],
        "home_membership_flags": home_flags,
        "adequacy": adequacy,
        "laws_reaching": [
            {
                "id": law.id,
                "jurisdiction": law.jurisdiction,
                "name": law.name,
                "citation": law.citation,
                "effect": law.effect,
                "kind": law.kind,
                "source": law.source,
                "flag": law.flag,
            }
            for law in laws
        ],
        "attribution": list(attributor.databases.attributions())
        if facts.address_kind == "public"
        else [],
    }


def describe(r: dict[str, Any]) -> str:
    """The human-readable form of one ``lookup`` answer."""
    lines = [f"{r['address']}" + (f"  ({r['server_name']})" if r["server_name"] else "")]

    def row(label: str, text: str) -> None:
        lines.append(f"  {label:<15}{text}")

    if r["address_kind"] != "public":
        row("address", f"{r['address_kind']}: no country, no operator (not on the public internet)")
        return "\n".join(lines)
    located = r["country"] or "unknown"
    if r["city"]:
        located += f", {r['city']}"
    row("located in", located)
    row("registered in", r["registered_country"] or "unknown")
    if r["asn"] is not None:
        row("network", f"AS{r['asn']} {r['as_org'] or ''}".rstrip())
    if r["operator"]:
        op = r["operator"]
        if r["operator_country"]:
            op += f" ({r['operator_country']})"
        row(
            "operated by",
            f"{op}  [decided by {r['attributed_by']}{' ' + r['domain'] if r['attributed_by'] == 'domain' else ''}]",
        )
        parent = r["operator_parent"] or "not recorded"
        hq = r["operator_hq_country"] or "unknown"
        row("parent", f"{parent}, headquartered in {hq}")
        if r["host_operator"]:
            row(
                "hosted by",
                f"{r['host_operator']} (parent headquartered in {r['host_hq_country'] or 'unknown'})",
            )
        if r["operator_flag"]:
            row("unverified", r["operator_flag"])
        row("source", r["operator_source"])
    else:
        row("operated by", "unknown (no curated entry for this network or domain)")
    if r["cross_border"]:
        why = "; ".join(f"{o['what']} {o['country']}" for o in r["outside_home"])
        row("cross-border", f"yes, for home {r['home']}: {why}")
    else:
        row("cross-border", f"no known jurisdiction outside {r['home']}")
    for c, flag in r["home_membership_flags"].items():
        row("unverified", f"{c} counted as inside {r['home']}: {flag}")
    for country, a in r["adequacy"].items():
        if a is None:
            row("adequacy", f"{country}: no adequacy decision for {r['home']}")
        else:
            text = f"{country}: {a['instrument']}; covers: {a['scope']}"
            row("adequacy", text + (f" (unverified: {a['flag']})" if a["flag"] else ""))
    if r["laws_reaching"]:
        lines.append("  laws that reach it:")
        for law in r["laws_reaching"]:
            lines.append(f"    {law['jurisdiction']}  {law['name']}: {law['citation']}")
            lines.append(f"        {law['effect']}")
            if law["flag"]:
                lines.append(f"        unverified: {law['flag']}")
    return "\n".join(lines)


def database_info(folder: Path) -> dict[str, Any]:
    """What ``geo info`` shows, as a JSON-ready mapping."""
    from borderflow.geo import manifest, operators
    from borderflow.geo.databases import NO_DATABASES_HINT, GeoDatabases

    databases = GeoDatabases.open(folder)
    try:
        dbs = [
            {
                "file": str(i.path),
                "schema": str(i.schema),
                "roles": sorted(str(r) for r in i.roles),
                "source": i.package or f"{i.vendor} ({i.database_type})",
                "ip_version": i.ip_version,
                "built": i.built.date().isoformat(),
                "licence": i.licence,
                "attribution": i.attribution,
                "verified": None if i.sha256 is None else manifest.sha256(i.path) == i.sha256,
            }
            for i in databases.infos
        ]
    finally:
        databases.close()
    tables = {
        "operators.csv": operators.by_asn().values(),
        "domains.csv": operators.by_domain().values(),
    }
    data_files = [
        {"file": name, "rows": len(list(rows)), "flagged": sum(1 for r in rows if r.flag)}
        for name, rows in tables.items()
    ]
    parents = operators.parents().values()
    data_files.append(
        {"file": "parents.csv", "rows": len(parents), "flagged": sum(1 for p in parents if p.flag)}
    )
    from borderflow.geo.jurisdictions import Rules

    laws = Rules.load().laws
    data_files.append(
        {
            "file": "jurisdictions.toml (laws)",
            "rows": len(laws),
            "flagged": sum(1 for x in laws if x.flag),
        }
    )
    return {
        "folder": str(folder),
        "databases": dbs,
        "hint": NO_DATABASES_HINT,
        "data_files": data_files,
    }

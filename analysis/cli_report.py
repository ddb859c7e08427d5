"""``borderflow report`` and ``borderflow diff``: thin commands over report.py and report_diff.py."""

from __future__ import annotations

from pathlib import Path

import click
from sqlite_utils import Database

from borderflow.analysis import store
from borderflow.analysis.cli_options import db_option, home_option, user_errors
from borderflow.analysis.errors import DatabaseError, InputError

REPORT_FORMATS = ("html", "md", "json")
DIFF_FORMATS = ("text", "md", "json")
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def open_report_db(path: Path) -> Database:
    """Open an existing borderflow database, applying pending migrations (the report's indexes).

    It is checked read-only first, so a missing file is an error rather than a new empty
    database, and a foreign SQLite file is refused rather than migrated.
    """
    if not path.is_file():
        raise DatabaseError(f"{path}: no such database")
    store.open_db(path, readonly=True).close()
    return store.open_db(path)


def format_of(fmt: str | None, output: Path | None) -> str:
    """The output format: ``--format``, else ``-o``'s suffix, else HTML."""
    if fmt is not None:
        return fmt
    if output is not None:
        return _SUFFIXES.get(output.suffix.lower(), "html")
    return "html"


def write_output(content: str, output: Path | None) -> None:
    if output is None:
        click.echo(content, nl=False)
        return
    try:
        output.write_text(content, encoding="utf-8")
    except OSError as e:
        raise InputError(f"{output}: cannot write the report ({e.strerror})") from e


@click.command()
@db_option(must_exist=True)
@click.option("--capture", help="Only this capture id (see `borderflow summary`).")
@click.option("--app", help="Only connections of this app.")
@home_option
@click.option(
    "--declared",
    "declared_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The app's declared data practices (TOML or JSON, see docs/report.md).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    help="Output format (default: from -o's suffix, else html).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
def report(
    db_path: Path,
    capture: str | None,
    app: str | None,
    home: str,
    declared_path: Path | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Write the cross-border data-flow report: which personal data left the phone, to which
    server, located where, operated by whom, under which laws, and what could not be inspected.
    """
    from borderflow.analysis import report as report_
    from borderflow.analysis.report_declared import load_declared

    fmt = format_of(fmt, output)
    with user_errors():
        where = report_.parse_home(home)
        declaration = load_declared(declared_path) if declared_path is not None else None
        db = open_report_db(db_path)
        built = report_.build(
            db,
            capture=capture,
            app=app,
            home=where,
            declared=declaration,
            database_name=db_path.name,
        )
        if fmt == "json":
            content = report_.to_json(built)
        elif fmt == "md":
            from borderflow.analysis.report_md import render

            content = render(built)
        else:
            from borderflow.analysis.report_html import render as render_html

            content = render_html(built)
        write_output(content, output)
    if output is not None:
        click.echo(f"{output}: {fmt} report written", err=True)


@click.command()
@click.argument("a")
@click.argument("b")
@db_option(must_exist=True)
@home_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIFF_FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
def diff(a: str, b: str, db_path: Path, home: str, fmt: str) -> None:
    """What changed from capture A to capture B (ids from `borderflow summary`): categories
    newly sent or no longer sent, destinations new and gone, cross-border changes."""
    from borderflow.analysis import report_diff
    from borderflow.analysis.report import parse_home

    with user_errors():
        where = parse_home(home)
        db = open_report_db(db_path)
        changes = report_diff.compare(db, a, b, home=where, database_name=db_path.name)
    if fmt == "json":
        click.echo(report_diff.to_json(changes), nl=False)
    elif fmt == "md":
        click.echo(report_diff.render_md(changes), nl=False)
    else:
        click.echo(report_diff.render_text(changes), nl=False)

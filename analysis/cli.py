"""The ``borderflow`` command: a thin click group over functions that work without click."""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import click

from borderflow.analysis import queries, store
from borderflow.analysis.errors import BorderflowError, InputError
from borderflow.analysis.version import VERSION

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors a user can cause into one line and exit status 1, never a traceback."""
    try:
        yield
    except BorderflowError as e:
        raise click.ClickException(str(e)) from e
    except sqlite3.Error as e:
        raise click.ClickException(f"database error: {e}") from e


def db_option[F: Callable[..., Any]](*, must_exist: bool) -> Callable[[F], F]:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="borderflow.db",
        show_default=True,
        envvar="BORDERFLOW_DB",
        help="SQLite database"
        + (" to read (env BORDERFLOW_DB)." if must_exist else " to write (env BORDERFLOW_DB)."),
    )


def output_options[F: Callable[..., Any]](fn: F) -> F:
    fn = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(fn)
    fn = click.option("--nl", "fmt", flag_value="nl", help="Output one JSON object per line.")(fn)
    fn = click.option("--json", "fmt", flag_value="json", help="Output a JSON array.")(fn)
    return fn


def filter_options[F: Callable[..., Any]](fn: F) -> F:
    fn = click.option("--capture", help="Only this capture id (see `borderflow summary`).")(fn)
    fn = click.option(
        "--category", help="Only findings of this category, or under it (e.g. contact)."
    )(fn)
    fn = click.option("--host", help="Only this server name or address, and its subdomains.")(fn)
    return fn


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(VERSION, prog_name="borderflow")
def cli() -> None:
    """Show which personal data a payment app sends, to whom, and under which jurisdiction."""


@cli.command(context_settings={**CONTEXT_SETTINGS, "ignore_unknown_options": True})
@db_option(must_exist=False)
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--listen-port", type=int, default=8080, show_default=True, help="Port (0: any free)."
)
@click.option(
    "--confdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="mitmproxy's configuration folder, where its CA lives (default ~/.mitmproxy).",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    help="mitmproxy mode: regular (default), transparent, wireguard, socks5, ... (repeatable).",
)
@click.option("--app", help="Name of the app under test, stored with every connection.")
@click.option("--device", help="Name of the test device, stored with the capture.")
@click.option("--unredacted", is_flag=True, help="Store matched values, not redacted evidence.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any mitmproxy option, passed through (repeatable).",
)
def proxy(
    db_path: Path,
    listen_host: str,
    listen_port: int,
    confdir: Path | None,
    modes: Sequence[str],
    app: str | None,
    device: str | None,
    unredacted: bool,
    settings: Sequence[str],
) -> None:
    """Run mitmproxy with the recorder: every connection goes into the database.

    Equivalent to: mitmdump -s <borderflow/addons/entry.py> --set borderflow_db=PATH ...
    Stop it with Ctrl-C; everything already seen is written before it exits.
    """
    from mitmproxy.tools.main import mitmdump

    with user_errors():
        store.open_db(db_path).close()  # fail here, in one line, rather than inside mitmproxy
    args = proxy_arguments(
        db_path,
        listen_host=listen_host,
        listen_port=listen_port,
        confdir=confdir,
        modes=modes,
        app=app,
        device=device,
        redact=not unredacted,
        settings=settings,
    )
    mitmdump(args)


def entry_script() -> Path:
    """The file mitmdump loads with ``-s``: ``borderflow/addons/entry.py``."""
    return Path(str(resources.files("borderflow.addons") / "entry.py"))


def proxy_arguments(
    db_path: Path,
    *,
    listen_host: str,
    listen_port: int,
    confdir: Path | None,
    modes: Sequence[str],
    app: str | None,
    device: str | None,
    redact: bool,
    settings: Sequence[str],
) -> list[str]:
    """mitmdump's command line for ``borderflow proxy``."""
    args = ["-s", str(entry_script()), "--listen-host", listen_host]
    args += ["--listen-port", str(listen_port)]
    for mode in modes:
        args += ["--mode", mode]
    options = {
        "borderflow_db": str(db_path),
        "borderflow_app": app,
        "borderflow_device": device,
        "borderflow_redact": "true" if redact else "false",
        "confdir": str(confdir) if confdir else None,
    }
    for key, value in options.items():
        if value is not None:
            args += ["--set", f"{key}={value}"]
    for setting in settings:
        args += ["--set", setting]
    return args


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option(must_exist=False)
@click.option("--app", help="Name of the app the capture shows.")
@click.option("--device", help="Name of the device the capture was taken on.")
@click.option("--unredacted", is_flag=True, help="Store matched values, not redacted evidence.")
@click.option("--force", is_flag=True, help="Replay files already in the database again.")
@click.option(
    "--key-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TLS key log (NSS/SSLKEYLOGFILE format) to decrypt pcap and pcapng captures.",
)
def replay(
    files: Sequence[Path],
    db_path: Path,
    app: str | None,
    device: str | None,
    unredacted: bool,
    force: bool,
    key_log: Path | None,
) -> None:
    """Run saved captures (.mitm flow files, HAR, pcap, pcapng, also .gz) through the pipeline.

    pcap and pcapng files are read packet by packet; TLS is decrypted with --key-log or the
    keys a pcapng file carries (Decryption Secrets Blocks), and stays metadata only otherwise.
    """
    from borderflow.analysis.progress import byte_progress
    from borderflow.analysis.replay import replay_file

    for path in files:
        with user_errors(), byte_progress(path) as advance:
            result = replay_file(
                path,
                db_path,
                app=app,
                device=device,
                redact=not unredacted,
                force=force,
                progress=advance,
                key_log=key_log,
            )
        if result.skipped:
            click.echo(
                f"{path}: already in {db_path} as capture {result.capture_id} (--force replays it)"
            )
        else:
            c = result.counts
            click.echo(
                f"{path}: {c.observations} observations, {c.records} rows "
                f"({c.findings} findings) into {db_path}, capture {result.capture_id}"
            )
            if result.details:
                click.echo(f"  {result.details}")


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--show-values", is_flag=True, help="Add each finding's matched value, unredacted.")
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Device profile (TOML, see docs/profile.example.toml): find its planted values.",
)
def classify(source: TextIO, show_values: bool, profile_path: Path | None) -> None:
    """Classify JSON Lines messages and print their findings, one line per message.

    Each input line: {"id", "direction", "method", "url", "headers", "body",
    "body_encoding"?} (body_encoding "base64" for binary bodies). A malformed line is reported
    on stderr with its number; the other lines are still classified, and the exit status is 1.
    """
    from borderflow.analysis.classify import classify as classify_message
    from borderflow.analysis.detectors.profile import load_profile

    with user_errors():
        profile = load_profile(profile_path) if profile_path is not None else None
    bad = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            ident, message = parse_message_line(line)
        except InputError as e:
            bad += 1
            click.echo(f"Error: {source.name}: line {number}: {e}", err=True)
            continue
        result = classify_message(message, profile=profile)
        found = []
        for d in result.detections:
            item: dict[str, Any] = {
                "category": str(d.category),
                "detector": d.detector,
                "location": d.location,
                "confidence": d.confidence,
                "reason": d.reason,
                "evidence": d.evidence,
            }
            if show_values:
                item["value"] = d.value
            found.append(item)
        click.echo(json.dumps({"id": ident, "findings": found}, ensure_ascii=False))
    if bad:
        sys.exit(1)


def parse_message_line(line: str) -> tuple[Any, Any]:
    """One ``classify`` input line as (id, Message); InputError says what is wrong."""
    from borderflow.analysis.records import Message

    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"not JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(data, dict):
        raise InputError("not a JSON object")
    direction = data.get("direction", "request")
    if direction not in ("request", "response"):
        raise InputError(f'direction must be "request" or "response", not {direction!r}')
    headers = data.get("headers") or {}
    pairs = headers.items() if isinstance(headers, dict) else headers
    try:
        header_tuple = tuple((str(k), str(v)) for k, v in pairs)
    except (TypeError, ValueError) as e:
        raise InputError("headers must be an object or a list of [name, value] pairs") from e
    body = data.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False)
    if data.get("body_encoding") == "base64":
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error as e:
            raise InputError(f"body is not valid base64 ({e})") from e
    else:
        raw = body.encode("utf-8")
    message = Message(
        direction=direction,
        method=data.get("method"),
        url=data.get("url"),
        headers=header_tuple,
        body=raw,
    )
    return data.get("id"), message


@cli.command()
@db_option(must_exist=True)
@filter_options
@output_options
@click.option("--limit", type=int, help="At most this many rows.")
def flows(
    db_path: Path,
    host: str | None,
    category: str | None,
    capture: str | None,
    fmt: str | None,
    limit: int | None,
) -> None:
    """List connections: destination, service, whether decrypted, bytes, findings."""
    with user_errors():
        db = store.open_db(db_path, readonly=True)
        rows = queries.flows(
            db, queries.Filters(host=host, category=category, capture=capture), limit=limit
        )
    emit(rows, fmt, title="connections")


@cli.command()
@db_option(must_exist=True)
@filter_options
@output_options
@click.option("--limit", type=int, help="At most this many rows.")
def findings(
    db_path: Path,
    host: str | None,
    category: str | None,
    capture: str | None,
    fmt: str | None,
    limit: int | None,
) -> None:
    """List personal data found: category, where it went, where in the payload, evidence."""
    with user_errors():
        db = store.open_db(db_path, readonly=True)
        rows = queries.findings(
            db, queries.Filters(host=host, category=category, capture=capture), limit=limit
        )
    emit(rows, fmt, title="findings")


@cli.command()
@db_option(must_exist=True)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def summary(
    db_path: Path, host: str | None, category: str | None, capture: str | None, as_json: bool
) -> None:
    """Headline figures: connections, decrypted, destinations, findings per category."""
    with user_errors():
        db = store.open_db(db_path, readonly=True)
        result = queries.summary(db, queries.Filters(host=host, category=category, capture=capture))
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    from borderflow.analysis.tables import print_summary

    print_summary(result, db_path)


def emit(rows: list[dict[str, Any]], fmt: str | None, *, title: str) -> None:
    """Print rows as a table (default), JSON, JSON Lines or CSV."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt == "nl":
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
    elif fmt == "csv":
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        from borderflow.analysis.tables import print_rows

        print_rows(rows, title=title)


# At the end: these modules are self-contained and register their own commands here.
from borderflow.analysis.cli_geo import geo  # noqa: E402
from borderflow.analysis.cli_report import diff, report  # noqa: E402

cli.add_command(geo)
cli.add_command(report)
cli.add_command(diff)

"""The ``borderflow`` command: a thin click group over functions that work without click."""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import click

from borderflow.analysis import queries, store
from borderflow.analysis.cli_options import db_option, profile_option, user_errors
from borderflow.analysis.errors import InputError
from borderflow.analysis.version import VERSION

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def output_options[F: Callable[..., Any]](fn: F) -> F:
    fn = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(fn)
    fn = click.option("--nl", "fmt", flag_value="nl", help="Output one JSON object per line.")(fn)
    fn = click.option("--json", "fmt", flag_value="json", help="Output a JSON array.")(fn)
    return fn


_FILTERS = ("host", "category", "capture", "app", "country", "operator", "cross_border", "since")


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The query filters, validated into one ``filters: queries.Filters`` argument."""

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _FILTERS}
        kwargs["filters"] = make_filters(home=kwargs.pop("home"), **values)
        return fn(**kwargs)

    options = [
        click.option(
            "--home",
            metavar="HOME",
            default="EU",
            show_default=True,
            help="Where data is at home, for --cross-border and the cross_border column: "
            "EU, EEA, GB or a two-letter country code.",
        ),
        click.option(
            "--since",
            metavar="WHEN",
            help="Only from then on: an ISO 8601 date or time (UTC unless it has an offset) "
            "or an age (30m, 2h, 7d).",
        ),
        click.option(
            "--cross-border",
            is_flag=True,
            help="Only destinations with a jurisdiction outside --home (located in, operator, "
            "parent or hosting network's headquarters).",
        ),
        click.option(
            "--operator",
            metavar="NAME",
            help="Only servers whose operator, parent company or hosting network contains "
            "this (case-insensitive).",
        ),
        click.option(
            "--country",
            metavar="CC",
            help="Only servers located in this country (two-letter code).",
        ),
        click.option("--app", metavar="NAME", help="Only connections of this app."),
        click.option(
            "--capture", metavar="ID", help="Only this capture id (see `borderflow summary`)."
        ),
        click.option(
            "--category", help="Only findings of this category, or under it (e.g. contact)."
        ),
        click.option("--host", help="Only this server name or address, and its subdomains."),
    ]
    for option in options:
        command = option(command)
    return command


def make_filters(
    *,
    host: str | None = None,
    category: str | None = None,
    capture: str | None = None,
    app: str | None = None,
    country: str | None = None,
    operator: str | None = None,
    cross_border: bool = False,
    since: str | None = None,
    home: str = "EU",
) -> queries.Filters:
    """The command line's filters, checked: a malformed one is a one-line error."""
    with user_errors():
        return queries.Filters(
            host=host or None,
            category=category or None,
            capture=capture or None,
            app=app or None,
            country=queries.parse_country(country) if country is not None else None,
            operator=operator or None,
            cross_border=cross_border,
            since=queries.parse_since(since) if since is not None else None,
            home=queries.parse_home(home),
        )


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
@profile_option
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
    profile_path: Path | None,
    settings: Sequence[str],
) -> None:
    """Run mitmproxy with the recorder: every connection goes into the database.

    Equivalent to: mitmdump -s <borderflow/addons/entry.py> --set borderflow_db=PATH ...
    Stop it with Ctrl-C; everything already seen is written before it exits.
    """
    from mitmproxy.tools.main import mitmdump

    from borderflow.analysis.detectors.profile import load_profile

    with user_errors():  # fail here, in one line, rather than inside mitmproxy
        store.open_db(db_path).close()
        if profile_path is not None:
            load_profile(profile_path)
    args = proxy_arguments(
        db_path,
        listen_host=listen_host,
        listen_port=listen_port,
        confdir=confdir,
        modes=modes,
        app=app,
        device=device,
        redact=not unredacted,
        profile=profile_path,
        settings=settings,
    )
    from borderflow.addons import recorder

    mitmdump(args)
    # Everything is written once mitmdump returns. Leave without the interpreter's
    # finalisation: there mitmproxy_rs's threads (WireGuard, local and TUN modes) can crash
    # the process, which then says "Segmentation fault" after a clean shutdown (mitmproxy
    # issue 7409; seen here in WireGuard mode, tests/e2e/test_wireguard.py).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if recorder.failures else 0)  # 1: the recorder stopped the proxy (it said why)


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
    profile: Path | None,
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
        "borderflow_profile": str(profile) if profile else None,
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
@profile_option
def replay(
    files: Sequence[Path],
    db_path: Path,
    app: str | None,
    device: str | None,
    unredacted: bool,
    force: bool,
    key_log: Path | None,
    profile_path: Path | None,
) -> None:
    """Run saved captures (.mitm flow files, HAR, pcap, pcapng, also .gz) through the pipeline.

    pcap and pcapng files are read packet by packet; TLS is decrypted with --key-log or the
    keys a pcapng file carries (Decryption Secrets Blocks), and stays metadata only otherwise.
    """
    from borderflow.analysis.detectors.profile import load_profile
    from borderflow.analysis.progress import byte_progress
    from borderflow.analysis.replay import replay_file

    with user_errors():
        profile = load_profile(profile_path) if profile_path is not None else None
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
                profile=profile,
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
@profile_option
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


limit_option = click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")


@cli.command()
@db_option(must_exist=True)
@filter_options
@output_options
@limit_option
def flows(db_path: Path, filters: queries.Filters, fmt: str | None, limit: int | None) -> None:
    """List connections: destination, where it is and who runs it, whether decrypted, bytes,
    findings."""
    with user_errors():
        rows = queries.flows(store.open_db(db_path, readonly=True), filters, limit=limit)
    emit(rows, fmt, title="connections")


@cli.command()
@db_option(must_exist=True)
@filter_options
@output_options
@limit_option
def findings(db_path: Path, filters: queries.Filters, fmt: str | None, limit: int | None) -> None:
    """List personal data found: category, where it went, where in the payload, evidence."""
    with user_errors():
        rows = queries.findings(store.open_db(db_path, readonly=True), filters, limit=limit)
    emit(rows, fmt, title="findings")


@cli.command()
@db_option(must_exist=True)
@filter_options
@output_options
@limit_option
def destinations(
    db_path: Path, filters: queries.Filters, fmt: str | None, limit: int | None
) -> None:
    """List servers (address and the name reached as): located in, operated by, laws,
    cross-border, connections, findings, bytes, first and last seen."""
    with user_errors():
        rows = queries.destinations(store.open_db(db_path, readonly=True), filters, limit=limit)
    emit(rows, fmt, title="destinations")


@cli.command()
@db_option(must_exist=True)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def summary(db_path: Path, filters: queries.Filters, as_json: bool) -> None:
    """Headline figures: connections, decrypted, destinations, findings per category."""
    with user_errors():
        result = queries.summary(store.open_db(db_path, readonly=True), filters)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    from borderflow.analysis.tables import print_summary

    print_summary(result, db_path)


@cli.command(name="sql")
@click.argument("statement", metavar="SQL")
@db_option(must_exist=True)
@click.option(
    "-p",
    "--param",
    "params",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A named parameter, used as :NAME in the statement (repeatable).",
)
@output_options
def sql_command(
    statement: str, db_path: Path, params: Sequence[tuple[str, str]], fmt: str | None
) -> None:
    """Run one read-only SQL statement on the database and print its rows.

    The database is opened read-only and every statement that would change it (INSERT,
    UPDATE, DELETE, CREATE, DROP, ATTACH, a pragma that sets something) is refused.

    Example: borderflow sql "SELECT category, count(*) FROM finding GROUP BY category"
    """
    with user_errors():
        db = store.open_db(db_path, readonly=True)
        columns, rows = queries.read_only_sql(db, statement, dict(params))
    emit(rows, fmt, title="rows", columns=columns)


@cli.command()
@db_option(must_exist=True)
@click.option(
    "--host", "listen_host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port (0: any free).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open a web browser at it.")
def browse(db_path: Path, listen_host: str, port: int, open_browser: bool) -> None:
    """Open the database in Datasette, every table and column described.

    Needs Datasette: pip install 'borderflow[browse]'. Datasette opens the database read-only
    (mode=ro, not immutable, so a recording still in progress shows up). Stop it with Ctrl-C.
    """
    import importlib
    import tempfile

    from borderflow.analysis.schema_docs import datasette_metadata

    with user_errors():
        store.open_db(db_path, readonly=True).close()
    try:  # an optional extra, imported by name: it ships no type information
        serve: click.Command = importlib.import_module("datasette.cli").serve
    except ImportError:
        raise click.ClickException(
            "browse needs Datasette, which is not installed: pip install 'borderflow[browse]'"
        ) from None
    with tempfile.TemporaryDirectory(prefix="borderflow-browse-") as folder:
        metadata = Path(folder) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(db_path.stem)), encoding="utf-8")
        args = [str(db_path), "--metadata", str(metadata), "--host", listen_host]
        args += ["--port", str(port)] + (["--open"] if open_browser else [])
        serve.main(args, prog_name="borderflow browse", standalone_mode=False)


def emit(
    rows: list[dict[str, Any]],
    fmt: str | None,
    *,
    title: str,
    columns: Sequence[str] | None = None,
) -> None:
    """Print rows as a table (default), JSON, JSON Lines or CSV (its header even for no rows
    when ``columns`` is given). Binary values become {"$base64": true, "encoded": ...}."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=_json_value))
    elif fmt == "nl":
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False, default=_json_value))
    elif fmt == "csv":
        names = list(columns) if columns is not None else list(rows[0]) if rows else []
        if names:
            writer = csv.DictWriter(sys.stdout, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
    else:
        from borderflow.analysis.tables import print_rows

        print_rows(rows, title=title)


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return {"$base64": True, "encoded": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# At the end: these modules are self-contained and register their own commands here.
from borderflow.analysis.cli_geo import geo  # noqa: E402
from borderflow.analysis.cli_report import diff, report  # noqa: E402

cli.add_command(geo)
cli.add_command(report)
cli.add_command(diff)

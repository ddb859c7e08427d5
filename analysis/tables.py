"""Human-readable tables for the query commands (rich), kept apart from the queries."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Piped output is not squeezed into 80 columns; --csv and --json are the machine formats.
_console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def _text(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name == "cross_border" and value in (0, 1):
        return "yes" if value else "no"
    if name in ("ts", "started", "ended", "first_seen", "last_seen") and isinstance(value, float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# The columns a person reads first; --json, --nl and --csv give every column.
SHOWN = {
    "connections": (
        "ts",
        "uid",
        "app",
        "server_name",
        "resp_h",
        "resp_p",
        "country",
        "operator",
        "cross_border",
        "service",
        "not_decrypted_why",
        "orig_bytes",
        "resp_bytes",
        "requests",
        "findings",
    ),
    "findings": (
        "ts",
        "category",
        "host",
        "country",
        "operator",
        "cross_border",
        "method",
        "uri",
        "location",
        "evidence",
        "confidence",
    ),
    "destinations": (
        "host",
        "resp_h",
        "country",
        "operator",
        "operator_parent",
        "operator_hq_country",
        "cross_border",
        "connections",
        "findings",
        "orig_bytes",
        "resp_bytes",
        "first_seen",
        "last_seen",
    ),
}


def print_rows(rows: list[dict[str, Any]], *, title: str) -> None:
    """A table of ``rows``; every value is printed as text, never interpreted as markup."""
    if not rows:
        _console.print(f"no {title}", markup=False)
        return
    columns = [c for c in SHOWN.get(title, tuple(rows[0])) if c in rows[0]]
    table = Table(title=f"{len(rows)} {title}", title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(*(Text(_text(k, r[k])) for k in columns))
    _console.print(table)


def print_summary(result: dict[str, Any], db_path: Path) -> None:
    """The headline figures of ``queries.summary`` for a person."""
    out = _console
    out.print(f"database: {db_path}", markup=False, highlight=False)
    out.print(
        f"{result['connections']} connections ({result['decrypted']} decrypted), "
        f"{result['requests']} HTTP requests, {result['destinations']} destinations",
        markup=False,
    )
    for row in result["not_decrypted"]:
        out.print(f"  not decrypted: {row['connections']} {row['why']}", markup=False)
    if result["categories"]:
        table = Table(title="personal data sent (requests)", title_justify="left")
        for name in ("category", "findings", f"outside {result['home']}", "destinations", "hosts"):
            table.add_column(name, overflow="fold")
        for c in result["categories"]:
            cells = (
                c["category"],
                str(c["findings"]),
                str(c["cross_border"]),
                str(c["destinations"]),
                c["hosts"],
            )
            table.add_row(*(Text(x) for x in cells))
        out.print(table)
    else:
        out.print("no personal data found", markup=False)

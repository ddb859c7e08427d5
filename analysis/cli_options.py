"""Options and error handling shared by the ``borderflow`` commands (cli.py, cli_report.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from borderflow.analysis.errors import BorderflowError


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


profile_option = click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Device profile (TOML, see docs/profile.example.toml): find its planted values.",
)


home_option = click.option(
    "--home",
    metavar="HOME",
    default="EU",
    show_default=True,
    help="Where data is at home: EU, EEA, GB or a two-letter country code.",
)

"""Fixtures for the end-to-end tests: the loopback guard, the upstream servers, one mitmdump.

Nothing here may reach beyond 127.0.0.1: the guard refuses any name lookup or connect to
another address in this process for as long as the e2e tests run (mitmdump installs its own,
through ``loopback_upstream.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.loopback_upstream import GUARD_MARK, LoopbackGuard, install_loopback_guard
from tests.support.servers import Mitmdump, Upstream, poll

APP = "com.example.wallet"
_guard: LoopbackGuard | None = None


@pytest.fixture(scope="package", autouse=True)
def loopback_guard() -> Iterator[LoopbackGuard]:
    """Refuse non-loopback lookups and connects in the test process while these tests run."""
    global _guard
    if _guard is None:  # audit hooks cannot be removed: install once, switch on and off
        _guard = install_loopback_guard()
    _guard.violations.clear()
    _guard.enabled = True
    try:
        yield _guard
    finally:
        _guard.enabled = False
    assert _guard.violations == [], "a test tried to leave the loopback interface"


@pytest.fixture(scope="package")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with Upstream(tmp_path_factory.mktemp("upstream")) as servers:
        yield servers


@pytest.fixture(scope="package")
def proxy(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mitmdump]:
    """One mitmdump for every test that does not stop it; tests poll its database."""
    mitmdump = Mitmdump(
        tmp_path_factory.mktemp("proxy"),
        upstream=upstream,
        options=["--set", f"borderflow_app={APP}"],
    )
    with mitmdump:
        yield mitmdump
        assert_stayed_on_loopback(mitmdump)
    assert mitmdump.process is not None
    assert mitmdump.process.returncode == 0, mitmdump.output()


@pytest.fixture
def own_proxy(upstream: Upstream, tmp_path: Path) -> Iterator[Mitmdump]:
    """A mitmdump for one test, which may stop it (started by the test: ``.start()``)."""
    mitmdump = Mitmdump(tmp_path / "proxy", upstream=upstream)
    try:
        yield mitmdump
    finally:
        mitmdump.kill()
    assert_stayed_on_loopback(mitmdump)


def assert_stayed_on_loopback(mitmdump: Mitmdump) -> None:
    assert GUARD_MARK not in mitmdump.output(), mitmdump.output()


# -- reading the database --------------------------------------------------------------------


def rows(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` as dicts; the recorder may be writing meanwhile (WAL allows it)."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def wait_for_rows(
    db: Path, sql: str, *params: Any, count: int = 1, timeout: float = 30
) -> list[dict[str, Any]]:
    """Poll until ``sql`` returns at least ``count`` rows (the recorder writes asynchronously)."""

    def found() -> list[dict[str, Any]]:
        result = rows(db, sql, *params)
        return result if len(result) >= count else []

    return poll(found, timeout=timeout, what=f"{count} row(s) of {sql!r} {params!r}")

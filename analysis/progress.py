"""A progress bar for long replays, shown only when a person is watching the terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

_MIN_SIZE = 8 * 1024 * 1024  # smaller files replay too fast for a bar to help


@contextlib.contextmanager
def byte_progress(path: Path) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback taking the byte position reached in ``path``, or None if no bar."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size < _MIN_SIZE or not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(path.name, total=size)
        yield lambda position: bar.update(task, completed=position)

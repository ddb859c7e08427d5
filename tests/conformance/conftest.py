"""The conformance suite's fixture: each shared capture replayed once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conformance.replays import Replayed, replay


@pytest.fixture(scope="session")
def replayed(
    shared_captures: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str | None], Replayed]:
    """``replayed(capture, key_log)``: the capture replayed into a database of its own."""
    workdir = tmp_path_factory.mktemp("conformance")
    cache: dict[tuple[str, str | None], Replayed] = {}

    def get(capture: str, key_log: str | None) -> Replayed:
        if (capture, key_log) not in cache:
            cache[capture, key_log] = replay(shared_captures, capture, key_log, workdir)
        return cache[capture, key_log]

    return get

"""Fixtures shared by every test: where the read-only shared captures are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CAPTURES = REPO.parent / "shared" / "captures"


@pytest.fixture(scope="session")
def shared_captures() -> Path:
    """The third-party captures beside the repo (CI has them at ../shared); never copied in."""
    if not SHARED_CAPTURES.is_dir():
        if os.environ.get("CI"):  # CI always has them: a skip there would hide a broken layout
            pytest.fail(f"{SHARED_CAPTURES} is not there")
        pytest.skip(f"{SHARED_CAPTURES} is not there")
    return SHARED_CAPTURES

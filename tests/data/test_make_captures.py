"""The committed test captures are exactly what ``make_captures`` builds (nothing edited by hand)."""

from __future__ import annotations

import pytest

from tests.data import make_captures


@pytest.mark.parametrize("name", sorted(make_captures.BUILT))
def test_committed_capture_is_reproducible(name: str) -> None:
    path = make_captures.HERE / name
    assert path.is_file(), f"{name} is missing: run python -m tests.data.make_captures"
    assert path.read_bytes() == make_captures.BUILT[name](), (
        f"{name} differs from what make_captures builds: rerun it and commit the result"
    )


def test_every_recorded_tls_capture_has_its_key_log() -> None:
    for capture in (make_captures.HERE / "loopback").glob("tls*.pcap"):
        assert capture.with_suffix(".keys").is_file(), capture.name

"""Large captures read in a helper process give exactly what reading them here gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderflow.analysis.errors import InputError
from borderflow.analysis.records import Observation
from borderflow.analysis.sources.pcap import PcapReplay
from borderflow.analysis.tlsdecrypt.keylog import read_key_log

DATA = Path(__file__).resolve().parents[2] / "data"


def run(path: Path, threshold: int | None, **kw: object) -> tuple[list[Observation], list[object]]:
    events: list[object] = []
    replay = PcapReplay(
        path,
        "Ktest",
        parallel_threshold=threshold,
        progress=lambda pos: events.append(("progress", pos)),
        on_summary=lambda text: events.append(("summary", text)),
        **kw,  # type: ignore[arg-type]
    )
    observations = []
    try:
        for obs in replay.observations():
            observations.append(obs)
    except InputError as e:
        events.append(("error", str(e)))
    return observations, events


@pytest.mark.parametrize(
    "path",
    [DATA / "reassembly.pcap", DATA / "pcapdroid.pcapng", DATA / "damaged" / "truncated.pcap"],
    ids=lambda p: p.name,
)
def test_the_helper_process_gives_the_same_observations(path: Path) -> None:
    assert run(path, 0) == run(path, None)


def test_the_helper_process_decrypts_with_the_key_log() -> None:
    path = DATA / "loopback" / "tls13-h2.pcap"
    keys = read_key_log(DATA / "loopback" / "tls13-h2.keys")
    here, _ = run(path, None, keys=keys)
    helper, _ = run(path, 0, keys=keys)
    assert helper == here
    assert sum(len(o.payloads) for o in helper) >= 2


def test_without_an_interpreter_to_start_the_file_is_read_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = DATA / "reassembly.pcap"
    expected = run(path, None)
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    assert run(path, 0) == expected

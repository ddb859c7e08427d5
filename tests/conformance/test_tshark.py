"""Every shared capture, replayed, against tshark's figures (oracle_results.json).

For each capture: TCP and UDP conversation counts, the SNI set, the DNS query names, HTTP/1 and
HTTP/2 request counts (decrypted with the capture's key log or DSB where it has one). A
figure that differs must be listed in ``known_differences.toml`` with borderflow's value and
the reason; a listed difference that goes away (or changes) fails too, so the list stays true.
Captures tshark could not read to the end must end in an InputError here as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.replays import (
    METRICS,
    Replayed,
    extra_oracles,
    known_differences,
)
from tests.conftest import SHARED_CAPTURES

ORACLE_FILE = SHARED_CAPTURES / "oracle_results.json"
ORACLE: dict[str, dict[str, Any]] = (
    json.loads(ORACLE_FILE.read_text()) if ORACLE_FILE.is_file() else {}
)
KNOWN = known_differences()
EXTRA = extra_oracles()


def compare(name: str, ours: dict[str, Any], oracle: dict[str, Any]) -> list[str]:
    """Every way ``ours`` disagrees with the oracle that the known-differences list does not say."""
    problems = []
    known = KNOWN.get(name, {})
    for metric in METRICS:
        got, expected = ours[metric], oracle[metric]
        listed = known.get(metric)
        if listed is None:
            if got != expected:
                problems.append(f"{metric}: borderflow {_show(got, expected)}, tshark {expected}")
            continue
        if isinstance(expected, list):
            difference = {
                "extra": sorted(set(got) - set(expected)),
                "missing": sorted(set(expected) - set(got)),
            }
            wanted = {"extra": listed.get("extra", []), "missing": listed.get("missing", [])}
            if difference != wanted:
                problems.append(f"{metric}: listed difference {wanted} is now {difference}")
        elif got != listed["ours"]:
            problems.append(
                f"{metric}: listed as borderflow {listed['ours']} vs tshark {expected}, "
                f"now borderflow {got}"
            )
    return problems


def _show(got: object, expected: object) -> object:
    if isinstance(got, list) and isinstance(expected, list):
        return {
            "extra": sorted(set(got) - set(expected)),
            "missing": sorted(set(expected) - set(got)),
        }
    return got


@pytest.mark.parametrize("name", sorted(ORACLE) or ["(no shared captures)"])
def test_capture_agrees_with_tshark(
    name: str, shared_captures: Path, replayed: Callable[[str, str | None], Replayed]
) -> None:
    oracle = ORACLE[name]
    if not (shared_captures / name).is_file():
        pytest.skip(f"{name} is listed in oracle_results.json but not in the shared folder")
    result = replayed(name, oracle["keylog"])
    problems = compare(name, result.metrics, oracle)
    if oracle["tshark_rc"] != 0:
        assert result.error is not None, "tshark found the file damaged; borderflow did not say so"
        assert result.rows("SELECT count(*) FROM weird WHERE name = 'damaged_capture'")[0][0] == 1
    else:
        assert result.error is None
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_key_variant_agrees_with_tshark(
    name: str, shared_captures: Path, replayed: Callable[[str, str | None], Replayed]
) -> None:
    """Captures replayed with another key log than the oracle's (figures in extra_oracles.toml)."""
    extra = EXTRA[name]
    result = replayed(extra["capture"], extra["key_log"])
    assert result.error is None
    assert not compare(name, result.metrics, extra), compare(name, result.metrics, extra)


def test_known_differences_name_real_captures_and_give_reasons() -> None:
    for name, metrics in KNOWN.items():
        if name == "zeek":
            for trace, entries in metrics.items():
                for metric, entry in entries.items():
                    assert len(entry.get("reason", "")) > 20, f"zeek {trace} {metric}: say why"
            continue
        assert name in ORACLE or name in EXTRA or not ORACLE, f"{name}: no such capture"
        for metric, entry in metrics.items():
            assert metric in METRICS, f"{name}: unknown metric {metric}"
            assert len(entry.get("reason", "")) > 20, f"{name} {metric}: say why"

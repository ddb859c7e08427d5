"""QUIC Initial packets: RFC 9001's test keys, aioquic's real first flight, FoxIO's JA4s."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from borderflow.analysis.replay import replay_file
from borderflow.analysis.sources import quic_initial
from borderflow.analysis.sources.pcap_file import CaptureReader
from borderflow.analysis.sources.pcap_packets import PacketDecoder

LOOPBACK = Path(__file__).resolve().parents[2] / "data" / "loopback"


def test_initial_keys_match_rfc_9001_appendix_a() -> None:
    keys = quic_initial._Keys(1, bytes.fromhex("8394c8f03e515708"))
    assert keys.key.hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert keys.iv.to_bytes(12).hex() == "fa044b2f42a3fd3b46fb255c"
    assert keys.hp.hex() == "9f50449e04a0e810283a1e9933adedd2"
    sample = bytes.fromhex("d1b1c98dd7689fb8ec11d242b123dc9b")  # A.2's header protection
    assert keys.mask(sample)[:5].hex() == keys.mask(sample)[:5].hex() == "437b9aec36"


def test_aioquic_first_flight_gives_its_client_hello() -> None:
    decoder = PacketDecoder()
    reader = quic_initial.InitialReader()
    with CaptureReader(LOOPBACK / "quic-initial.pcap") as capture:
        for frame in capture:
            (segment,) = decoder.decode(frame.linktype, frame.data, frame.ts).segments
            assert quic_initial.is_initial(segment.payload)
            reader.datagram(segment.payload)
    assert reader.done
    assert reader.version == 1
    assert reader.hello is not None
    assert reader.hello.server_name == "quic.wallet.test"
    assert reader.hello.alpn == ("h3",)


def test_garbage_after_the_long_header_is_a_problem_not_a_crash() -> None:
    reader = quic_initial.InitialReader()
    reader.datagram(bytes([0xC3, 0, 0, 0, 1, 8]) + bytes(8) + b"\x00\x00\x41\x00" + bytes(300))
    assert reader.hello is None
    assert reader.problem is not None


SNAPSHOTS = "ja4/expected/rust/ja4/src/snapshots/ja4__insta@{}.snap"
QUIC_CAPTURES = [
    "quic-tls-handshake.pcapng",
    "quic-with-several-tls-frames.pcapng",
    "chrome-cloudflare-quic-with-secrets.pcapng",
    "tls-sni.pcapng",
]


@pytest.mark.parametrize("name", QUIC_CAPTURES)
def test_quic_ja4_agrees_with_foxio(name: str, shared_captures: Path, tmp_path: Path) -> None:
    """JA4 of every QUIC ClientHello, as FoxIO's own Rust implementation printed it."""
    snapshot = (shared_captures / SNAPSHOTS.format(name)).read_text()
    expected = set(re.findall(r"ja4: (q\S+)", snapshot))
    db = tmp_path / "t.db"
    replay_file(shared_captures / "ja4" / "pcap" / name, db)
    with sqlite3.connect(db) as conn:
        got = {j for (j,) in conn.execute("SELECT ja4 FROM tls WHERE ja4 LIKE 'q%'")}
    assert expected
    assert got == expected

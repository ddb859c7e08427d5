"""Reading capture files: formats, timestamps, side blocks, and where damage is reported."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from borderflow.analysis.sources.pcap_file import (
    TLS_KEY_LOG,
    CaptureDamaged,
    CaptureReader,
    NotACapture,
    sniff,
)
from tests.data import make_captures as mk

DATA = Path(__file__).resolve().parents[2] / "data"


def frames(path: Path, **kw: object) -> list[tuple[float, int, bytes, tuple[bytes, ...]]]:
    with CaptureReader(path, **kw) as reader:  # type: ignore[arg-type]
        return [(f.ts, f.linktype, f.data, f.comments) for f in reader]


def test_nanosecond_pcap_keeps_its_resolution(tmp_path: Path) -> None:
    path = tmp_path / "ns.pcap"
    path.write_bytes(mk.pcap(101, [(mk.T0 + 0.123456789, b"\x45" + bytes(19))], nano=True))
    ((ts, linktype, data, _),) = frames(path)
    assert linktype == 101
    assert len(data) == 20
    assert ts == pytest.approx(mk.T0 + 0.123456789, abs=1e-7)


def test_pcapng_interfaces_comments_secrets_and_custom_blocks(tmp_path: Path) -> None:
    path = tmp_path / "x.pcapng"
    path.write_bytes(
        mk.shb()
        + mk.idb(1)
        + mk.dsb(b"CLIENT_RANDOM aa bb\n")
        + mk.custom_block(62652, b"hello")
        + mk.idb(228, tsresol=9)
        + mk.epb(0, 1.5, b"a" * 14)
        + mk.epb(1, 2.25, b"\x45" + bytes(19), tsresol=9, comment="u-42")
    )
    secrets: list[tuple[int, bytes]] = []
    custom: list[tuple[int, bytes, bool]] = []
    got = frames(
        path,
        on_secrets=lambda kind, data: secrets.append((kind, data)),
        on_custom_block=lambda pen, data, le: custom.append((pen, data, le)),
    )
    assert [(ts, lt, c) for ts, lt, _, c in got] == [(1.5, 1, ()), (2.25, 228, (b"u-42",))]
    assert secrets == [(TLS_KEY_LOG, b"CLIENT_RANDOM aa bb\n")]
    assert custom == [(62652, b"hello\0\0\0", True)]


def test_several_sections_each_restart_interface_numbers(tmp_path: Path) -> None:
    path = tmp_path / "two.pcapng"
    section = mk.shb() + mk.idb(101) + mk.epb(0, 1.0, b"\x45" + bytes(19))
    path.write_bytes(section + mk.shb() + mk.idb(1) + mk.epb(0, 2.0, bytes(14)))
    assert [lt for _, lt, _, _ in frames(path)] == [101, 1]


def test_gzip_is_read_as_a_stream_also_when_concatenated(tmp_path: Path) -> None:
    whole = (DATA / "links" / "ethernet.pcap").read_bytes()
    path = tmp_path / "x.pcap.gz"
    path.write_bytes(gzip.compress(whole[:500], mtime=0) + gzip.compress(whole[500:], mtime=0))
    assert len(frames(path)) == 11
    assert sniff(path) == "pcap"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xd4\xc3\xb2\xa1" + bytes(10), "file header cut short"),
        (mk.pcap(1, [(1.0, bytes(60))])[:-5], "cut short in the middle of packet 1"),
        (mk.pcap(1, [(1.0, bytes(60))]) + bytes(7), "cut short in a packet header after 1 packets"),
        (mk.shb() + mk.idb(1) + mk.epb(0, 1.0, bytes(60))[:-10], "cut short in a block after 0"),
        (mk.shb()[:-4] + b"\x00\x00\x00\x00", "section header"),
    ],
)
def test_damage_is_reported_after_the_good_packets(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(CaptureDamaged, match=message):
        frames(path)


def test_huge_record_lengths_are_corruption_not_a_reason_to_read_gigabytes(tmp_path: Path) -> None:
    path = tmp_path / "huge.pcap"
    good = mk.pcap(1, [(1.0, bytes(60))])
    path.write_bytes(good + b"\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f\xff\xff\xff\x7f")
    with pytest.raises(CaptureDamaged, match="corrupt packet record after 1 packets"):
        frames(path)


@pytest.mark.parametrize("data", [b"hello world, not a capture", gzip.compress(b"nope")])
def test_files_that_are_no_capture(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x"
    path.write_bytes(data)
    assert sniff(path) is None
    with pytest.raises(NotACapture):
        CaptureReader(path)

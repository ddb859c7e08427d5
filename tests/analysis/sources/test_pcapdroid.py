"""PCAPdroid's app tags: the pcap trailer and the pcapng uid map, as its pcap_dump.c writes them."""

from __future__ import annotations

import struct
import zlib

from borderflow.analysis.sources import pcapdroid


def test_trailer_round_trip_and_layout() -> None:
    frame = bytes(12) + b"\x08\x00" + b"\x45" + bytes(20)  # 35 bytes: one byte of padding
    tagged = pcapdroid.build_trailer(10123, "Example Wallet", frame)
    assert len(tagged) == 36 + 32
    assert tagged[36:40] == pcapdroid.TRAILER_MAGIC
    assert struct.unpack("<I", tagged[-4:])[0] == zlib.crc32(tagged[:-4])
    tag, rest = pcapdroid.parse_trailer(tagged)
    assert tag == pcapdroid.AppTag(10123, "Example Wallet")
    assert rest == frame + b"\0"


def test_unknown_uid_and_empty_label() -> None:
    tag, _ = pcapdroid.parse_trailer(pcapdroid.build_trailer(-1, "", bytes(34)))
    assert tag == pcapdroid.AppTag(-1, None)


def test_labels_cut_mid_character_lose_only_the_broken_character() -> None:
    label = "支付宝钱包国际版".encode()[:19] + b"\0"
    assert pcapdroid.decode_label(label) == "支付宝钱包国"
    assert pcapdroid.decode_label(b"ok\xffok\0") == "ok\ufffdok"


def test_uid_map_blocks_in_both_byte_orders() -> None:
    for little in (True, False):
        data = pcapdroid.build_uid_map(
            10123, "com.eg.android.AlipayGphone", "支付宝", little_endian=little
        )
        assert pcapdroid.parse_uid_map(data, little_endian=little) == (
            10123,
            pcapdroid.UidMapEntry("com.eg.android.AlipayGphone", "支付宝"),
        )
    assert pcapdroid.parse_uid_map(b"\x02\x00\x01\x00" + bytes(8), little_endian=True) is None


def test_packet_comments() -> None:
    assert pcapdroid.uid_of_comment(b"u-10123") == 10123
    assert pcapdroid.uid_of_comment(b"u--1") == -1
    assert pcapdroid.uid_of_comment(b"hello") is None

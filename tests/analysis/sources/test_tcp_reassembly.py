"""TCP reassembly: every byte once, in order, whatever the network and the capture did."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from borderflow.analysis.sources.tcp_reassembly import StreamReassembler


class Sink:
    def __init__(self, stop_after: int | None = None) -> None:
        self.out = bytearray()
        self.gaps: list[int] = []
        self.stop_after = stop_after

    def data(self, from_client: bool, chunk: bytes) -> bool:
        assert from_client  # the direction the reassembler was made for
        self.out += chunk
        return self.stop_after is None or len(self.out) < self.stop_after

    def gap(self, from_client: bool, size: int) -> bool:
        assert from_client
        self.gaps.append(size)
        self.out += b"?" * size
        return True


def stream(isn: int = 1000) -> tuple[StreamReassembler, Sink]:
    sink = Sink()
    r = StreamReassembler(sink, True)
    r.syn(isn)
    return r, sink


PAYLOAD = bytes(range(256)) * 8


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(1, len(PAYLOAD) - 1), max_size=12, unique=True),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(0, 12), max_size=6),
    isn=st.integers(0, 0xFFFFFFFF),
)
def test_any_order_and_any_repetition_gives_the_stream_once(
    cuts: list[int], order: object, repeats: list[int], isn: int
) -> None:
    bounds = [0, *sorted(cuts), len(PAYLOAD)]
    segments = [(a, PAYLOAD[a:b]) for a, b in itertools.pairwise(bounds)]
    segments += [segments[i % len(segments)] for i in repeats]
    order.shuffle(segments)  # type: ignore[attr-defined]
    r, sink = stream(isn)
    for off, data in segments:
        r.segment((isn + 1 + off) & 0xFFFFFFFF, data)
    r.flush()
    assert bytes(sink.out) == PAYLOAD
    assert sink.gaps == []
    assert r.size == len(PAYLOAD)


def test_sequence_numbers_wrap_around() -> None:
    r, sink = stream(0xFFFFFFF0)
    r.segment(0xFFFFFFF1, b"a" * 10)
    r.segment(0xFFFFFFFB, b"b" * 20)  # crosses 2**32
    assert bytes(sink.out) == b"a" * 10 + b"b" * 20


def test_overlapping_segments_keep_the_bytes_that_came_first() -> None:
    r, sink = stream(0)
    r.segment(11, b"WORLD")  # waits for bytes 0-9
    r.segment(11, b"xxxxx")  # the same bytes again, different: loses
    r.segment(1, b"hello " + b"XXXX")  # in order; its last 4 bytes overlap nothing yet
    r.segment(1, b"HELLO ")  # already delivered: loses
    assert bytes(sink.out) == b"hello XXXXWORLD"


def test_a_hole_is_reported_as_a_gap_at_the_end() -> None:
    r, sink = stream(0)
    r.segment(1, b"abc")
    r.segment(10, b"xyz")
    assert bytes(sink.out) == b"abc"
    r.flush()
    assert sink.gaps == [6]
    assert bytes(sink.out) == b"abc??????xyz"


def test_too_much_waiting_data_gives_up_on_the_hole() -> None:
    sink = Sink()
    r = StreamReassembler(sink, True, max_pending=10)
    r.syn(0)
    r.segment(1, b"a")
    r.segment(5, b"b" * 8)
    r.segment(13, b"c" * 8)  # now 16 bytes wait behind a 3-byte hole
    assert sink.gaps == [3]
    assert bytes(sink.out) == b"a???" + b"b" * 8 + b"c" * 8


def test_snap_length_cut_segments_become_gaps_of_their_missing_bytes() -> None:
    r, sink = stream(0)
    r.segment(1, b"GET / HT", wire_len=100)
    r.segment(101, b"next")
    assert bytes(sink.out) == b"GET / HT" + b"?" * 92 + b"next"
    assert r.size == 104


def test_a_stream_picked_up_mid_way_starts_at_the_first_byte_seen() -> None:
    sink = Sink()
    r = StreamReassembler(sink, True)
    r.segment(5000, b"\x00")  # a keep-alive probe: one old byte, not the start
    r.segment(5001, b"HTTP/1.1 200 OK\r\n")
    assert bytes(sink.out) == b"HTTP/1.1 200 OK\r\n"


def test_a_sink_that_wants_no_more_is_only_counted() -> None:
    sink = Sink(stop_after=4)
    r = StreamReassembler(sink, True)
    r.syn(0)
    r.segment(1, b"abcd")
    r.segment(9, b"later")
    r.segment(5, b"efgh")
    assert bytes(sink.out) == b"abcd"
    assert r.sink is None
    assert r.size == 13


def test_counting_only_without_a_sink() -> None:
    r = StreamReassembler(None, True)
    r.syn(100)
    r.segment(101, b"x" * 1000)
    r.segment(101, b"x" * 1000)
    assert r.size == 1000

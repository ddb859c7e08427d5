"""The passive HTTP/2 reader, fed with what the ``h2`` library's client and server send."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events

from borderflow.analysis.sources.http1 import Message
from borderflow.analysis.sources.http2 import Http2Parser

Exchange = tuple[Message, Message | None]


class Pair:
    """An h2 client and server talking, with every byte also given to the parser."""

    def __init__(self) -> None:
        self.seen: list[Exchange] = []
        self.parser = Http2Parser(lambda req, resp: self.seen.append((req, resp)))
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.client.initiate_connection()
        self.server.initiate_connection()
        self.flush()

    def flush(self) -> None:
        while True:
            c, s = self.client.data_to_send(), self.server.data_to_send()
            if not c and not s:
                return
            if c:
                self.parser.data(True, c)
                self.server.receive_data(c)
            if s:
                self.parser.data(False, s)
                self.client.receive_data(s)


def test_requests_and_responses_pair_by_stream() -> None:
    pair = Pair()
    for i, path in enumerate(("/a", "/b")):
        stream = 1 + 2 * i
        pair.client.send_headers(
            stream,
            [
                (":method", "POST"),
                (":path", path),
                (":scheme", "https"),
                (":authority", "x.test"),
                ("content-type", "application/json"),
            ],
        )
        pair.client.send_data(stream, b'{"n": %d}' % i, end_stream=True, pad_length=7)
    pair.flush()
    for stream in (3, 1):  # answered in the other order
        pair.server.send_headers(stream, [(":status", "200"), ("x-stream", str(stream))])
        pair.server.send_data(stream, b"ok%d" % stream, end_stream=True)
    pair.flush()
    got = [
        (q.target, bytes(q.body), r.first if r else None, bytes(r.body) if r else b"")
        for q, r in pair.seen
    ]
    assert got == [("/b", b'{"n": 1}', b"200", b"ok3"), ("/a", b'{"n": 0}', b"200", b"ok1")]
    req = pair.seen[0][0]
    assert (req.first, req.version, req.header(":authority")) == (b"POST", "HTTP/2.0", "x.test")


def test_header_blocks_continued_in_continuation_frames_are_decoded() -> None:
    pair = Pair()
    big = "v" * 40000  # more than one 16 KiB frame
    pair.client.send_headers(
        1,
        [
            (":method", "GET"),
            (":path", "/big"),
            (":scheme", "https"),
            (":authority", "x"),
            ("x-big", big),
        ],
        end_stream=True,
    )
    pair.flush()
    pair.server.send_headers(1, [(":status", "204")], end_stream=True)
    pair.flush()
    ((req, resp),) = pair.seen
    assert req.header("x-big") == big
    assert resp is not None
    assert resp.first == b"204"


def test_reset_streams_and_the_connection_end_report_unfinished_exchanges() -> None:
    pair = Pair()
    pair.client.send_headers(
        1,
        [(":method", "GET"), (":path", "/r"), (":scheme", "https"), (":authority", "x")],
        end_stream=True,
    )
    pair.client.send_headers(
        3,
        [(":method", "GET"), (":path", "/open"), (":scheme", "https"), (":authority", "x")],
        end_stream=True,
    )
    pair.flush()
    pair.server.reset_stream(1, error_code=8)
    pair.flush()
    pair.parser.end()
    errors = [(q.target, q.error) for q, _ in pair.seen]
    assert errors == [("/r", "stream reset (error code 8)"), ("/open", "no response")]


def test_a_stream_that_is_not_http2_is_given_up() -> None:
    parser = Http2Parser(lambda a, b: None)
    assert parser.data(True, b"GET / HTTP/1.1\r\n\r\n") is False
    assert parser.problems == ["no_http2_preface"]


def test_hpack_state_survives_many_requests() -> None:
    pair = Pair()
    for i in range(20):
        stream = 1 + 2 * i
        headers = [
            (":method", "GET"),
            (":path", f"/p{i}"),
            (":scheme", "https"),
            (":authority", "x"),
            ("cookie", "session=abc"),
        ]
        pair.client.send_headers(stream, headers, end_stream=True)
        pair.flush()
        pair.server.send_headers(stream, [(":status", "200")], end_stream=True)
        pair.flush()
    assert [q.target for q, _ in pair.seen] == [f"/p{i}" for i in range(20)]
    assert all(q.header("cookie") == "session=abc" for q, _ in pair.seen)
    assert pair.parser.problems == []

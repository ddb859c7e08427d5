"""The passive HTTP/1.x parser: what real clients and servers send, and what a capture loses."""

from __future__ import annotations

import pytest

from borderflow.analysis.sources.http1 import (
    Http1Parser,
    Message,
    looks_like_request,
    parse_request_line,
)

Exchange = tuple[Message, Message | None]


def parser() -> tuple[Http1Parser, list[Exchange]]:
    seen: list[Exchange] = []
    return Http1Parser(lambda req, resp: seen.append((req, resp))), seen


def summary(seen: list[Exchange]) -> list[tuple[str, str, str | None, bytes]]:
    return [
        (
            req.first.decode(),
            req.target,
            resp.first.decode() if resp else None,
            bytes(resp.body) if resp else b"",
        )
        for req, resp in seen
    ]


def test_pipelined_requests_pair_with_responses_in_order() -> None:
    p, seen = parser()
    p.data(True, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    p.data(
        False,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 No\r\nContent-Length: 1\r\n\r\nB",
    )
    assert summary(seen) == [("GET", "/a", "200", b"A"), ("GET", "/b", "404", b"B")]


def test_chunked_bodies_are_dechunked_with_extensions_and_trailers() -> None:
    p, seen = parser()
    p.data(True, b"POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nab")
    p.data(True, b"cd\r\n3\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n")
    p.data(False, b"HTTP/1.1 204 No Content\r\n\r\n")
    ((req, resp),) = seen
    assert bytes(req.body) == b"abcdefg"
    assert req.complete
    assert resp is not None
    assert resp.first == b"204"


def test_interim_responses_are_skipped() -> None:
    p, seen = parser()
    p.data(True, b"PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    p.data(False, b"HTTP/1.1 100 Continue\r\n\r\n")
    p.data(True, b"abc")
    p.data(False, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert summary(seen) == [("PUT", "/f", "201", b"")]


def test_head_responses_have_no_body_and_close_delimits_the_last_one() -> None:
    p, seen = parser()
    p.data(True, b"HEAD / HTTP/1.1\r\n\r\nGET /x HTTP/1.0\r\n\r\n")
    p.data(False, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
    p.data(False, b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
    p.end()
    assert summary(seen) == [("HEAD", "/", "200", b""), ("GET", "/x", "200", b"until the end")]


def test_bare_newlines_and_folded_headers_are_accepted() -> None:
    p, seen = parser()
    p.data(True, b"GET / HTTP/1.1\nHost: a\nX-Long: one\n  two\n\n")
    p.end()
    ((req, resp),) = seen
    assert req.header("x-long") == "one two"
    assert resp is None
    assert req.error == "no response"


def test_connect_hands_the_tunnel_over_with_the_bytes_already_read() -> None:
    handed: list[tuple[str, bytes, bytes]] = []
    seen: list[Exchange] = []
    p = Http1Parser(lambda a, b: seen.append((a, b)), on_switch=lambda *a: handed.append(a))
    p.data(True, b"CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n\x16\x03\x01")
    p.data(False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    assert handed == [("tunnel", b"\x16\x03\x01", b"")]
    assert p.data(True, b"more") is False


def test_upgrade_to_h2c_is_reported() -> None:
    handed: list[tuple[str, bytes, bytes]] = []
    p = Http1Parser(lambda a, b: None, on_switch=lambda *a: handed.append(a))
    p.data(True, b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
    p.data(False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04")
    assert handed == [("h2c", b"", b"\x00\x00\x00\x04")]


def test_a_gap_inside_a_body_is_counted_and_parsing_goes_on() -> None:
    p, seen = parser()
    p.data(True, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
    assert p.gap(True, 4)
    p.data(True, b"xyz")
    p.data(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    ((req, _),) = seen
    assert req.body_len == 10
    assert bytes(req.body) == b"abcxyz"
    assert req.error == "4 bytes not captured"


def test_a_request_line_cut_by_the_snap_length_is_kept() -> None:
    p, seen = parser()
    p.data(True, b"GET /images/sf.net_box.gif HTT")
    assert not p.gap(True, 466)
    p.end()
    ((req, _),) = seen
    assert (req.first, req.target, req.error) == (
        b"GET",
        "/images/sf.net_box.gif",
        "head cut short",
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"GET /a HTTP/1.1", (b"GET", "/a", "HTTP/1.1")),
        (b"OPTIONS * HTTP/1.0", (b"OPTIONS", "*", "HTTP/1.0")),
        (b"GET HTTP/1.1", (b"GET", "", "HTTP/1.1")),
        (b"GET /HTTP/1.1", (b"GET", "/HTTP/1.1", None)),
        (b"GET / HTTP/1.", (b"GET", "/", "HTTP/1.0")),
        (b"M-SEARCH * HTTP/1.1", (b"M-SEARCH", "*", "HTTP/1.1")),
        (b"BREW /pot HTTP/1.1", (b"BREW", "/pot", "HTTP/1.1")),
        (b"GET /zeek.html", None),  # HTTP/0.9: tshark does not count it either
        (b"BREW HTTP/1.1", None),
        (b"\x16\x03\x01 x", None),
    ],
)
def test_request_lines_are_read_as_leniently_as_tshark(
    line: bytes, expected: tuple[bytes, str, str | None] | None
) -> None:
    assert parse_request_line(line) == expected


def test_request_detection_needs_a_method_or_a_whole_request_line() -> None:
    assert looks_like_request(b"POST /x")
    assert looks_like_request(b"BREW /pot HTTP/1.1\r\n")
    assert not looks_like_request(b"BREW /pot HTTP/1.1")  # not a whole line yet
    assert not looks_like_request(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_long_bodies_are_cut_and_said_so() -> None:
    seen: list[Exchange] = []
    p = Http1Parser(lambda a, b: seen.append((a, b)), max_body=4)
    p.data(True, b"POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678")
    p.end()
    ((req, _),) = seen
    assert bytes(req.body) == b"1234"
    assert req.body_len == 8
    assert req.error is not None
    assert "cut" in req.error

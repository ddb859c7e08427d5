"""HTTP/1.x from both directions of a reassembled stream: requests paired with responses.

A passive parser: it never answers, so it must accept what real clients and servers send —
pipelined requests, interim 1xx responses (100-continue), chunked bodies with trailers,
bodies delimited by the connection's end, HEAD/204/304 responses without a body, and bare
``\\n`` line ends. Bodies are kept as sent (content-encoded, de-chunked), as mitmproxy's
``raw_content``, so the classifier decodes them exactly as for live flows.

A CONNECT answered with 2xx, or an Upgrade answered with 101, ends HTTP/1 on the connection:
``on_switch`` gets the protocol and the bytes already received after the switch, so the
tunnelled TLS (or h2c, or WebSocket) can be read on.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

_MAX_HEAD: Final = 64 * 1024
_MAX_BODY: Final = 32 << 20  # kept per body; longer bodies are counted, and cut
_REQUEST_LINE = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}) +(.*?)[ \t]*\r?$")
_VERSION = re.compile(rb"(?:^| )HTTP/(\d)\.(\d?)$")
_STATUS_LINE = re.compile(rb"^HTTP/(\d)\.(\d) +(\d{3})(?: (.*))?\r?$")
_METHODS: Final = (
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"SEARCH ",
    b"REPORT ",
    b"MKCALENDAR ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"M-SEARCH ",
    b"CCM_POST ",
)
_KNOWN_METHODS: Final = frozenset(m.rstrip() for m in _METHODS)

Headers = tuple[tuple[str, str], ...]


def looks_like_request(data: bytes) -> bool:
    """Whether a stream starting with ``data`` is (probably) an HTTP/1.x client."""
    if data.startswith(_METHODS):
        return True
    line = data.split(b"\n", 1)[0]
    return parse_request_line(line) is not None if len(line) < len(data) else False


def parse_request_line(line: bytes) -> tuple[bytes, str, str | None] | None:
    """(method, target, version) of a request line, as leniently as tshark reads them.

    ``METHOD target HTTP/x.y`` with any token as method; with a well-known method also a
    missing target (``GET HTTP/1.1``) or a target run into the version (``GET /HTTP/1.1``,
    version unknown). HTTP/0.9's ``GET /path`` is not taken, as tshark does not.
    """
    m = _REQUEST_LINE.match(line.rstrip(b"\r"))
    if m is None:
        return None
    method, rest = m.group(1), m.group(2)
    v = _VERSION.search(rest)
    if v is not None:
        target = rest[: v.start()].strip()
        version: str | None = f"HTTP/{v.group(1).decode()}.{(v.group(2) or b'0').decode()}"
        if not target and method not in _KNOWN_METHODS:
            return None
    elif method in _KNOWN_METHODS and b"HTTP/" in rest:
        target, version = rest, None
    else:
        return None
    return method, target.decode("utf-8", "replace"), version


@dataclass(slots=True)
class Message:
    """A request or a response as read from the stream."""

    ts: float
    first: bytes  # method or status code
    target: str  # request target, or the reason phrase
    version: str | None  # "HTTP/1.1"; None when the request line did not say
    headers: Headers
    body: bytearray = field(default_factory=bytearray)
    body_len: int = 0  # bytes the body had on the wire (also beyond what was kept)
    complete: bool = False
    error: str | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


ExchangeHandler = Callable[[Message, Message | None], None]
SwitchHandler = Callable[[str, bytes, bytes], None]  # (protocol, client bytes, server bytes)


class _Direction:
    __slots__ = ("body_left", "buf", "current", "dead", "mode", "scanned")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.mode = "head"  # head | body | chunk-size | chunk-data | chunk-end | trailer | close
        self.current: Message | None = None
        self.body_left = 0
        self.dead = False
        self.scanned = 0  # bytes of ``buf`` already searched for the end of a head


class Http1Parser:
    """Both directions of one HTTP/1.x connection. Set ``now`` before feeding data."""

    def __init__(
        self,
        on_exchange: ExchangeHandler,
        *,
        on_switch: SwitchHandler | None = None,
        max_body: int = _MAX_BODY,
    ) -> None:
        self.on_exchange = on_exchange
        self.on_switch = on_switch
        self.max_body = max_body
        self.now = 0.0
        self.problems: list[str] = []
        self._client = _Direction()
        self._server = _Direction()
        self._waiting: deque[Message] = deque()  # requests whose response has not finished
        self._switched = False

    # -- sinks ----------------------------------------------------------------------------

    def data(self, from_client: bool, chunk: bytes) -> bool:
        d = self._client if from_client else self._server
        if d.dead:
            return False
        if self._switched:
            return False
        d.buf += chunk
        self._parse(d, from_client)
        return not d.dead and not self._switched

    def gap(self, from_client: bool, size: int) -> bool:
        d = self._client if from_client else self._server
        if d.dead or self._switched:
            return False
        m = d.current
        if d.mode == "body" and m is not None and size <= d.body_left and not d.buf:
            m.body_len += size
            d.body_left -= size
            m.error = m.error or f"{size} bytes not captured"
            if d.body_left == 0:
                self._finish(d, from_client)
            return True
        if d.mode == "close" and m is not None:
            m.body_len += size
            m.error = m.error or f"{size} bytes not captured"
            return True
        if d.mode == "head" and d.current is None:
            self._salvage_head(d, from_client)
        self.problems.append(f"http_gap {'request' if from_client else 'response'} {size}")
        d.dead = True
        return False

    def _salvage_head(self, d: _Direction, from_client: bool) -> None:
        """A message head cut by a gap (snap length, capture loss): keep what it shows."""
        lines = bytes(d.buf).split(b"\n")
        headers = _headers(lines[1:-1])
        if from_client:
            parsed = parse_request_line(lines[0]) if len(lines) > 1 else None
            if parsed is None and len(lines) == 1 and lines[0].startswith(_METHODS):
                method, _, rest = lines[0].partition(b" ")  # the request line itself was cut
                parsed = method, rest.split(b" ", 1)[0].decode("utf-8", "replace"), None
            if parsed is None:
                return
            method, target, version = parsed
            message = Message(self.now, method, target, version, headers, error="head cut short")
            message.complete = False
            self._waiting.append(message)
        else:
            m = _STATUS_LINE.match(lines[0].rstrip(b"\r")) if len(lines) > 1 else None
            if m is None or not self._waiting:
                return
            version = f"HTTP/{m.group(1).decode()}.{m.group(2).decode()}"
            reason = (m.group(4) or b"").decode("utf-8", "replace")
            response = Message(
                self.now, m.group(3), reason, version, headers, error="head cut short"
            )
            self.on_exchange(self._waiting.popleft(), response)
        d.buf.clear()

    def end(self) -> None:
        """The connection is over: finish what its end delimits, report what never finished."""
        c, s = self._client, self._server
        if not c.dead and c.mode == "head" and c.current is None and c.buf.strip():
            self._salvage_head(c, True)  # a request whose head never ended
        if not s.dead and s.mode == "close" and s.current is not None:
            self._finish(s, False)
        if not s.dead and s.mode == "head" and s.current is None and s.buf.strip():
            self._salvage_head(s, False)
        if c.current is not None:
            c.current.error = c.current.error or "connection ended mid-request"
            self._waiting.append(c.current)
            c.current = None
        if s.current is not None and self._waiting:
            s.current.error = s.current.error or "connection ended mid-response"
            self.on_exchange(self._waiting.popleft(), s.current)
            s.current = None
        while self._waiting:
            request = self._waiting.popleft()
            request.error = request.error or "no response"
            self.on_exchange(request, None)

    # -- parsing --------------------------------------------------------------------------

    def _parse(self, d: _Direction, from_client: bool) -> None:
        while d.buf and not d.dead and not self._switched:
            if d.mode == "head":
                if not self._head(d, from_client):
                    return
            elif d.mode == "body":
                take = min(d.body_left, len(d.buf))
                self._append(d, d.buf[:take])
                del d.buf[:take]
                d.body_left -= take
                if d.body_left == 0:
                    self._finish(d, from_client)
                else:
                    return
            elif d.mode == "close":
                self._append(d, d.buf)
                d.buf.clear()
                return
            elif d.mode == "chunk-size":
                line = self._line(d)
                if line is None:
                    return
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    self._give_up(d, from_client, "bad_chunk_size")
                    return
                if size == 0:
                    d.mode = "trailer"
                else:
                    d.body_left = size
                    d.mode = "chunk-data"
            elif d.mode == "chunk-data":
                take = min(d.body_left, len(d.buf))
                self._append(d, d.buf[:take])
                del d.buf[:take]
                d.body_left -= take
                if d.body_left:
                    return
                d.mode = "chunk-end"
            elif d.mode == "chunk-end":
                line = self._line(d)
                if line is None:
                    return
                d.mode = "chunk-size"
            elif d.mode == "trailer":
                line = self._line(d)
                if line is None:
                    return
                if not line.strip():
                    self._finish(d, from_client)

    def _line(self, d: _Direction) -> bytes | None:
        i = d.buf.find(b"\n")
        if i < 0:
            if len(d.buf) > _MAX_HEAD:
                d.dead = True
            return None
        line = bytes(d.buf[:i]).rstrip(b"\r")
        del d.buf[: i + 1]
        return line

    def _head(self, d: _Direction, from_client: bool) -> bool:
        buf = d.buf
        # Tolerate blank lines between messages (RFC 9112 §2.2).
        while buf[:2] == b"\r\n" or buf[:1] == b"\n":
            del buf[: 2 if buf[:1] == b"\r" else 1]
            d.scanned = 0
        start = max(0, d.scanned - 3)  # a head arriving in small pieces is searched once
        end = buf.find(b"\r\n\r\n", start)
        size = 4
        if end < 0:
            end = buf.find(b"\n\n", start)
            size = 2
        if end < 0:
            d.scanned = len(buf)
            if len(buf) > _MAX_HEAD:
                self._give_up(d, from_client, "http_head_too_large")
            return False
        d.scanned = 0
        head = bytes(buf[:end])
        del buf[: end + size]
        lines = head.split(b"\n")
        first = lines[0].rstrip(b"\r")
        headers = _headers(lines[1:])
        if from_client:
            parsed = parse_request_line(first)
            if parsed is None:
                self._give_up(d, from_client, "not_an_http_request")
                return False
            method, target, version = parsed
            message = Message(
                ts=self.now, first=method, target=target, version=version, headers=headers
            )
        else:
            m = _STATUS_LINE.match(first)
            if m is None:
                self._give_up(d, from_client, "not_an_http_response")
                return False
            message = Message(
                ts=self.now,
                first=m.group(3),
                target=(m.group(4) or b"").decode("utf-8", "replace"),
                version=f"HTTP/{m.group(1).decode()}.{m.group(2).decode()}",
                headers=headers,
            )
        d.current = message
        self._framing(d, from_client, message)
        return True

    def _framing(self, d: _Direction, from_client: bool, m: Message) -> None:
        te = (m.header("transfer-encoding") or "").lower()
        cl = m.header("content-length")
        if not from_client:
            status = int(m.first)
            request = self._waiting[0] if self._waiting else None
            if 100 <= status < 200 and status != 101:
                d.current = None  # interim response: the real one follows
                return
            no_body = (
                status in (101, 204, 304)
                or (request is not None and request.first == b"HEAD")
                or (request is not None and request.first == b"CONNECT" and 200 <= status < 300)
            )
            if no_body:
                self._finish(d, from_client)
                return
        if "chunked" in te:
            d.mode = "chunk-size"
            return
        if cl is not None:
            try:
                length = int(cl.split(",")[0].strip())
            except ValueError:
                length = -1
            if length < 0:
                self._give_up(d, from_client, "bad_content_length")
                return
            if length == 0:
                self._finish(d, from_client)
                return
            d.body_left = length
            d.mode = "body"
            return
        if from_client:
            self._finish(d, from_client)
        else:
            d.mode = "close"  # delimited by the end of the connection

    def _append(self, d: _Direction, data: bytes | bytearray) -> None:
        m = d.current
        if m is None:
            return
        m.body_len += len(data)
        room = self.max_body - len(m.body)
        if room > 0:
            m.body += data[:room]
        if len(data) > room and m.error is None:
            m.error = f"body longer than {self.max_body} bytes, cut"

    def _finish(self, d: _Direction, from_client: bool) -> None:
        m = d.current
        d.current = None
        d.mode = "head"
        d.body_left = 0
        if m is None:
            return
        m.complete = True
        if from_client:
            self._waiting.append(m)
            return
        request = self._waiting.popleft() if self._waiting else None
        if request is None:
            self.problems.append("http_response_without_request")
            return
        self.on_exchange(request, m)
        self._maybe_switch(request, m)

    def _maybe_switch(self, request: Message, response: Message) -> None:
        status = int(response.first)
        protocol: str | None = None
        if request.first == b"CONNECT" and 200 <= status < 300:
            protocol = "tunnel"
        elif status == 101:
            protocol = (response.header("upgrade") or request.header("upgrade") or "").lower()
            protocol = protocol or "unknown"
        if protocol is None:
            return
        self._switched = True
        if self.on_switch is not None:
            client_rest = bytes(self._client.buf)
            server_rest = bytes(self._server.buf)
            self._client.buf.clear()
            self._server.buf.clear()
            self.on_switch(protocol, client_rest, server_rest)

    def _give_up(self, d: _Direction, from_client: bool, why: str) -> None:
        self.problems.append(f"{why} ({'client' if from_client else 'server'})")
        d.dead = True
        d.buf.clear()


def _headers(lines: list[bytes]) -> Headers:
    out: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and out:  # obsolete line folding
            previous, text = out[-1]
            out[-1] = (previous, text + " " + line.strip().decode("utf-8", "replace"))
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        out.append((name.strip().decode("latin-1"), value.strip().decode("utf-8", "replace")))
    return tuple(out)

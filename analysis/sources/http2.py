"""HTTP/2 from both directions of a stream (decrypted TLS with ALPN h2, or prior-knowledge h2c).

A passive reader: frames are cut by hand (RFC 9113 §4.1), header blocks decoded with
``hpack`` (one decoder per direction, fed every block in order, PUSH_PROMISE included, so the
dynamic tables stay in step), and each stream's request and response are collected into the
same ``http1.Message`` shape the HTTP/1 parser produces, so both end as the same rows.

Pseudo-headers stay in the header list (``:method``, ``:authority``, ...); whoever builds
payloads drops them, as mitmproxy's header view does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from borderflow.analysis.sources.http1 import ExchangeHandler, Message

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

_DATA: Final = 0x0
_HEADERS: Final = 0x1
_RST_STREAM: Final = 0x3
_PUSH_PROMISE: Final = 0x5
_GOAWAY: Final = 0x7
_CONTINUATION: Final = 0x9

_END_STREAM: Final = 0x1
_END_HEADERS: Final = 0x4
_PADDED: Final = 0x8
_PRIORITY: Final = 0x20

_MAX_FRAME: Final = 1 << 24
_MAX_BODY: Final = 32 << 20


@dataclass(slots=True)
class _Stream:
    request: Message | None = None
    response: Message | None = None
    request_done: bool = False
    response_done: bool = False


class _Side:
    __slots__ = ("block", "block_flags", "block_stream", "buf", "dead", "decoder", "preface")

    def __init__(self, *, preface: bool) -> None:
        from hpack import Decoder

        self.buf = bytearray()
        self.preface = preface  # the client's connection preface is still to come
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 1 << 20  # lenient: we never sent SETTINGS
        self.decoder.max_header_list_size = 1 << 20
        self.block = bytearray()  # a header block continued in CONTINUATION frames
        self.block_stream = 0
        self.block_flags = 0
        self.dead = False


class Http2Parser:
    """Both directions of one HTTP/2 connection. Set ``now`` before feeding data."""

    def __init__(self, on_exchange: ExchangeHandler, *, max_body: int = _MAX_BODY) -> None:
        self.on_exchange = on_exchange
        self.max_body = max_body
        self.now = 0.0
        self.problems: list[str] = []
        self._client = _Side(preface=True)
        self._server = _Side(preface=False)
        self._streams: dict[int, _Stream] = {}

    def data(self, from_client: bool, chunk: bytes) -> bool:
        side = self._client if from_client else self._server
        if side.dead:
            return False
        side.buf += chunk
        if side.preface:
            if len(side.buf) < len(PREFACE):
                return PREFACE.startswith(bytes(side.buf)) or self._give_up(
                    side, "no_http2_preface"
                )
            if not side.buf.startswith(PREFACE):
                return self._give_up(side, "no_http2_preface")
            del side.buf[: len(PREFACE)]
            side.preface = False
        buf = side.buf
        off = 0
        while len(buf) - off >= 9 and not side.dead:
            length = int.from_bytes(buf[off : off + 3])
            if length > _MAX_FRAME:
                return self._give_up(side, "http2_frame_too_large")
            if len(buf) - off < 9 + length:
                break
            kind, flags = buf[off + 3], buf[off + 4]
            stream_id = int.from_bytes(buf[off + 5 : off + 9]) & 0x7FFFFFFF
            payload = bytes(buf[off + 9 : off + 9 + length])
            off += 9 + length
            self._frame(side, from_client, kind, flags, stream_id, payload)
        del buf[:off]
        return not side.dead

    def gap(self, from_client: bool, size: int) -> bool:
        side = self._client if from_client else self._server
        if not side.dead:
            self._give_up(side, f"http2_gap {size}")
        return False

    def end(self) -> None:
        """The connection is over: report every stream, finished or not."""
        for stream in self._streams.values():
            self._emit(stream, final=True)
        self._streams.clear()

    # -- frames ---------------------------------------------------------------------------

    def _frame(
        self, side: _Side, from_client: bool, kind: int, flags: int, stream_id: int, payload: bytes
    ) -> None:
        if side.block_stream and kind != _CONTINUATION:
            self._give_up(side, "http2_headers_interrupted")
            return
        if kind == _DATA:
            if flags & _PADDED:
                payload = _unpad(payload)
            stream = self._streams.get(stream_id)
            message = None
            if stream is not None:
                message = stream.request if from_client else stream.response
            if message is not None:
                message.body_len += len(payload)
                room = self.max_body - len(message.body)
                if room > 0:
                    message.body += payload[:room]
                if len(payload) > room and message.error is None:
                    message.error = f"body longer than {self.max_body} bytes, cut"
            if flags & _END_STREAM and stream is not None:
                self._end_stream(stream, from_client)
        elif kind in (_HEADERS, _PUSH_PROMISE):
            if flags & _PADDED:
                payload = _unpad(payload)
            if kind == _HEADERS and flags & _PRIORITY:
                payload = payload[5:]
            if kind == _PUSH_PROMISE:
                payload = payload[4:]  # the promised stream id
            side.block = bytearray(payload)
            side.block_stream = stream_id
            side.block_flags = flags | (0x100 if kind == _PUSH_PROMISE else 0)
            if flags & _END_HEADERS:
                self._header_block(side, from_client)
        elif kind == _CONTINUATION:
            if stream_id != side.block_stream:
                self._give_up(side, "http2_unexpected_continuation")
                return
            side.block += payload
            if flags & _END_HEADERS:
                self._header_block(side, from_client)
        elif kind == _RST_STREAM:
            stream = self._streams.get(stream_id)
            if stream is not None:
                code = int.from_bytes(payload[:4]) if len(payload) >= 4 else -1
                for m in (stream.request, stream.response):
                    if m is not None and m.error is None:
                        m.error = f"stream reset (error code {code})"
                self._emit(stream, final=True)
                self._streams.pop(stream_id, None)
        elif kind == _GOAWAY:
            pass

    def _header_block(self, side: _Side, from_client: bool) -> None:
        from hpack import HPACKError

        block, stream_id, flags = bytes(side.block), side.block_stream, side.block_flags
        side.block = bytearray()
        side.block_stream = 0
        try:
            headers = side.decoder.decode(block, raw=True)
        except (HPACKError, ValueError, IndexError) as e:
            self._give_up(side, f"hpack_error {type(e).__name__}")
            return
        if flags & 0x100:  # PUSH_PROMISE: a request the server made up; not the app's
            return
        fields = tuple(
            (bytes(k).decode("latin-1"), bytes(v).decode("utf-8", "replace")) for k, v in headers
        )
        stream = self._streams.setdefault(stream_id, _Stream())
        if from_client:
            if stream.request is None:
                stream.request = Message(
                    ts=self.now,
                    first=_pseudo(fields, ":method").encode("latin-1"),
                    target=_pseudo(fields, ":path"),
                    version="HTTP/2.0",
                    headers=fields,
                )
            elif stream.request is not None:
                stream.request.headers += fields  # trailers
        else:
            status = _pseudo(fields, ":status")
            if status.startswith("1") and status != "101":
                return  # informational (103 Early Hints, 100 Continue)
            if stream.response is None:
                stream.response = Message(
                    ts=self.now,
                    first=status.encode("latin-1") if status.isdigit() else b"0",
                    target="",
                    version="HTTP/2.0",
                    headers=fields,
                )
            else:
                stream.response.headers += fields  # trailers
        if flags & _END_STREAM:
            self._end_stream(stream, from_client)

    def _end_stream(self, stream: _Stream, from_client: bool) -> None:
        if from_client:
            stream.request_done = True
            if stream.request is not None:
                stream.request.complete = True
        else:
            stream.response_done = True
            if stream.response is not None:
                stream.response.complete = True
        if stream.response_done:
            self._emit(stream, final=False)
            for key, value in list(self._streams.items()):
                if value is stream:
                    del self._streams[key]

    def _emit(self, stream: _Stream, *, final: bool) -> None:
        request, response = stream.request, stream.response
        if request is None:
            return  # a response to a request not seen (pushed, or before the capture)
        stream.request = None  # each exchange once
        if final and response is None and request.error is None:
            request.error = "no response"
        if response is not None and not response.complete and response.error is None:
            response.error = "connection ended mid-response"
        self.on_exchange(request, response)

    def _give_up(self, side: _Side, problem: str) -> bool:
        self.problems.append(problem)
        side.dead = True
        side.buf.clear()
        return False


def _unpad(payload: bytes) -> bytes:
    if not payload:
        return payload
    pad = payload[0]
    return payload[1 : len(payload) - pad] if pad < len(payload) else b""


def _pseudo(fields: tuple[tuple[str, str], ...], name: str) -> str:
    for k, v in fields:
        if k == name:
            return v
    return ""

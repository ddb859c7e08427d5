"""Content-Encoding: gzip, deflate, br and zstd, each streamed against an output limit.

A few kilobytes of gzip can expand to gigabytes, so no codec is ever asked for all of its
output at once: output is pulled in steps and decoding stops when the message's budget of
decoded bytes (``Limits.max_decoded``) is spent.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import brotli  # type: ignore[import-untyped]  # ships no py.typed; used only in _brotli
import zstandard

from borderflow.analysis.decode.budget import Budget

_STEP: Final = 64 * 1024  # output pulled from a codec per call
_ZSTD_MAX_WINDOW: Final = 8 * 1024 * 1024  # RFC 9659: HTTP zstd windows are at most 8 MB
GZIP_MAGIC: Final = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class _Output:
    data: bytes
    over_limit: bool = False  # stopped because the output limit was reached
    complete: bool = True  # the stream ended properly
    error: str | None = None  # the codec's complaint, if any


def _inflate(data: bytes, wbits: int, room: int) -> _Output:
    """zlib-family streams; gzip may hold several members back to back."""
    out = bytearray()
    inflater = zlib.decompressobj(wbits)
    pending = data
    try:
        while True:
            chunk = inflater.decompress(pending, _STEP)
            pending = inflater.unconsumed_tail
            out += chunk
            if len(out) > room:
                return _Output(bytes(out[:room]), over_limit=True)
            if inflater.eof:
                rest = inflater.unused_data
                if wbits == 31 and rest.startswith(GZIP_MAGIC):
                    inflater, pending = zlib.decompressobj(31), rest
                    continue
                return _Output(bytes(out))
            if not chunk and not pending:
                return _Output(bytes(out), complete=False)
    except zlib.error as exc:
        return _Output(bytes(out), error=str(exc))


def _gzip(data: bytes, room: int) -> _Output:
    return _inflate(data, 31, room)


def _deflate(data: bytes, room: int) -> _Output:
    """HTTP 'deflate' is meant to be zlib-wrapped, but servers often send it raw."""
    zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return _inflate(data, 15 if zlib_header else -15, room)


def _brotli(data: bytes, room: int) -> _Output:
    out = bytearray()
    decompressor = brotli.Decompressor()
    try:
        out += decompressor.process(data, output_buffer_limit=_STEP)
        while len(out) <= room and not decompressor.is_finished():
            chunk = decompressor.process(b"", output_buffer_limit=_STEP)
            if not chunk:  # all input used and the stream not finished: truncated
                break
            out += chunk
        finished: bool = decompressor.is_finished()
    except brotli.error as exc:
        return _Output(bytes(out), error=str(exc))
    if len(out) > room:
        return _Output(bytes(out[:room]), over_limit=True)
    return _Output(bytes(out), complete=finished)


def _zstd(data: bytes, room: int) -> _Output:
    out = bytearray()
    context = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
    try:
        with context.stream_reader(data, read_across_frames=True) as reader:
            while chunk := reader.read(_STEP):
                out += chunk
                if len(out) > room:
                    return _Output(bytes(out[:room]), over_limit=True)
    except zstandard.ZstdError as exc:
        return _Output(bytes(out), error=str(exc))
    return _Output(bytes(out))


CODECS: Final[dict[str, Callable[[bytes, int], _Output]]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}


def decompress(
    data: bytes, coding: str, budget: Budget, *, truncated: bool = False
) -> bytes | None:
    """One coding undone; None (and a problem) when nothing could be decoded.

    ``truncated`` says the input was already cut at ``max_body``, so an unfinished stream
    is expected and not reported.
    """
    codec = CODECS.get(coding)
    if codec is None:
        budget.problem("bad_content_encoding", f"unknown content-encoding {coding!r}")
        return None
    result = codec(data, budget.decoded_room)
    budget.decoded += len(result.data)
    if result.over_limit:
        budget.problem(
            "decompression_limit",
            f"{coding}: stopped after {budget.limits.max_decoded} decoded bytes",
        )
    elif result.error is not None:
        budget.problem("bad_content_encoding", f"{coding}: {result.error}")
    elif not result.complete and not truncated:
        budget.problem("bad_content_encoding", f"{coding}: stream ends early")
    if result.error is not None and not result.data:
        return None
    return result.data


def decode_content(
    data: bytes, content_encoding: str, budget: Budget, *, depth: int, truncated: bool = False
) -> tuple[bytes, tuple[str, ...]]:
    """Undo a Content-Encoding chain ("gzip, br": br is undone first), then sniff gzip.

    Returns the decoded bytes and the codings undone, in the order they were undone.
    A coding that fails stops the chain; what was decoded so far is kept.
    """
    steps: list[str] = []
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        if not data or budget.too_deep(depth + len(steps) + 1, "body/" + "/".join(steps)):
            break
        decoded = decompress(data, coding, budget, truncated=truncated)
        if decoded is None:
            break
        data = decoded
        steps.append(coding if coding != "x-gzip" else "gzip")
    # Bodies gzipped without saying so (or gzipped twice) are common in SDK traffic.
    while data.startswith(GZIP_MAGIC) and not budget.too_deep(depth + len(steps) + 1, "body"):
        decoded = decompress(data, "gzip", budget, truncated=truncated)
        if decoded is None:
            break
        data = decoded
        steps.append("gzip")
    return data, tuple(steps)


_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"


def _zlib(data: bytes, room: int) -> _Output:
    return _inflate(data, 15, room)


def sniff_coding(data: bytes) -> str | None:
    """The compression ``data`` starts like: gzip, zlib or zstd (brotli has no magic)."""
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if data.startswith(_ZSTD_MAGIC):
        return "zstd"
    if len(data) >= 2 and data[0] == 0x78 and (data[0] << 8 | data[1]) % 31 == 0:
        return "zlib"
    return None


def sniff_decompress(data: bytes, budget: Budget) -> tuple[str, bytes] | None:
    """Undo compression found by its magic bytes inside a value (base64 of gzip, ...).

    Unlike a Content-Encoding, nothing promised compression here, so a stream that does not
    decode is not a problem, only not compressed; hitting the output limit still is.
    """
    coding = sniff_coding(data)
    if coding is None:
        return None
    codec = _zlib if coding == "zlib" else CODECS[coding]
    result = codec(data, budget.decoded_room)
    budget.decoded += len(result.data)
    if result.over_limit:
        budget.problem(
            "decompression_limit",
            f"{coding}: stopped after {budget.limits.max_decoded} decoded bytes",
        )
    if not result.data:
        return None
    return coding, result.data  # a truncated stream still gives what it had

"""Replay mitmproxy flow files (.mitm) and HAR files through the live recorder's path.

mitmproxy's own reader parses both (it sniffs a leading ``{`` for HAR); every flow goes through
the same ``ConnTracker`` the live addon uses, so a replayed file yields the rows the proxy
would have written.
"""

from __future__ import annotations

import contextlib
import io as io_
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from mitmproxy import dns, exceptions, flow, http, io, tcp, udp

from borderflow.analysis.errors import InputError
from borderflow.analysis.records import Observation, SourceKind, Weird
from borderflow.analysis.sources.mitm import ConnTracker

_MAX_ZHAR = 1 << 30  # a compressed HAR larger than this once inflated is refused


def _is_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0


def sniff_kind(path: Path) -> SourceKind:
    """HAR when the file starts with a JSON object (or is zlib-compressed HAR, .zhar)."""
    with path.open("rb") as f:
        head = f.read(8)
    if _is_zlib(head):
        return SourceKind.HAR
    return (
        SourceKind.HAR if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else SourceKind.MITM
    )


@contextlib.contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    """The file, inflated first when it is a zlib-compressed HAR as mitmproxy writes .zhar."""
    with path.open("rb") as f:
        if not _is_zlib(f.read(2)):
            f.seek(0)
            yield f
            return
        f.seek(0)
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(f.read(), _MAX_ZHAR)
        except zlib.error as e:
            raise InputError(f"{path}: not a readable compressed HAR file ({e})") from e
        if inflater.unconsumed_tail:
            raise InputError(f"{path}: compressed HAR inflates to more than {_MAX_ZHAR} bytes")
        yield io_.BytesIO(data)


def observe_flows(
    path: Path,
    tracker: ConnTracker,
    *,
    kind: SourceKind,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Observation]:
    """Observations for every flow in ``path``, then for every connection they used.

    A file that breaks off part-way yields what was read before it, then a ``weird`` row and
    an ``InputError`` naming the file and the problem.
    """
    with _open(path) as f:
        flows = io.FlowReader(f).stream()
        index = 0
        try:
            for index, item in enumerate(flows):
                key = f"har:{index}" if kind is SourceKind.HAR else item.client_conn.id
                yield from _observe(tracker, key, item)
                if progress is not None:
                    progress(_position(f))
        except exceptions.FlowReadException as e:
            yield from tracker.close_all()
            yield Observation(
                records=(
                    Weird(
                        ts=0.0,
                        uid=None,
                        name="unreadable_flow_file",
                        addl=f"{path.name}: after {index} flows: {e}",
                        source=f"replay.{kind.value}",
                    ),
                )
            )
            raise InputError(f"{path}: not a readable {_describe(kind)} ({e})") from e
    yield from tracker.close_all()


def _observe(tracker: ConnTracker, key: str, item: flow.Flow) -> Iterator[Observation]:
    if isinstance(item, http.HTTPFlow):
        if item.websocket is not None:
            yield tracker.websocket(key, item)
        else:
            yield tracker.http_exchange(key, item)
    elif isinstance(item, tcp.TCPFlow | udp.UDPFlow):
        yield tracker.stream(key, item)
    elif isinstance(item, dns.DNSFlow):
        yield tracker.dns_query(key, item)


def _position(f: BinaryIO) -> int:
    try:
        return f.tell()
    except OSError:
        return 0


def _describe(kind: SourceKind) -> str:
    return "HAR file" if kind is SourceKind.HAR else "mitmproxy flow file"

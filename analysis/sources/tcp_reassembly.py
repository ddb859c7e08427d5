"""One direction of a TCP connection as a byte stream: in order, once, with gaps said aloud.

Segments arrive as captured: retransmitted, overlapping, out of order, or never (capture
loss). ``StreamReassembler`` delivers each byte of the stream once and in order to its sink;
where two segments disagree about a byte, the first one seen wins (what Wireshark does by
default). Out-of-order data waits until the hole is filled, until too much is waiting
(``max_pending``), or until the connection ends; then the hole is reported to the sink as a
gap of so many bytes and delivery goes on after it.

Sequence numbers are 32-bit and wrap; offsets here are 64-bit positions in the stream, each
segment placed next to the highest offset seen, so streams longer than 4 GiB stay in order.

A sink that needs no more data (a TLS connection without keys, once its hellos are read) says
so, and from then on segments are only counted, never copied.
"""

from __future__ import annotations

from typing import Final, Protocol

_MASK: Final = 0xFFFFFFFF
_HALF: Final = 1 << 31
_WRAP: Final = 1 << 32
DEFAULT_MAX_PENDING: Final = 4 << 20
_MAX_PENDING_PIECES: Final = 1024  # bounds the work of placing a piece (tiny-segment floods)


class StreamSink(Protocol):
    """Reads both directions of a connection in order; False: no more of this direction."""

    def data(self, from_client: bool, chunk: bytes) -> bool: ...

    def gap(self, from_client: bool, size: int) -> bool: ...


class StreamReassembler:
    """See the module docstring. ``sink`` None: count only.

    ``from_client`` says which direction this is when the sink is called: one sink reads
    both directions of a connection.
    """

    __slots__ = (
        "_base",
        "_high",
        "_next",
        "_pending",
        "_pending_bytes",
        "from_client",
        "gap_bytes",
        "max_pending",
        "sink",
    )

    def __init__(
        self,
        sink: StreamSink | None,
        from_client: bool,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.sink = sink
        self.from_client = from_client
        self.max_pending = max_pending
        self._base: int | None = None  # sequence number of stream offset 0
        self._next = 0  # offset of the next byte to deliver
        self._high = 0  # highest offset + 1 that any segment reached
        self._pending: dict[int, bytes | int] = {}  # int: that many bytes known missing
        self._pending_bytes = 0
        self.gap_bytes = 0

    @property
    def size(self) -> int:
        """Bytes of stream the segments covered (sequence space), like Zeek's orig_bytes."""
        return self._high

    def syn(self, seq: int) -> None:
        """The SYN's sequence number: the stream starts right after it."""
        if self._base is None:
            self._base = (seq + 1) & _MASK

    def _offset(self, seq: int) -> int:
        rel = (seq - self._base) & _MASK if self._base is not None else 0
        high = self._high
        return high + ((rel - high + _HALF) % _WRAP) - _HALF

    def segment(self, seq: int, data: bytes, wire_len: int = 0) -> None:
        """A segment's payload; ``wire_len`` > len(data) when the snap length cut it."""
        n = len(data)
        size = wire_len if wire_len > n else n
        if not size:
            return
        base = self._base
        if base is None:
            if size == 1 and n <= 1:
                return  # a keep-alive probe (one old byte): not where the stream starts
            base = self._base = seq  # picked up mid-stream: the first byte seen is offset 0
        high = self._high
        off = high + ((((seq - base) & _MASK) - high + _HALF) % _WRAP) - _HALF
        end = off + size
        if end > self._high:
            self._high = end
        if self.sink is None:
            return
        if n:
            self._place(off, data)
        if size > n and self.sink is not None:
            self._place(off + n, size - n)

    def _place(self, off: int, item: bytes | int) -> None:
        """Deliver or keep one piece: bytes, or (an int) that many bytes known to be missing."""
        nxt = self._next
        length = item if isinstance(item, int) else len(item)
        end = off + length
        if end <= nxt:
            return  # retransmitted: delivered already
        if off < nxt:
            item = end - nxt if isinstance(item, int) else item[nxt - off :]
            off = nxt
        if not self._pending:
            if off == nxt:
                self._deliver(item)
            else:
                self._keep(off, item)
            return
        # Bytes already waiting arrived first, and the first copy wins: place only the rest.
        for start, stop in self._uncovered(off, end):
            piece = stop - start if isinstance(item, int) else item[start - off : stop - off]
            if start == self._next:
                self._deliver(piece)
                if not self._live():
                    return
                self._drain()
            else:
                self._keep(start, piece)

    def _keep(self, off: int, item: bytes | int) -> None:
        """Hold a piece that arrived before the bytes ahead of it."""
        if off < 0:
            return
        self._pending[off] = item
        self._pending_bytes += item if isinstance(item, int) else len(item)
        if self._pending_bytes > self.max_pending or len(self._pending) > _MAX_PENDING_PIECES:
            self._skip_gap()

    def _uncovered(self, off: int, end: int) -> list[tuple[int, int]]:
        """The parts of [off, end) that no waiting piece covers, in order."""
        pieces = [(off, end)]
        for start, item in self._pending.items():
            stop = start + (item if isinstance(item, int) else len(item))
            if stop <= off or start >= end:
                continue
            rest = []
            for a, b in pieces:
                if stop <= a or start >= b:
                    rest.append((a, b))
                    continue
                if a < start:
                    rest.append((a, start))
                if stop < b:
                    rest.append((stop, b))
            pieces = rest
        return sorted(pieces)

    def _deliver(self, item: bytes | int) -> None:
        sink = self.sink
        if isinstance(item, int):
            self._next += item
            self.gap_bytes += item
            if sink is not None and not sink.gap(self.from_client, item) and self.sink is sink:
                self._stop()
            return
        self._next += len(item)
        if sink is not None and not sink.data(self.from_client, item) and self.sink is sink:
            self._stop()  # (unless the sink handed the stream over to another while reading)

    def _drain(self) -> None:
        pending = self._pending
        while pending and self.sink is not None:
            nxt = self._next
            ready = [o for o in pending if o <= nxt]
            if not ready:
                return
            for o in sorted(ready):
                item = pending.pop(o)
                length = item if isinstance(item, int) else len(item)
                self._pending_bytes -= length
                if not self._live():
                    return
                nxt = self._next
                if o + length <= nxt:
                    continue
                if o < nxt:  # overlap: the bytes delivered first win
                    item = o + length - nxt if isinstance(item, int) else item[nxt - o :]
                self._deliver(item)

    def _skip_gap(self) -> None:
        """Give up on the hole before the first waiting segment: report it, go on after it."""
        if not self._pending or self.sink is None:
            return
        first = min(self._pending)
        size = first - self._next
        if size > 0:
            self._deliver(size)
            if not self._live():
                return
        self._drain()

    def flush(self) -> None:
        """The connection is over: deliver whatever waits, gaps included."""
        while self._pending and self.sink is not None:
            self._skip_gap()
        self._pending.clear()

    def _live(self) -> bool:
        """Whether a sink still wants data (it may have stopped during the last delivery)."""
        return self.sink is not None

    def _stop(self) -> None:
        self.sink = None
        self._pending.clear()
        self._pending_bytes = 0

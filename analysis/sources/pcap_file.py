"""Read pcap and pcapng files, gzip-compressed or not, one packet at a time.

Classic pcap goes through scapy's ``RawPcapReader`` (raw bytes, no dissection). pcapng is read
by the small block reader below, because borderflow needs what scapy's reader drops or keeps
in global state: Decryption Secrets Blocks (TLS key logs), PCAPdroid's custom blocks (uid →
app), per-packet comments (PCAPdroid's ``u-<uid>``) and a clear line between a clean end and
a file cut short.

Nothing here holds more than one packet: the file is read as a stream. A damaged file raises
``CaptureDamaged`` after the last good packet; the caller keeps what was read before.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final, NamedTuple, cast

PCAP_MAGICS: Final = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC: Final = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC: Final = b"\x1f\x8b"

_MAX_PACKET: Final = 1 << 20  # a record longer than this is damage, not a packet
_CHUNK: Final = 1 << 20
_MAX_BLOCK: Final = 1 << 26  # pcapng blocks (a DSB can be large, but not this large)

# pcapng block types
_SHB: Final = 0x0A0D0D0A
_IDB: Final = 1
_PB: Final = 2  # obsolete Packet Block
_SPB: Final = 3
_EPB: Final = 6
_DSB: Final = 10
_CB_COPY: Final = 0x00000BAD
_CB_NOCOPY: Final = 0x40000BAD
TLS_KEY_LOG: Final = 0x544C534B  # DSB secrets type of a TLS key log, "TLSK"


class Frame(NamedTuple):
    """One captured packet: link-layer bytes as recorded (possibly cut to the snap length)."""

    ts: float
    linktype: int
    data: bytes
    wirelen: int
    comments: tuple[bytes, ...]  # pcapng opt_comment values; () in classic pcap


# One captured packet where it lies in the file's buffer: (ts, linktype, buffer, start, end,
# wirelen, comments), the frame's bytes being ``buffer[start:end]``. Copying each frame out
# of the buffer costs more than reading it (a large frame is a malloc and a memcpy), and
# metadata-only replay looks at few of its bytes.
Span = tuple[float, int, bytes, int, int, int, tuple[bytes, ...]]


class CaptureDamaged(Exception):
    """The file is cut short or corrupt at this point; ``str()`` says where and how."""


class NotACapture(Exception):
    """The file is not a pcap or pcapng file (or not readable gzip around one)."""


SecretsHandler = Callable[[int, bytes], None]  # (secrets type, secrets)
CustomBlockHandler = Callable[[int, bytes, bool], None]  # (enterprise number, data, LE?)


def sniff(path: Path) -> str | None:
    """``"pcap"``, ``"pcapng"`` or None, looking through gzip if the file is compressed."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
            if head[:2] == GZIP_MAGIC:
                f.seek(0)
                with gzip.GzipFile(fileobj=f) as g:
                    head = g.read(4)
    except (OSError, EOFError, zlib.error):
        return None
    if head in PCAP_MAGICS:
        return "pcap"
    if head == PCAPNG_MAGIC:
        return "pcapng"
    return None


class CaptureReader:
    """Iterate over a capture file's packets; see the module docstring.

    ``on_secrets`` receives each Decryption Secrets Block, ``on_custom_block`` each custom
    block, both before the packets that follow them in the file.
    """

    def __init__(
        self,
        path: Path,
        *,
        on_secrets: SecretsHandler | None = None,
        on_custom_block: CustomBlockHandler | None = None,
    ) -> None:
        self.path = path
        self.on_secrets = on_secrets
        self.on_custom_block = on_custom_block
        self.packets = 0
        self._raw: IO[bytes] = path.open("rb")
        self.compressed = self._raw.read(2) == GZIP_MAGIC
        self._f = self._stream()
        try:
            magic = self._f.read(4)
        except (OSError, EOFError, zlib.error) as e:
            self.close()
            raise NotACapture(f"not a readable gzip file ({e})") from e
        if magic in PCAP_MAGICS:
            self.format = "pcap"
        elif magic == PCAPNG_MAGIC:
            self.format = "pcapng"
        else:
            self.close()
            raise NotACapture("not a pcap or pcapng file")
        self._magic = magic

    def _stream(self) -> IO[bytes]:
        """The file from its start, inflated when it is gzip-compressed."""
        self._raw.seek(0)
        return cast(IO[bytes], _GzipStream(self._raw)) if self.compressed else self._raw

    def position(self) -> int:
        """Bytes of the file (compressed, when it is) read so far, for a progress bar."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        for ts, linktype, buf, start, end, wirelen, comments in self.spans():
            yield Frame(ts, linktype, buf[start:end], wirelen, comments)

    def spans(self) -> Iterator[Span]:
        """The packets as ``Span`` s: the fast way through a file (see ``Span``)."""
        if self.format == "pcap":
            return self._pcap()
        return self._pcapng()

    # -- classic pcap, through scapy --------------------------------------------------------

    def _pcap(self) -> Iterator[Span]:
        from scapy.error import Scapy_Exception
        from scapy.utils import RawPcapReader

        # scapy checks the file header (magic, byte order, link type); the records that
        # follow are cut out of 1 MiB reads here, which is several times faster than one
        # scapy call and two small reads per packet.
        self._f = self._stream()
        try:
            reader = RawPcapReader(self._f)  # type: ignore[arg-type]  # a file works too
        except (Scapy_Exception, EOFError, OSError, zlib.error) as e:
            raise CaptureDamaged(f"file header cut short or unreadable ({e})") from e
        endian, unit = PCAP_MAGICS[self._magic]
        linktype = reader.linktype & 0x0FFFFFFF  # the upper bits carry FCS information
        header = struct.Struct(endian + "IIII").unpack_from
        read = self._read_chunk
        buf = read()
        pos = 0
        size = len(buf)
        while True:
            if size - pos < 16:
                buf = buf[pos:] + read()
                pos, size = 0, len(buf)
                if size < 16:
                    if size:
                        raise CaptureDamaged(
                            f"cut short in a packet header after {self.packets} packets"
                        )
                    self._check_gzip_end()
                    return
            sec, frac, caplen, wirelen = header(buf, pos)
            end = pos + 16 + caplen
            if end > size:
                if caplen > _MAX_PACKET:
                    raise CaptureDamaged(
                        f"corrupt packet record after {self.packets} packets "
                        f"(captured length {caplen})"
                    )
                buf = buf[pos:] + read(max(_CHUNK, 16 + caplen))
                pos, size = 0, len(buf)
                end = 16 + caplen
                if end > size:
                    raise CaptureDamaged(f"cut short in the middle of packet {self.packets + 1}")
            self.packets += 1
            yield sec + frac * unit, linktype, buf, pos + 16, end, wirelen, ()
            pos = end

    def _read_chunk(self, size: int = 0) -> bytes:
        try:
            return self._f.read(size or _CHUNK)
        except (EOFError, OSError, zlib.error) as e:
            raise CaptureDamaged(
                f"compressed data cut short or corrupt after {self.packets} packets ({e})"
            ) from e

    def _check_gzip_end(self) -> None:
        if not self.compressed:
            return
        try:
            self._f.read(1)
        except (EOFError, OSError, zlib.error) as e:
            raise CaptureDamaged(f"compressed data cut short or corrupt ({e})") from e

    # -- pcapng -----------------------------------------------------------------------------

    def _read_exact(self, n: int, what: str) -> bytes:
        try:
            data = self._f.read(n)
        except (EOFError, OSError, zlib.error) as e:
            raise CaptureDamaged(
                f"compressed data cut short or corrupt after {self.packets} packets ({e})"
            ) from e
        if len(data) != n:
            raise CaptureDamaged(f"cut short in {what} after {self.packets} packets")
        return data

    def _pcapng(self) -> Iterator[Span]:
        # The first section header's type was read as the file's magic.
        endian = "<"
        interfaces: list[tuple[int, float, float]] = []  # linktype, seconds per unit, offset
        last_ts = 0.0
        block_type: int | None = _SHB
        while block_type is not None:
            if block_type == _SHB:
                endian = self._section_header()
                interfaces = []  # interface ids restart in every section
            else:
                (length,) = struct.unpack(endian + "I", self._read_exact(4, "a block header"))
                self._check_length(length)
                body = self._read_exact(length - 12, "a block")
                tail = self._read_exact(4, "a block")
                if struct.unpack(endian + "I", tail)[0] != length:
                    raise CaptureDamaged(
                        f"corrupt block after {self.packets} packets (lengths disagree)"
                    )
                span = self._block(block_type, body, endian, interfaces, last_ts)
                if span is not None:
                    last_ts = span[0]
                    self.packets += 1
                    yield span
            block_type = self._next_type(endian)

    def _section_header(self) -> str:
        """Read a section header block after its type; returns the section's byte order."""
        head = self._read_exact(8, "a section header")
        bom = head[4:8]
        if bom == b"\x4d\x3c\x2b\x1a":
            endian = "<"
        elif bom == b"\x1a\x2b\x3c\x4d":
            endian = ">"
        else:
            raise CaptureDamaged("corrupt section header (bad byte-order magic)")
        (length,) = struct.unpack(endian + "I", head[:4])
        self._check_length(length)
        if length < 28:
            raise CaptureDamaged("corrupt section header (too short)")
        self._read_exact(length - 16, "a section header")
        if struct.unpack(endian + "I", self._read_exact(4, "a section header"))[0] != length:
            raise CaptureDamaged("corrupt section header (lengths disagree)")
        return endian

    def _next_type(self, endian: str) -> int | None:
        try:
            raw = self._f.read(4)
        except (EOFError, OSError, zlib.error) as e:
            raise CaptureDamaged(
                f"compressed data cut short or corrupt after {self.packets} packets ({e})"
            ) from e
        if not raw:
            self._check_gzip_end()
            return None
        if len(raw) < 4:
            raise CaptureDamaged(f"cut short in a block header after {self.packets} packets")
        if raw == PCAPNG_MAGIC:
            return _SHB
        return int(struct.unpack(endian + "I", raw)[0])

    def _check_length(self, length: int) -> None:
        if length < 12 or length % 4 or length > _MAX_BLOCK:
            raise CaptureDamaged(f"corrupt block after {self.packets} packets (length {length})")

    def _block(
        self,
        block_type: int,
        body: bytes,
        endian: str,
        interfaces: list[tuple[int, float, float]],
        last_ts: float,
    ) -> Span | None:
        if block_type == _EPB:
            if len(body) < 20:
                raise CaptureDamaged(f"corrupt packet block after {self.packets} packets")
            iface, hi, lo, caplen, wirelen = struct.unpack_from(endian + "IIIII", body)
            if 20 + caplen > len(body) or iface >= len(interfaces):
                raise CaptureDamaged(f"corrupt packet block after {self.packets} packets")
            linktype, unit, offset = interfaces[iface]
            options = body[20 + caplen + (-caplen % 4) :]
            comments = _comments(options, endian) if options else ()
            ts = ((hi << 32) | lo) * unit + offset
            return ts, linktype, body, 20, 20 + caplen, wirelen, comments
        if block_type == _SPB:
            if len(body) < 4 or not interfaces:
                raise CaptureDamaged(f"corrupt packet block after {self.packets} packets")
            (wirelen,) = struct.unpack_from(endian + "I", body)
            return last_ts, interfaces[0][0], body, 4, min(4 + wirelen, len(body)), wirelen, ()
        if block_type == _PB:
            if len(body) < 20:
                raise CaptureDamaged(f"corrupt packet block after {self.packets} packets")
            iface, _drops, hi, lo, caplen, wirelen = struct.unpack_from(endian + "HHIIII", body)
            if 20 + caplen > len(body) or iface >= len(interfaces):
                raise CaptureDamaged(f"corrupt packet block after {self.packets} packets")
            linktype, unit, offset = interfaces[iface]
            options = body[20 + caplen + (-caplen % 4) :]
            comments = _comments(options, endian) if options else ()
            ts = ((hi << 32) | lo) * unit + offset
            return ts, linktype, body, 20, 20 + caplen, wirelen, comments
        if block_type == _IDB:
            if len(body) < 8:
                raise CaptureDamaged("corrupt interface description block")
            linktype = struct.unpack_from(endian + "H", body)[0]
            unit, offset = 1e-6, 0.0
            for code, value in _options(body[8:], endian):
                if code == 9 and value:  # if_tsresol
                    v = value[0]
                    unit = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v
                elif code == 14 and len(value) == 8:  # if_tsoffset, seconds
                    offset = float(struct.unpack(endian + "q", value)[0])
            interfaces.append((linktype, unit, offset))
            return None
        if block_type == _DSB:
            if len(body) >= 8 and self.on_secrets is not None:
                secrets_type, secrets_len = struct.unpack_from(endian + "II", body)
                self.on_secrets(secrets_type, body[8 : 8 + secrets_len])
            return None
        if block_type in (_CB_COPY, _CB_NOCOPY):
            if len(body) >= 4 and self.on_custom_block is not None:
                (pen,) = struct.unpack_from(endian + "I", body)
                self.on_custom_block(pen, body[4:], endian == "<")
            return None
        return None  # statistics, name resolution, process information, unknown blocks


class _GzipStream:
    """A gzip file inflated as it is read, which, unlike ``gzip.GzipFile``, hands out every
    byte before the place where a cut-short file ends (GzipFile drops the whole last read)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buf = bytearray()
        self._cut_short: str | None = None
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        while len(self._buf) < want and not self._eof:
            self._fill()
        if not self._buf and self._cut_short is not None:
            raise EOFError(self._cut_short)
        data = bytes(self._buf[:want])
        del self._buf[:want]
        return data

    def _fill(self) -> None:
        chunk = self._raw.read(1 << 16)
        if not chunk:
            self._eof = True
            if not self._inflater.eof and self._inflater.unused_data == b"":
                self._cut_short = (
                    "Compressed file ended before the end-of-stream marker was reached"
                )
            return
        while chunk:
            self._buf += self._inflater.decompress(chunk)
            if not self._inflater.eof:
                return
            chunk = self._inflater.unused_data  # another gzip member follows (concatenated files)
            if chunk.strip(b"\0"):
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                return

    def tell(self) -> int:
        raise OSError("not seekable")

    def close(self) -> None:
        return None


def _options(data: bytes, endian: str) -> Iterator[tuple[int, bytes]]:
    off, end = 0, len(data)
    fmt = endian + "HH"
    while off + 4 <= end:
        code, length = struct.unpack_from(fmt, data, off)
        if code == 0:
            return
        value = data[off + 4 : off + 4 + length]
        if len(value) != length:
            return
        yield code, value
        off += 4 + length + (-length % 4)


def _comments(options: bytes, endian: str) -> tuple[bytes, ...]:
    return tuple(value for code, value in _options(options, endian) if code == 1)

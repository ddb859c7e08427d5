"""PCAPdroid's app tags: which Android app (uid) sent each packet of a device capture.

Two forms, both written by PCAPdroid with "dump extensions" on (its ``pcap_dump.c``):

* classic pcap: every frame is a fake 14-byte Ethernet header with zeroed addresses, the IP
  packet, 0-3 zero bytes, then a 32-byte trailer: big-endian magic 0x01072021, big-endian uid
  (-1 when unknown), a 20-byte NUL-terminated app *label* (UTF-8 cut at 19 bytes, so a long
  Chinese label can end mid-character) and a CRC-32;
* pcapng: a custom block (type 0x0BAD, private enterprise number 62652) maps each uid to its
  package and app name, and every packet carries an ``u-<uid>`` comment.

The package name is the better key (it is what ``--app`` takes); the trailer only has the
label.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

TRAILER_MAGIC: Final = b"\x01\x07\x20\x21"
TRAILER_LEN: Final = 32
PEN: Final = 62652  # IANA private enterprise number of PCAPdroid
_UID_MAP: Final = 1  # custom block record type: uid -> package, app name


class AppTag(NamedTuple):
    """The app one packet belongs to."""

    uid: int
    name: str | None  # the package name when known, else the app label


class UidMapEntry(NamedTuple):
    package: str
    app_name: str


def parse_trailer(frame: bytes) -> tuple[AppTag, bytes]:
    """The app tag of a trailer-carrying frame, and the frame without its trailer."""
    tail = frame[-TRAILER_LEN:]
    (uid,) = struct.unpack_from("!i", tail, 4)
    label = decode_label(tail[8:28])
    return AppTag(uid, label or None), frame[:-TRAILER_LEN]


def decode_label(raw: bytes) -> str:
    """A NUL-terminated UTF-8 label; an incomplete last character (cut at 19 bytes) is dropped."""
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data":
            return raw[: e.start].decode("utf-8", "replace")
        return raw.decode("utf-8", "replace")


def parse_uid_map(data: bytes, *, little_endian: bool) -> tuple[int, UidMapEntry] | None:
    """One uid-map custom block's content (after the enterprise number), or None if not one."""
    if len(data) < 10:
        return None
    order = "<" if little_endian else ">"
    version, kind = struct.unpack_from(order + "HB", data)
    if version != 1 or kind != _UID_MAP:
        return None
    (uid,) = struct.unpack_from(order + "i", data, 4)
    package_len, app_len = data[8], data[9]
    if 10 + package_len + app_len > len(data):
        return None
    package = data[10 : 10 + package_len].decode("utf-8", "replace")
    app = data[10 + package_len : 10 + package_len + app_len].decode("utf-8", "replace")
    return uid, UidMapEntry(package, app)


def uid_of_comment(comment: bytes) -> int | None:
    """The uid in a ``u-<uid>`` packet comment, else None."""
    if not comment.startswith(b"u-"):
        return None
    try:
        return int(comment[2:].rstrip(b"\0"))
    except ValueError:
        return None


def build_trailer(uid: int, label: str, frame: bytes) -> bytes:
    """``frame`` (fake Ethernet + IP) padded and given a trailer, as PCAPdroid writes it."""
    import zlib

    padded = frame + b"\0" * (-len(frame) % 4)
    name = label.encode("utf-8")[:19].ljust(20, b"\0")
    body = padded + TRAILER_MAGIC + struct.pack("!i", uid) + name
    return body + struct.pack("<I", zlib.crc32(body))


def build_uid_map(uid: int, package: str, app_name: str, *, little_endian: bool = True) -> bytes:
    """A uid-map custom block's content after the enterprise number (for test captures)."""
    order = "<" if little_endian else ">"
    p, a = package.encode(), app_name.encode()
    return struct.pack(order + "HBBiBB", 1, _UID_MAP, 0, uid, len(p), len(a)) + p + a

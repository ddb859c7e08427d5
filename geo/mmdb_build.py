"""Write a MaxMind DB (.mmdb) file from sorted address ranges: the few features borderflow needs.

Why our own writer: the default ASN data comes as CSV ranges and must be converted once on the
user's machine. ``mmdb-writer`` (a dev dependency) builds the tree from netaddr IP sets: about
40 s and 0.5 GB for the full ASN table, and two runtime dependencies. Ranges arrive sorted and
disjoint, so a recursive split of the address space over the sorted list builds the same
search tree in a few seconds with two flat integer arrays. Tests check every file written here
against the ``maxminddb`` reader and against ``mmdb-writer``'s output.

Format: https://maxmind.github.io/MaxMind-DB/ (version 2.0). One IPv6 tree; IPv4 ranges live
at ``::/96``, where readers look for IPv4 addresses in an IPv6 database.
"""

from __future__ import annotations

import struct
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

type Value = str | int | float | bool | Sequence[Value] | Mapping[str, Value]

_METADATA_START = b"\xab\xcd\xefMaxMind.com"
_V6_BITS = 128
_EMPTY = -1  # a record that answers "not found"
# Records of the tree under construction: >= 0 is a node, _EMPTY is nothing, <= -2 is data
# value number -(record + 2). Real record values are known only once the tree is complete.


class MmdbBuildError(ValueError):
    """The ranges or values cannot be written as a MaxMind DB."""


def build_mmdb(
    path: Path,
    ranges: Iterable[tuple[int, int, int]],
    values: Sequence[Mapping[str, Value]],
    *,
    database_type: str,
    description: str,
    languages: Sequence[str] = ("en",),
    build_epoch: int | None = None,
    min_record_size: int = 24,
) -> int:
    """Write ``path`` from ``(first, last, value_index)`` ranges; returns the node count.

    Addresses are integers in the IPv6 space (an IPv4 address is its 32-bit value, i.e. it sits
    in ``::/96``). Ranges are inclusive and must be sorted by ``first``; overlaps are clipped in
    favour of the earlier range. The file is written to a temporary name and renamed, so a
    reader never sees half a database. The smallest record size (24, 28 or 32 bits, at least
    ``min_record_size``) that can address the tree and data is used.
    """
    merged = _merge(ranges)
    left = array("q")
    right = array("q")
    _build_tree(merged, left, right)
    node_count = len(left)

    data, offsets = _encode_values(values)
    max_record = node_count + 16 + len(data)
    sizes = [s for s in (24, 28, 32) if s >= min_record_size]
    record_size = next((s for s in sizes if max_record < (1 << s)), 0)
    if not record_size:
        raise MmdbBuildError(f"{path}: database too large for a 32-bit record size")

    def resolve(record: int) -> int:
        if record >= 0:
            return record
        if record == _EMPTY:
            return node_count
        return node_count + 16 + offsets[-record - 2]

    tree = _encode_tree(left, right, resolve, record_size)
    metadata = _encode(
        {
            "binary_format_major_version": _Uint16(2),
            "binary_format_minor_version": _Uint16(0),
            "build_epoch": _Uint64(int(time.time()) if build_epoch is None else build_epoch),
            "database_type": database_type,
            "description": {"en": description},
            "ip_version": _Uint16(6),
            "languages": list(languages),
            "node_count": _Uint32(node_count),
            "record_size": _Uint16(record_size),
        },
        None,
    )
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as f:
        f.write(tree)
        f.write(b"\x00" * 16)
        f.write(data)
        f.write(_METADATA_START)
        f.write(metadata)
    tmp.replace(path)
    return node_count


def _merge(ranges: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Sorted, disjoint ranges, with neighbours that share a value joined into one."""
    out: list[tuple[int, int, int]] = []
    last_end = -1
    for first, last, value in ranges:
        if first < 0 or last >= 1 << _V6_BITS or first > last:
            raise MmdbBuildError(f"bad range {first}-{last}")
        if out and first < out[-1][0]:
            raise MmdbBuildError("ranges are not sorted by their first address")
        first = max(first, last_end + 1)  # clip an overlap: the earlier range wins
        if first > last:
            continue
        if out and out[-1][1] + 1 == first and out[-1][2] == value:
            out[-1] = (out[-1][0], last, value)
        else:
            out.append((first, last, value))
        last_end = last
    return out


def _build_tree(ranges: list[tuple[int, int, int]], left: array[int], right: array[int]) -> None:
    """Split the address space in halves until each half is one range or none (pre-order)."""
    n = len(ranges)

    def record(lo: int, bits: int, i: int) -> tuple[int, int]:
        """The record for block ``lo`` of size 2**bits, and the first range not yet used up."""
        hi = lo + (1 << bits) - 1
        while i < n and ranges[i][1] < lo:
            i += 1
        if i == n or ranges[i][0] > hi:
            return _EMPTY, i
        first, last, value = ranges[i]
        if first <= lo and last >= hi:
            return -value - 2, i
        node = len(left)
        left.append(0)
        right.append(0)
        half = bits - 1
        left[node], i = record(lo, half, i)
        right[node], i = record(lo + (1 << half), half, i)
        return node, i

    root, _ = record(0, _V6_BITS, 0)
    if root < 0:  # the whole space is one answer or none: still write a root node
        left.append(root)
        right.append(root)


def _encode_tree(
    left: array[int], right: array[int], resolve: Callable[[int], int], record_size: int
) -> bytes:
    out = bytearray()
    if record_size == 24:
        for a, b in zip(left, right, strict=True):
            out += (resolve(a) << 24 | resolve(b)).to_bytes(6, "big")
    elif record_size == 28:
        for a, b in zip(left, right, strict=True):
            ra, rb = resolve(a), resolve(b)
            middle = (ra >> 24) << 4 | (rb >> 24)
            out += (ra & 0xFFFFFF).to_bytes(3, "big")
            out.append(middle)
            out += (rb & 0xFFFFFF).to_bytes(3, "big")
    else:
        for a, b in zip(left, right, strict=True):
            out += struct.pack(">II", resolve(a), resolve(b))
    return bytes(out)


def _encode_values(values: Sequence[Mapping[str, Value]]) -> tuple[bytes, list[int]]:
    """The data section, and the offset of each value in it; repeated strings become pointers."""
    data = bytearray()
    strings: dict[str, int] = {}
    offsets = []
    for value in values:
        offsets.append(len(data))
        data += _encode(value, strings, base=len(data))
    return bytes(data), offsets


class _Uint16(int):
    pass


class _Uint32(int):
    pass


class _Uint64(int):
    pass


def _control(type_: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    elif size < 65821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_ <= 7:
        return bytes([type_ << 5 | head]) + extra
    return bytes([head, type_ - 7]) + extra


def _pointer(offset: int) -> bytes:
    if offset < 1 << 11:
        return bytes([0x20 | offset >> 8, offset & 0xFF])
    if offset < (1 << 19) + 2048:
        v = offset - 2048
        return bytes([0x28 | v >> 16]) + (v & 0xFFFF).to_bytes(2, "big")
    if offset < (1 << 27) + 526336:
        v = offset - 526336
        return bytes([0x30 | v >> 24]) + (v & 0xFFFFFF).to_bytes(3, "big")
    return b"\x38" + offset.to_bytes(4, "big")


def _uint(type_: int, value: int, width: int) -> bytes:
    if value < 0 or value >= 1 << (8 * width):
        raise MmdbBuildError(f"{value} does not fit in {width} bytes")
    payload = value.to_bytes(width, "big").lstrip(b"\x00")
    return _control(type_, len(payload)) + payload


def _encode(value: Value, strings: dict[str, int] | None, base: int = 0) -> bytes:
    """One value; with ``strings``, a string seen before is written as a pointer to it."""
    out = bytearray()

    def put(v: Value) -> None:
        if isinstance(v, bool):
            out.extend(_control(14, int(v)))
        elif isinstance(v, _Uint16):
            out.extend(_uint(5, v, 2))
        elif isinstance(v, _Uint32):
            out.extend(_uint(6, v, 4))
        elif isinstance(v, _Uint64):
            out.extend(_uint(9, v, 8))
        elif isinstance(v, int):
            if v < 0:
                if v < -(1 << 31):
                    raise MmdbBuildError(f"{v} does not fit in int32")
                out.extend(_control(8, 4) + struct.pack(">i", v))
            elif v < 1 << 32:
                out.extend(_uint(6, v, 4))
            else:
                out.extend(_uint(9, v, 8))
        elif isinstance(v, float):
            out.extend(_control(3, 8) + struct.pack(">d", v))
        elif isinstance(v, str):
            if strings is not None and v in strings:
                out.extend(_pointer(strings[v]))
                return
            raw = v.encode()
            if strings is not None:
                strings[v] = base + len(out)
            out.extend(_control(2, len(raw)) + raw)
        elif isinstance(v, Mapping):
            out.extend(_control(7, len(v)))
            for key, item in v.items():
                put(key)
                put(item)
        else:
            out.extend(_control(11, len(v)))
            for item in v:
                put(item)

    put(value)
    return bytes(out)

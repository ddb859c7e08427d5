"""Protocol Buffers without a schema: walk the wire format and guess what each field holds.

Without the .proto file only the wire types are known, so each length-delimited field is
guessed: printable UTF-8 is a string, bytes that parse completely as a message are a
sub-message, anything else stays bytes (sniffed later: gzip, JSON, ...). 64-bit fixed fields
are read as doubles when that gives an ordinary number (coordinates are doubles), else as
integers. Paths use field numbers: ``body/protobuf:$.2[1].4`` is field 4 of the second
field-2 sub-message. Keys are the field numbers, which no key-name rule matches, so only
detectors that judge a value by itself (and profile matching) find data here.

A buffer of random bytes rarely parses completely: wire types 3, 4, 6 and 7 and field number
0 are rejected, and every length must fit. When the content type does not promise protobuf,
``plausible`` asks for more before a buffer is believed to be one.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.text import printable_text

_MAX_FIELD_NUMBER: Final = (1 << 29) - 1
_SNIFF_MAX_FIELD_NUMBER: Final = 1 << 14  # real schemas rarely number fields this high
_MAX_NESTING: Final = 12  # sub-message guesses; each level re-reads its bytes once


@dataclass(frozen=True, slots=True)
class _Entry:
    number: int
    value: str | bytes | list[_Entry]  # text, raw bytes, or a sub-message
    delimited: bool = False  # wire type 2: a string, bytes or a sub-message


def decode_protobuf(
    data: bytes, prefix: str, key: str, budget: Budget, *, depth: int, sniffed: bool
) -> list[Group] | None:
    """Groups of the message in ``data``; None when it does not parse (or, sniffed, is
    not plausibly protobuf). A promised message that does not parse is a problem."""
    path = f"{prefix}/protobuf:$"
    if budget.too_deep(depth, path):
        return None
    message = parse(data, nesting=0)
    if message is None or (sniffed and not plausible(message)):
        if not sniffed:
            budget.problem("unparsable_protobuf", f"{prefix}: not a complete protobuf message")
        return None
    groups: list[Group] = []
    stack: list[tuple[list[_Entry], str, str, int]] = [(message, path, key, depth)]
    while stack:
        entries, where, name, level = stack.pop()
        if budget.too_deep(level, where):
            continue
        counts: dict[int, int] = {}
        for entry in entries:
            counts[entry.number] = counts.get(entry.number, 0) + 1
        seen: dict[int, int] = {}
        fields: list[Field] = []
        nested: list[tuple[list[_Entry], str, str, int]] = []
        for entry in entries:
            child = f"{where}.{entry.number}"
            if counts[entry.number] > 1:
                index = seen.get(entry.number, 0)
                seen[entry.number] = index + 1
                child = f"{child}[{index}]"
            if isinstance(entry.value, list):
                nested.append((entry.value, child, str(entry.number), level + 1))
            elif budget.take_field(child):
                text, raw = (
                    ("", entry.value) if isinstance(entry.value, bytes) else (entry.value, None)
                )
                fields.append(Field(child, str(entry.number), text, raw))
        groups.append(Group(where, name, tuple(fields)))
        stack.extend(reversed(nested))
    return groups


def plausible(message: list[_Entry]) -> bool:
    """More than a lucky parse: small field numbers and at least two fields or a string."""
    if not message or any(e.number > _SNIFF_MAX_FIELD_NUMBER for e in message):
        return False
    return len(message) >= 2 or message[0].delimited


def parse(data: bytes, *, nesting: int) -> list[_Entry] | None:
    """The entries of one message, or None unless every byte is consumed correctly."""
    entries: list[_Entry] = []
    position, end = 0, len(data)
    while position < end:
        tag, position = _varint(data, position)
        if tag is None:
            return None
        number, wire = tag >> 3, tag & 7
        if not 0 < number <= _MAX_FIELD_NUMBER:
            return None
        if wire == 0:
            value, position = _varint(data, position)
            if value is None:
                return None
            entries.append(_Entry(number, str(value - (1 << 64) if value >= 1 << 63 else value)))
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if position + size > end:
                return None
            entries.append(_Entry(number, _fixed(data[position : position + size])))
            position += size
        elif wire == 2:
            length, position = _varint(data, position)
            if length is None or position + length > end:
                return None
            chunk = data[position : position + length]
            position += length
            entries.append(_Entry(number, _length_delimited(chunk, nesting), delimited=True))
        else:  # 3 and 4 (groups, deprecated) and the undefined 6 and 7
            return None
    return entries


def _length_delimited(chunk: bytes, nesting: int) -> str | bytes | list[_Entry]:
    text = printable_text(chunk)
    if text is not None:
        return text
    if chunk and nesting < _MAX_NESTING:
        inner = parse(chunk, nesting=nesting + 1)
        if inner:
            return inner
    return chunk


def _varint(data: bytes, position: int) -> tuple[int | None, int]:
    value = shift = 0
    for index in range(position, min(position + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    return None, position


def _fixed(raw: bytes) -> str:
    """A double or float when that reads as an ordinary number, else the unsigned integer."""
    if len(raw) == 8:
        (number,) = struct.unpack("<d", raw)
        if math.isfinite(number) and (number == 0 or 1e-7 <= abs(number) < 1e15):
            return repr(number)
        return str(int.from_bytes(raw, "little"))
    (single,) = struct.unpack("<f", raw)
    if math.isfinite(single) and single != 0 and 1e-5 <= abs(single) < 1e7:
        return f"{single:.7g}"
    return str(int.from_bytes(raw, "little"))

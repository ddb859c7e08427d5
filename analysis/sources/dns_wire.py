"""DNS messages from their wire format (RFC 1035), for captures: headers, questions, answers.

Pure and defensive: compression pointers are followed with a loop guard, every length is
checked, and a message that does not parse gives ``None`` (a truncated answer section keeps
the questions and the answers read before it, as tshark shows them).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
from typing import Final, NamedTuple

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_MAX_POINTERS: Final = 64
ROOT: Final = "<Root>"  # the root name, spelt as Wireshark spells it

_A: Final = 1
_NS: Final = 2
_CNAME: Final = 5
_PTR: Final = 12
_AAAA: Final = 28


class Question(NamedTuple):
    name: str
    qtype: int


class Answer(NamedTuple):
    name: str
    rtype: int
    text: str  # the address or name; TYPE:hex for other record types


class DnsMessage(NamedTuple):
    trans_id: int
    response: bool
    opcode: int
    rcode: int
    questions: tuple[Question, ...]
    answers: tuple[Answer, ...]


class _Bad(Exception):
    pass


def _name(data: bytes, off: int) -> tuple[str, int]:
    """The name at ``off`` and the offset after it (after the first pointer, if any)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    n = len(data)
    while True:
        if off >= n:
            raise _Bad
        length = data[off]
        if length == 0:
            off += 1
            break
        if length & 0xC0 == 0xC0:
            if off + 1 >= n:
                raise _Bad
            if end < 0:
                end = off + 2
            jumps += 1
            if jumps > _MAX_POINTERS:
                raise _Bad
            off = ((length & 0x3F) << 8) | data[off + 1]
            continue
        if length & 0xC0:
            raise _Bad  # extended label types (RFC 6891 dropped them)
        if off + 1 + length > n:
            raise _Bad
        labels.append(data[off + 1 : off + 1 + length].decode("utf-8", "replace"))
        off += 1 + length
    return (".".join(labels) if labels else ROOT), (end if end >= 0 else off)


def parse(data: bytes) -> DnsMessage | None:
    """A DNS message, or None when not even its header and questions parse."""
    if len(data) < 12:
        return None
    trans_id, flags, qd, an, _ns, _ar = _HEADER.unpack_from(data)
    off = 12
    questions: list[Question] = []
    try:
        for _ in range(qd):
            name, off = _name(data, off)
            if off + 4 > len(data):
                raise _Bad
            questions.append(Question(name, struct.unpack_from("!H", data, off)[0]))
            off += 4
    except _Bad:
        return None
    answers: list[Answer] = []
    try:
        for _ in range(an):
            name, off = _name(data, off)
            if off + 10 > len(data):
                break
            rtype, _cls, _ttl, rdlen = _RR.unpack_from(data, off)
            off += 10
            if off + rdlen > len(data):
                break
            answers.append(Answer(name, rtype, _rdata_text(data, off, rtype, rdlen)))
            off += rdlen
    except _Bad:
        pass
    return DnsMessage(
        trans_id=trans_id,
        response=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0x0F,
        rcode=flags & 0x0F,
        questions=tuple(questions),
        answers=tuple(answers),
    )


def _rdata_text(data: bytes, off: int, rtype: int, rdlen: int) -> str:
    rdata = data[off : off + rdlen]
    if rtype == _A and rdlen == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)  # as ipaddress spells it, quicker
    if rtype == _AAAA and rdlen == 16:
        return str(ipaddress.IPv6Address(rdata))
    if rtype in (_CNAME, _PTR, _NS):
        try:
            return _name(data, off)[0]
        except _Bad:
            pass
    from mitmproxy.net.dns import types

    return f"{types.to_str(rtype)}:{rdata.hex()}"


@functools.cache
def type_name(qtype: int) -> str:
    """The record type's mnemonic, as mitmproxy spells it for live DNS."""
    from mitmproxy.net.dns import types

    return types.to_str(qtype)


def looks_like_dns(data: bytes) -> bool:
    """Whether a UDP payload on an unusual port is a DNS message (a strict heuristic).

    One question of class IN, a standard query or its answer, and every section parses to
    exactly the end of the datagram: random or encrypted payloads almost never pass.
    """
    if len(data) < 17:
        return False
    _tid, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    if qd != 1 or (flags >> 11) & 0x0F or flags & 0x0040 or max(an, ns, ar) > 64:
        return False
    if not flags & 0x8000 and (an or ns or ar > 1):
        return False
    try:
        _name_text, off = _name(data, 12)
        if off + 4 > len(data) or struct.unpack_from("!H", data, off + 2)[0] not in (1, 255):
            return False
        off += 4
        for _ in range(an + ns + ar):
            _name_text, off = _name(data, off)
            if off + 10 > len(data):
                return False
            off += 10 + _RR.unpack_from(data, off)[3]
    except _Bad:
        return False
    return off == len(data)

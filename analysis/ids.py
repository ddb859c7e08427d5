"""Identifiers: connection uids, capture ids and the Community ID flow hash.

uids are derived from their input (a file's hash and a flow's position or id), never random,
so replaying the same file twice gives the same rows.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct

_PROTO_NUMBERS = {"tcp": 6, "udp": 17}


def derived_id(prefix: str, *parts: str) -> str:
    """``prefix`` + 16 base32 characters of the SHA-256 of ``parts``, Zeek's uid shape."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:16]


def community_id(proto: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int) -> str | None:
    """Community ID v1 (seed 0) of a TCP or UDP flow, as Zeek and Suricata compute it.

    Returns None for addresses that are not IP literals (the hash is defined over addresses).
    """
    number = _PROTO_NUMBERS.get(proto)
    try:
        src = ipaddress.ip_address(orig_h).packed
        dst = ipaddress.ip_address(resp_h).packed
    except ValueError:
        return None
    if number is None or len(src) != len(dst):
        return None
    sport, dport = orig_p, resp_p
    if (src, sport) > (dst, dport):
        src, dst, sport, dport = dst, src, dport, sport
    data = struct.pack("!H", 0) + src + dst + struct.pack("!BBHH", number, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()

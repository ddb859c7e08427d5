"""From link-layer bytes to TCP and UDP segments: hand-written header parsing, no dissection.

Link types: Ethernet (with 802.1Q/802.1ad VLAN tags, PPPoE sessions and MPLS), raw IPv4/IPv6
(PCAPdroid's dumps), Linux cooked SLL and SLL2, BSD loopback/null, NFLOG. IPv4 and IPv6 (with
extension headers) are reassembled from fragments. Tunnels are opened so that the flows inside
count, as tshark counts them: IP-in-IP, GRE (also carrying Ethernet or ERSPAN), VXLAN and
Geneve; the tunnel's own UDP flow is reported too.

Full scapy dissection runs at a fraction of tshark's speed; this module is ``struct`` and slices
only, and allocates one small tuple per segment. The commonest frame (Ethernet, IPv4 without
options or fragments, TCP or UDP) does not come here: the replay's loop (``pcap._read``) reads
it in place, which saves most of the per-packet cost.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from borderflow.analysis.sources.pcapdroid import TRAILER_MAGIC, AppTag, parse_trailer

TCP: Final = 6
UDP: Final = 17

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_TCP_HDR = struct.Struct("!HHIIBB")
_UDP_HDR = struct.Struct("!HHH")

_ETH_IPV4: Final = 0x0800
_ETH_IPV6: Final = 0x86DD
_ETH_VLAN: Final = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_ETH_PPPOE_SESSION: Final = 0x8864
_ETH_MPLS: Final = frozenset({0x8847, 0x8848})
_ETH_TEB: Final = 0x6558  # transparent Ethernet bridging (GRE carrying Ethernet)
_ERSPAN_II: Final = 0x88BE
_ERSPAN_III: Final = 0x22EB

_VXLAN_PORT: Final = 4789
_VXLAN_GPE_PORT: Final = 4790
_GENEVE_PORT: Final = 6081
_L2TP_PORT: Final = 1701
TUNNEL_PORTS: Final = frozenset({_VXLAN_PORT, _VXLAN_GPE_PORT, _GENEVE_PORT, _L2TP_PORT})

# BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs per system.
_NULL_IPV6: Final = frozenset({24, 28, 30, 10})

_MAX_DEPTH: Final = 6  # tunnels within tunnels
_FRAGMENT_TIMEOUT: Final = 60.0
_MAX_FRAGMENT_BUFFERS: Final = 4096


class Segment(NamedTuple):
    """A TCP segment or UDP datagram with the addresses it travelled between."""

    proto: int  # 6 (TCP) or 17 (UDP)
    src: bytes  # packed address, 4 or 16 bytes
    sport: int
    dst: bytes
    dport: int
    flags: int  # TCP flags; 0 for UDP
    seq: int
    ack: int
    payload: bytes  # as captured: shorter than ``payload_len`` when the snap length cut it
    payload_len: int  # on the wire, from the IP and UDP lengths
    ip_bytes: int  # IP packet length on the wire (reassembled, for fragments)
    tunnel: bool  # this is the outer flow of a tunnel: count it, do not parse its payload


class Decoded(NamedTuple):
    """What one frame held: its segments (innermost last) and a PCAPdroid app tag if any."""

    segments: list[Segment]
    tag: AppTag | None
    weird: str | None  # a problem worth a weird row (a malformed header), else None


ZERO_MACS: Final = bytes(12)  # PCAPdroid's frames, which may carry its trailer


class _Fragments:
    __slots__ = ("first_ts", "have_last", "parts", "proto", "total")

    def __init__(self, ts: float, proto: int) -> None:
        self.first_ts = ts
        self.proto = proto
        self.parts: dict[int, bytes] = {}
        self.have_last = False
        self.total = 0


class PacketDecoder:
    """Decode frames into segments, keeping IP fragments until their datagram is whole."""

    def __init__(self) -> None:
        self._fragments: dict[tuple[bytes, bytes, int, int], _Fragments] = {}
        self.unknown_linktypes: set[int] = set()
        self.fragments_expired = 0

    def decode(self, linktype: int, data: bytes, ts: float) -> Decoded:
        """Every segment in a frame (tunnels opened), its app tag and any malformation."""
        out: list[Segment] = []
        tag: AppTag | None = None
        weird: str | None = None
        try:
            if linktype == 1:
                if len(data) >= 46 and data[:12] == ZERO_MACS and _has_trailer(data):
                    tag, data = parse_trailer(data)
                self._ethernet(data, 0, ts, out, 0)
            elif linktype in (101, 12, 14, 228, 229):
                self._ip(data, 0, ts, out, 0)
            elif linktype in (0, 108):
                if len(data) >= 4:
                    family = int.from_bytes(data[:4], "little" if data[0] else "big")
                    if family == 2 or family in _NULL_IPV6:
                        self._ip(data, 4, ts, out, 0)
            elif linktype == 113:
                if len(data) >= 16:
                    self._ethertype(_U16.unpack_from(data, 14)[0], data, 16, ts, out, 0)
            elif linktype == 276:
                if len(data) >= 20:
                    self._ethertype(_U16.unpack_from(data, 0)[0], data, 20, ts, out, 0)
            elif linktype == 239:
                self._nflog(data, ts, out)
            else:
                self.unknown_linktypes.add(linktype)
        except _Malformed as e:
            weird = str(e)
        return Decoded(out, tag, weird)

    # -- link layers ----------------------------------------------------------------------

    def _ethernet(self, data: bytes, off: int, ts: float, out: list[Segment], depth: int) -> None:
        if len(data) < off + 14:
            return
        self._ethertype(_U16.unpack_from(data, off + 12)[0], data, off + 14, ts, out, depth)

    def _ethertype(
        self, etype: int, data: bytes, off: int, ts: float, out: list[Segment], depth: int
    ) -> None:
        while etype in _ETH_VLAN:
            if len(data) < off + 4:
                return
            etype = _U16.unpack_from(data, off + 2)[0]
            off += 4
        if etype in (_ETH_IPV4, _ETH_IPV6):
            self._ip(data, off, ts, out, depth)
        elif etype == _ETH_PPPOE_SESSION:
            if len(data) >= off + 8:
                ppp = _U16.unpack_from(data, off + 6)[0]
                if ppp == 0x0021 or ppp == 0x0057:
                    self._ip(data, off + 8, ts, out, depth)
        elif etype in _ETH_MPLS:
            while len(data) >= off + 4:
                bottom = data[off + 2] & 1
                off += 4
                if bottom:
                    if len(data) > off and data[off] >> 4 in (4, 6):
                        self._ip(data, off, ts, out, depth)
                    return

    def _nflog(self, data: bytes, ts: float, out: list[Segment]) -> None:
        # 4-byte header (family, version, resource id), then TLVs in host (little) byte order.
        off, end = 4, len(data)
        while off + 4 <= end:
            length = int.from_bytes(data[off : off + 2], "little")
            kind = int.from_bytes(data[off + 2 : off + 4], "little")
            if length < 4:
                return
            if kind == 9:  # NFULA_PAYLOAD
                self._ip(data[off + 4 : off + length], 0, ts, out, 0)
                return
            off += (length + 3) & ~3

    # -- IP -------------------------------------------------------------------------------

    def _ip(self, data: bytes, off: int, ts: float, out: list[Segment], depth: int) -> None:
        if depth > _MAX_DEPTH or len(data) <= off:
            return
        version = data[off] >> 4
        if version == 4:
            self._ipv4(data, off, ts, out, depth)
        elif version == 6:
            self._ipv6(data, off, ts, out, depth)

    def _ipv4(self, data: bytes, off: int, ts: float, out: list[Segment], depth: int) -> None:
        if len(data) < off + 20:
            raise _Malformed("truncated_ipv4_header")
        ihl = (data[off] & 0x0F) * 4
        if ihl < 20:
            raise _Malformed("bad_ipv4_header_length")
        total = _U16.unpack_from(data, off + 2)[0]
        wire_end = off + total if total >= ihl else len(data)  # 0: segmentation offload
        end = min(wire_end, len(data))  # cut to the snap length
        frag = _U16.unpack_from(data, off + 6)[0]
        proto = data[off + 9]
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
        payload_off = off + ihl
        if frag & 0x3FFF:  # more fragments, or a non-zero offset
            key = (src, dst, _U16.unpack_from(data, off + 4)[0], proto)
            whole = self._fragment(
                key, ts, proto, (frag & 0x1FFF) * 8, frag & 0x2000, data[payload_off:end]
            )
            if whole is None:
                return
            n = len(whole)
            self._transport(proto, src, dst, whole, 0, n, n, n + ihl, ts, out, depth)
            return
        self._transport(
            proto, src, dst, data, payload_off, end, wire_end, wire_end - off, ts, out, depth
        )

    def _ipv6(self, data: bytes, off: int, ts: float, out: list[Segment], depth: int) -> None:
        if len(data) < off + 40:
            raise _Malformed("truncated_ipv6_header")
        plen = _U16.unpack_from(data, off + 4)[0]
        nh = data[off + 6]
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
        wire_end = off + 40 + plen if plen else len(data)
        end = min(wire_end, len(data))
        p = off + 40
        fragment: tuple[int, int, int] | None = None  # offset, more, id
        while True:
            if nh in (0, 43, 60):  # hop-by-hop, routing, destination options
                if p + 2 > end:
                    return
                nh, p = data[p], p + (data[p + 1] + 1) * 8
            elif nh == 44:  # fragment
                if p + 8 > end:
                    return
                fo = _U16.unpack_from(data, p + 2)[0]
                fragment = (fo & 0xFFF8, fo & 1, _U32.unpack_from(data, p + 4)[0])
                nh, p = data[p], p + 8
            elif nh == 51:  # authentication header
                if p + 2 > end:
                    return
                nh, p = data[p], p + (data[p + 1] + 2) * 4
            else:
                break
        if p > end:
            return
        if fragment is not None and (fragment[0] or fragment[1]):
            whole = self._fragment(
                (src, dst, fragment[2], nh), ts, nh, fragment[0], fragment[1], data[p:end]
            )
            if whole is None:
                return
            n = len(whole)
            self._transport(nh, src, dst, whole, 0, n, n, n + 40, ts, out, depth)
            return
        self._transport(nh, src, dst, data, p, end, wire_end, wire_end - off, ts, out, depth)

    def _fragment(
        self,
        key: tuple[bytes, bytes, int, int],
        ts: float,
        proto: int,
        offset: int,
        more: int,
        piece: bytes,
    ) -> bytes | None:
        frags = self._fragments.get(key)
        if frags is None:
            if len(self._fragments) >= _MAX_FRAGMENT_BUFFERS:
                self.expire_fragments(ts, force=True)
            frags = self._fragments[key] = _Fragments(ts, proto)
        frags.parts.setdefault(offset, piece)
        if not more:
            frags.have_last = True
            frags.total = offset + len(piece)
        if not frags.have_last:
            return None
        buf = bytearray()
        for start in sorted(frags.parts):
            part = frags.parts[start]
            if start > len(buf):
                return None  # a hole: wait for the missing piece
            buf += part[len(buf) - start :]
        if len(buf) < frags.total:
            return None
        del self._fragments[key]
        return bytes(buf[: frags.total])

    def expire_fragments(self, now: float, *, force: bool = False) -> None:
        """Drop fragment buffers older than the timeout (or the oldest half, when full)."""
        if not self._fragments:
            return
        if force:
            keys = sorted(self._fragments, key=lambda k: self._fragments[k].first_ts)
            stale = keys[: len(keys) // 2 + 1]
        else:
            stale = [k for k, f in self._fragments.items() if now - f.first_ts > _FRAGMENT_TIMEOUT]
        for k in stale:
            del self._fragments[k]
        self.fragments_expired += len(stale)

    # -- transport ------------------------------------------------------------------------

    def _transport(
        self,
        proto: int,
        src: bytes,
        dst: bytes,
        data: bytes,
        off: int,
        end: int,
        wire_end: int,
        ip_bytes: int,
        ts: float,
        out: list[Segment],
        depth: int,
    ) -> None:
        if proto == TCP:
            if end - off < 20:
                raise _Malformed("truncated_tcp_header")
            sport, dport, seq, ack, doff, flags = _TCP_HDR.unpack_from(data, off)
            hlen = (doff >> 4) * 4
            if hlen < 20:
                raise _Malformed("bad_tcp_header_length")
            start = off + hlen
            payload = data[start:end] if start < end else b""
            wire = max(wire_end - start, len(payload))
            out.append(
                Segment(
                    TCP, src, sport, dst, dport, flags, seq, ack, payload, wire, ip_bytes, False
                )
            )
        elif proto == UDP:
            if end - off < 8:
                raise _Malformed("truncated_udp_header")
            sport, dport, length = _UDP_HDR.unpack_from(data, off)
            stop = off + length if 8 <= length <= end - off else end
            payload = data[off + 8 : stop]
            wire = max(length - 8, len(payload))
            if dport in TUNNEL_PORTS or sport in TUNNEL_PORTS:
                port = dport if dport in TUNNEL_PORTS else sport
                if self._udp_tunnel(port, payload, ts, out, depth):
                    out.append(
                        Segment(UDP, src, sport, dst, dport, 0, 0, 0, b"", wire, ip_bytes, True)
                    )
                    return
            out.append(
                Segment(UDP, src, sport, dst, dport, 0, 0, 0, payload, wire, ip_bytes, False)
            )
        elif proto == 4 or proto == 41:  # IPv4 / IPv6 in IP
            self._ip(data[off:end], 0, ts, out, depth + 1)
        elif proto == 47:
            self._gre(data[off:end], ts, out, depth + 1)

    def _udp_tunnel(
        self, port: int, payload: bytes, ts: float, out: list[Segment], depth: int
    ) -> bool:
        if port == _L2TP_PORT:
            return self._l2tp(payload, ts, out, depth + 1)
        if len(payload) < 8:
            return False
        if port in (_VXLAN_PORT, _VXLAN_GPE_PORT):
            if not payload[0] & 0x08:  # the VNI flag must be set
                return False
            if port == _VXLAN_GPE_PORT and payload[3] in (1, 2):  # GPE: IPv4, IPv6 inside
                self._ip(payload, 8, ts, out, depth + 1)
            else:
                self._ethernet(payload, 8, ts, out, depth + 1)
            return True
        version_optlen, _flags, proto = payload[0], payload[1], _U16.unpack_from(payload, 2)[0]
        if version_optlen >> 6:
            return False
        off = 8 + (version_optlen & 0x3F) * 4
        if proto == _ETH_TEB:
            self._ethernet(payload, off, ts, out, depth + 1)
        else:
            self._ethertype(proto, payload, off, ts, out, depth + 1)
        return True

    def _l2tp(self, data: bytes, ts: float, out: list[Segment], depth: int) -> bool:
        """L2TPv2 data messages (RFC 2661 §3.1) carrying PPP carrying IP."""
        if len(data) < 6 or data[1] & 0x0F != 2:
            return False
        flags = data[0]
        if flags & 0x80:  # a control message: the tunnel's own signalling
            return True
        off = 2 + (2 if flags & 0x40 else 0) + 4  # length, tunnel and session ids
        if flags & 0x08:  # Ns, Nr
            off += 4
        if flags & 0x02:  # offset size, then padding
            if len(data) < off + 2:
                return True
            off += 2 + _U16.unpack_from(data, off)[0]
        if data[off : off + 2] == b"\xff\x03":  # PPP address and control
            off += 2
        if len(data) <= off:
            return True
        if data[off] & 1:  # compressed one-byte protocol field
            ppp, off = data[off], off + 1
        elif len(data) >= off + 2:
            ppp, off = _U16.unpack_from(data, off)[0], off + 2
        else:
            return True
        if ppp == 0x21 or ppp == 0x57:
            self._ip(data, off, ts, out, depth)
        return True

    def _gre(self, data: bytes, ts: float, out: list[Segment], depth: int) -> None:
        if len(data) < 4:
            return
        flags, proto = data[0], _U16.unpack_from(data, 2)[0]
        off = 4
        if flags & 0x80 or flags & 0x40:  # checksum or routing present: 4 more bytes
            off += 4
        if flags & 0x20:  # key
            off += 4
        if flags & 0x10:  # sequence number
            off += 4
        if proto == _ETH_TEB:
            self._ethernet(data, off, ts, out, depth)
        elif proto == _ERSPAN_II:
            self._ethernet(data, off + 8, ts, out, depth)
        elif proto == _ERSPAN_III:
            if len(data) < off + 12:
                return
            has_subheader = data[off + 11] & 0x01
            self._ethernet(data, off + 12 + (8 if has_subheader else 0), ts, out, depth)
        else:
            self._ethertype(proto, data, off, ts, out, depth)


class _Malformed(Exception):
    """A header too short or inconsistent to go on; its text is the weird name."""


def _has_trailer(data: bytes) -> bool:
    return data[-32:-28] == TRAILER_MAGIC

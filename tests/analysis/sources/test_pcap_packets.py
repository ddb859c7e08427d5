"""Hand-written header parsing: link layers, IP, tunnels, fragments, malformed headers."""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from borderflow.analysis.sources.pcap_packets import PacketDecoder, Segment

INNER = (
    IP(src="10.9.0.2", dst="10.9.0.1")
    / TCP(sport=4000, dport=80, flags="PA", seq=7)
    / Raw(b"GET /")
)


def inner_segment(segments: list[Segment]) -> tuple[int, int, int, bytes]:
    seg = [s for s in segments if not s.tunnel][-1]
    return seg.proto, seg.sport, seg.dport, seg.payload


def test_gre_erspan_and_transparent_ethernet_bridging_are_opened() -> None:
    d = PacketDecoder()
    plain = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / GRE(proto=0x0800) / INNER)
    assert inner_segment(d.decode(101, plain, 0).segments) == (6, 4000, 80, b"GET /")
    teb = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / GRE(proto=0x6558) / Ether() / INNER)
    assert inner_segment(d.decode(101, teb, 0).segments) == (6, 4000, 80, b"GET /")
    erspan = bytes(
        IP(src="1.1.1.1", dst="2.2.2.2")
        / GRE(proto=0x88BE, seqnum_present=1, sequence_number=1)
        / Raw(bytes(8) + bytes(Ether() / INNER))
    )
    assert inner_segment(d.decode(101, erspan, 0).segments) == (6, 4000, 80, b"GET /")


def test_vxlan_and_geneve_count_their_own_udp_flow_too() -> None:
    d = PacketDecoder()
    vxlan = bytes(
        IP(src="1.1.1.1", dst="2.2.2.2")
        / UDP(sport=5555, dport=4789)
        / VXLAN(vni=5)
        / Ether()
        / INNER
    )
    segments = d.decode(101, vxlan, 0).segments
    assert [(s.proto, s.dport, s.tunnel) for s in segments] == [(6, 80, False), (17, 4789, True)]
    header = struct.pack("!BBH", 0, 0, 0x6558) + bytes(4)
    geneve = bytes(
        IP(src="1.1.1.1", dst="2.2.2.2")
        / UDP(sport=5555, dport=6081)
        / Raw(header + bytes(Ether() / INNER))
    )
    assert inner_segment(d.decode(101, geneve, 0).segments) == (6, 4000, 80, b"GET /")


def test_l2tp_carries_ppp_carries_ipv6() -> None:
    inner6 = bytes(IPv6(src="fd00::2", dst="fd00::1") / TCP(sport=4000, dport=80) / Raw(b"x"))
    l2tp = struct.pack("!BBHH", 0x00, 0x02, 7, 9) + b"\xff\x03\x00\x57" + inner6
    outer = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=1701, dport=1701) / Raw(l2tp))
    segments = PacketDecoder().decode(101, outer, 0).segments
    assert [(s.proto, s.dport, s.tunnel) for s in segments] == [(6, 80, False), (17, 1701, True)]


def test_ip_in_ip_nests() -> None:
    nested = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / IP(src="3.3.3.3", dst="4.4.4.4") / INNER)
    assert inner_segment(PacketDecoder().decode(228, nested, 0).segments) == (6, 4000, 80, b"GET /")


def test_ipv6_extension_headers_are_skipped() -> None:
    pkt = (
        IPv6(src="fd00::2", dst="fd00::1")
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrDestOpt()
        / UDP(sport=1, dport=53)
        / Raw(b"q")
    )
    (seg,) = PacketDecoder().decode(229, bytes(pkt), 0).segments
    assert (seg.proto, seg.dport, seg.payload) == (17, 53, b"q")


def test_snap_length_cuts_are_told_apart_from_the_wire_length() -> None:
    full = bytes(
        Ether() / IP(src="1.1.1.1", dst="2.2.2.2") / TCP(sport=1, dport=2) / Raw(b"x" * 500)
    )
    (seg,) = PacketDecoder().decode(1, full[:96], 0).segments
    assert (len(seg.payload), seg.payload_len, seg.ip_bytes) == (42, 500, 540)


def test_malformed_headers_become_a_weird_name_not_an_exception() -> None:
    decoded = PacketDecoder().decode(101, b"\x45\x00\x00", 0)
    assert decoded.segments == []
    assert decoded.weird == "truncated_ipv4_header"
    bad_tcp = bytes(IP(src="1.1.1.1", dst="2.2.2.2", proto=6)) + bytes(10)
    assert PacketDecoder().decode(101, bad_tcp, 0).weird == "truncated_tcp_header"


def test_unknown_link_types_are_collected() -> None:
    d = PacketDecoder()
    assert d.decode(147, b"whatever", 0).segments == []
    assert d.unknown_linktypes == {147}


def test_fragments_that_never_complete_expire() -> None:
    d = PacketDecoder()
    first = bytes(
        IP(src="1.1.1.1", dst="2.2.2.2", id=5, flags="MF") / UDP(sport=1, dport=2) / Raw(b"x" * 40)
    )
    assert d.decode(101, first, 0.0).segments == []
    d.expire_fragments(100.0)
    assert d.fragments_expired == 1

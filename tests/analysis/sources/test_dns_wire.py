"""DNS messages from their wire format, checked against scapy's encoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR

from borderflow.analysis.sources import dns_wire


def test_questions_and_answers_with_compression() -> None:
    msg = DNS(
        id=9,
        qr=1,
        qd=DNSQR(qname="pay.example.com", qtype="A"),
        an=[
            DNSRR(rrname="pay.example.com", type="CNAME", rdata="edge.cdn.example.net"),
            DNSRR(rrname="edge.cdn.example.net", type="A", rdata="198.51.100.7"),
            DNSRR(rrname="edge.cdn.example.net", type="AAAA", rdata="2001:db8::7"),
        ],
    )
    parsed = dns_wire.parse(bytes(msg))
    assert parsed is not None
    assert (parsed.trans_id, parsed.response, parsed.rcode) == (9, True, 0)
    assert parsed.questions == (dns_wire.Question("pay.example.com", 1),)
    assert [a.text for a in parsed.answers] == [
        "edge.cdn.example.net",
        "198.51.100.7",
        "2001:db8::7",
    ]


def test_the_root_name_is_spelt_as_wireshark_does() -> None:
    parsed = dns_wire.parse(bytes(DNS(id=1, qd=DNSQR(qname=".", qtype="NS"))))
    assert parsed is not None
    assert parsed.questions[0].name == "<Root>"


def test_a_compression_loop_does_not_hang() -> None:
    header = bytes.fromhex("0001 0100 0001 0000 0000 0000".replace(" ", ""))
    assert dns_wire.parse(header + b"\xc0\x0c\x00\x01\x00\x01") is None


def test_a_truncated_answer_section_keeps_the_question() -> None:
    data = bytes(
        DNS(id=2, qr=1, qd=DNSQR(qname="a.test"), an=DNSRR(rrname="a.test", rdata="192.0.2.1"))
    )
    parsed = dns_wire.parse(data[:-3])
    assert parsed is not None
    assert parsed.questions[0].name == "a.test"
    assert parsed.answers == ()


def test_other_record_types_keep_their_data_in_hex() -> None:
    data = bytes(
        DNS(
            id=3,
            qr=1,
            qd=DNSQR(qname="t.test", qtype="TXT"),
            an=DNSRR(rrname="t.test", type="TXT", rdata="hi"),
        )
    )
    parsed = dns_wire.parse(data)
    assert parsed is not None
    assert parsed.answers[0].text == "TXT:026869"
    assert dns_wire.type_name(16) == "TXT"


def test_dns_on_unusual_ports_is_recognised_strictly() -> None:
    query = bytes(DNS(id=42, rd=1, qd=DNSQR(qname="us.pool.ntp.org")))
    assert dns_wire.looks_like_dns(query)
    assert not dns_wire.looks_like_dns(query + b"\x00")
    assert not dns_wire.looks_like_dns(b"\x16\x03\x01" + bytes(40))


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    dns_wire.parse(data)
    dns_wire.looks_like_dns(data)

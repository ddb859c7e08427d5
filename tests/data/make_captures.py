"""Regenerate the test captures in tests/data: packets built with scapy, traffic recorded on loopback.

Two kinds of capture live here, both made by the project itself:

* built (``BUILT``): IP packets assembled with scapy's layers and written with the small
  pcap/pcapng writers below, byte for byte the same on every run (fixed times, sequence
  numbers and randoms; ``test_make_captures.py`` checks that the committed files still
  match). They cover what real traffic rarely shows on demand: every link type, fragments,
  out-of-order and overlapping segments, PCAPdroid's two tag formats, damaged files.
* recorded (``--record``): curl talking to a local TLS server over 127.0.0.1 while tcpdump
  records the loopback interface and curl writes its TLS secrets to SSLKEYLOGFILE — real
  TLS 1.3 and TLS 1.2 (AES-GCM, AES-CCM, ChaCha20-Poly1305) handshakes, HTTP/1.1 and HTTP/2,
  and a QUIC Initial from aioquic. Needs root (tcpdump), curl and openssl; the results are
  committed, so CI needs none of them.

Usage, from the repository root::

    python -m tests.data.make_captures             # rewrite the built captures
    python -m tests.data.make_captures --record    # also record the loopback captures again
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import struct
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.packet import Packet, Raw

HERE = Path(__file__).resolve().parent
T0 = 1_750_000_000.0  # capture start: 2025-06-15 15:06:40 UTC

CLIENT = "10.0.2.15"
RESOLVER = "10.0.2.3"
SERVER = "192.0.2.10"
CLIENT6 = "fd00::15"
SERVER6 = "2001:db8::10"
SERVER_NAME = "api.wallet.test"

# -- file writers --------------------------------------------------------------------------


def pcap(linktype: int, frames: Iterable[tuple[float, bytes]], *, nano: bool = False) -> bytes:
    """A classic pcap file (little-endian), micro- or nanosecond timestamps."""
    out = bytearray(
        struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)
    )
    for ts, data in frames:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out += struct.pack("<IIII", sec, frac, len(data), len(data)) + data
    return bytes(out)


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb() -> bytes:
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype: int, *, tsresol: int = 6, name: str | None = None) -> bytes:
    options = _option(9, bytes([tsresol]))
    if name:
        options += _option(2, name.encode())
    return _block(1, struct.pack("<HHI", linktype, 0, 262144) + options + _option(0, b""))


def epb(
    iface: int, ts: float, data: bytes, *, tsresol: int = 6, comment: str | None = None
) -> bytes:
    units = round(ts * 10**tsresol)
    body = struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data))
    body += data + b"\0" * (-len(data) % 4)
    if comment is not None:
        body += _option(1, comment.encode()) + _option(0, b"")
    return _block(6, body)


def dsb(key_log: bytes) -> bytes:
    return _block(10, struct.pack("<II", 0x544C534B, len(key_log)) + key_log)


def custom_block(pen: int, data: bytes) -> bytes:
    return _block(0x0BAD, struct.pack("<I", pen) + data)


# -- packets -------------------------------------------------------------------------------


def _grease_free_hello(name: str, *, alpn: Sequence[bytes] = (b"h2", b"http/1.1")) -> bytes:
    """A TLS 1.3 ClientHello record with fixed random, session id and key share."""

    def ext(kind: int, body: bytes) -> bytes:
        return struct.pack("!HH", kind, len(body)) + body

    host = name.encode()
    protocols = b"".join(bytes([len(p)]) + p for p in alpn)
    exts = b"".join(
        (
            ext(0x0000, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host),
            ext(0x000A, bytes.fromhex("0006001d00170018")),
            ext(0x000B, b"\x01\x00"),
            ext(0x000D, bytes.fromhex("000a04030804040105010806")),
            ext(0x0010, struct.pack("!H", len(protocols)) + protocols),
            ext(0x002B, bytes.fromhex("0403040303")),
            ext(0x0033, bytes.fromhex("0024001d0020") + bytes(range(32))),
        )
    )
    ciphers = bytes.fromhex("130113021303c02bc02f")
    body = b"\x03\x03" + bytes(range(32, 64)) + b"\x20" + bytes(range(64, 96))
    body += (
        struct.pack("!H", len(ciphers))
        + ciphers
        + b"\x01\x00"
        + struct.pack("!H", len(exts))
        + exts
    )
    hs = b"\x01" + len(body).to_bytes(3) + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _server_hello() -> bytes:
    exts = (
        bytes.fromhex("002b00020304") + bytes.fromhex("00330024001d0020") + bytes(range(100, 132))
    )
    body = b"\x03\x03" + bytes(range(132, 164)) + b"\x20" + bytes(range(64, 96)) + b"\x13\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x02" + len(body).to_bytes(3) + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs + b"\x14\x03\x03\x00\x01\x01"


def _encrypted(size: int, fill: int) -> bytes:
    return b"\x17\x03\x03" + struct.pack("!H", size) + bytes([fill]) * size


def dns_exchange(ts: float, *, v6: bool = False, sport: int = 53001) -> list[tuple[float, bytes]]:
    """A lookup of SERVER_NAME and its answer (A, or AAAA over IPv6)."""
    src, dst = (CLIENT6, "fd00::3") if v6 else (CLIENT, RESOLVER)
    net = IPv6 if v6 else IP
    qtype = "AAAA" if v6 else "A"
    query = DNS(id=0x1234, rd=1, qd=DNSQR(qname=SERVER_NAME, qtype=qtype))
    answer = DNS(
        id=0x1234,
        qr=1,
        rd=1,
        ra=1,
        qd=DNSQR(qname=SERVER_NAME, qtype=qtype),
        an=DNSRR(rrname=SERVER_NAME, type=qtype, ttl=300, rdata=SERVER6 if v6 else SERVER),
    )
    return [
        (ts, bytes(net(src=src, dst=dst) / UDP(sport=sport, dport=53) / query)),
        (ts + 0.01, bytes(net(src=dst, dst=src) / UDP(sport=53, dport=sport) / answer)),
    ]


class TcpFlow:
    """Builds one TCP connection's packets with correct sequence numbers."""

    def __init__(
        self, client: str, server: str, sport: int, dport: int, *, v6: bool = False
    ) -> None:
        self.client, self.server, self.sport, self.dport = client, server, sport, dport
        self.net = IPv6 if v6 else IP
        self.cseq, self.sseq = 1000, 5000

    def _pkt(self, from_client: bool, flags: str, seq: int, ack: int, data: bytes = b"") -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sport, dport = (self.sport, self.dport) if from_client else (self.dport, self.sport)
        tcp = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535)
        return bytes(self.net(src=src, dst=dst) / tcp / (Raw(data) if data else b""))

    def handshake(self) -> list[bytes]:
        out = [
            self._pkt(True, "S", self.cseq, 0),
            self._pkt(False, "SA", self.sseq, self.cseq + 1),
        ]
        self.cseq += 1
        self.sseq += 1
        out.append(self._pkt(True, "A", self.cseq, self.sseq))
        return out

    def send(self, from_client: bool, data: bytes, *, at: int | None = None) -> bytes:
        """A data segment; ``at`` places it at that stream offset (default: next)."""
        base = self.cseq if from_client else self.sseq
        seq = base + (at or 0) if at is not None else base
        ack = self.sseq if from_client else self.cseq
        return self._pkt(from_client, "PA", seq, ack, data)

    def advance(self, from_client: bool, size: int) -> None:
        if from_client:
            self.cseq += size
        else:
            self.sseq += size

    def close(self) -> list[bytes]:
        out = [
            self._pkt(True, "FA", self.cseq, self.sseq),
            self._pkt(False, "FA", self.sseq, self.cseq + 1),
            self._pkt(True, "A", self.cseq + 1, self.sseq + 1),
        ]
        return out


def tls_conversation(
    ts: float, *, v6: bool = False, sport: int = 40000
) -> list[tuple[float, bytes]]:
    """A DNS lookup, then a TLS 1.3 connection: ClientHello, ServerHello, a few records, FIN."""
    out = dns_exchange(ts, v6=v6, sport=sport + 13001)
    flow = TcpFlow(CLIENT6 if v6 else CLIENT, SERVER6 if v6 else SERVER, sport, 443, v6=v6)
    packets = flow.handshake()
    hello = _grease_free_hello(SERVER_NAME)
    packets.append(flow.send(True, hello))
    flow.advance(True, len(hello))
    sh = _server_hello() + _encrypted(60, 0xAA)
    packets.append(flow.send(False, sh))
    flow.advance(False, len(sh))
    client_finished = b"\x14\x03\x03\x00\x01\x01" + _encrypted(40, 0xBB)
    packets.append(flow.send(True, client_finished))
    flow.advance(True, len(client_finished))
    packets += flow.close()
    out += [(ts + 0.1 + i * 0.01, p) for i, p in enumerate(packets)]
    return out


# -- link layers ---------------------------------------------------------------------------

_MAC_C = bytes.fromhex("020000000015")
_MAC_R = bytes.fromhex("020000000003")


def _ethertype(ip: bytes) -> bytes:
    return b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"


def ethernet(ip: bytes) -> bytes:
    return _MAC_R + _MAC_C + _ethertype(ip) + ip


def vlan(ip: bytes) -> bytes:  # 802.1ad outer tag, 802.1Q inner tag (QinQ)
    return _MAC_R + _MAC_C + b"\x88\xa8\x00\x64\x81\x00\x00\x0a" + _ethertype(ip) + ip


def sll(ip: bytes) -> bytes:
    return struct.pack("!HHH", 0, 1, 6) + _MAC_C + b"\0\0" + _ethertype(ip) + ip


def sll2(ip: bytes) -> bytes:
    return _ethertype(ip) + b"\0\0" + struct.pack("!IHBB", 2, 1, 0, 6) + _MAC_C + b"\0\0" + ip


def null(ip: bytes) -> bytes:  # BSD loopback, host byte order (little-endian here)
    return struct.pack("<I", 30 if ip[0] >> 4 == 6 else 2) + ip


def loop(ip: bytes) -> bytes:  # OpenBSD loopback, network byte order
    return struct.pack("!I", 24 if ip[0] >> 4 == 6 else 2) + ip


def nflog(ip: bytes) -> bytes:
    family = 10 if ip[0] >> 4 == 6 else 2
    prefix = b"borderflow\0\0"
    tlvs = struct.pack("<HH", 4 + len(prefix), 10) + prefix  # NFULA_PREFIX
    payload = struct.pack("<HH", 4 + len(ip), 9) + ip  # NFULA_PAYLOAD
    return struct.pack("!BBH", family, 0, 0) + tlvs + payload + b"\0" * (-len(payload) % 4)


def pppoe(ip: bytes) -> bytes:
    ppp = b"\x00\x57" if ip[0] >> 4 == 6 else b"\x00\x21"
    body = ppp + ip
    return _MAC_R + _MAC_C + b"\x88\x64" + struct.pack("!BBHH", 0x11, 0, 0x1234, len(body)) + body


LINKS: dict[str, tuple[int, Callable[[bytes], bytes]]] = {
    "ethernet": (1, ethernet),
    "vlan-qinq": (1, vlan),
    "pppoe": (1, pppoe),
    "raw": (101, lambda ip: ip),
    "ipv4": (228, lambda ip: ip),
    "sll": (113, sll),
    "sll2": (276, sll2),
    "null": (0, null),
    "loop": (108, loop),
    "nflog": (239, nflog),
}


def link_capture(name: str) -> bytes:
    linktype, wrap = LINKS[name]
    frames = tls_conversation(T0)
    return pcap(linktype, ((ts, wrap(ip)) for ts, ip in frames))


def ipv6_capture() -> bytes:
    return pcap(1, ((ts, ethernet(ip)) for ts, ip in tls_conversation(T0, v6=True)))


# -- fragments, reassembly -----------------------------------------------------------------


def fragments_capture() -> bytes:
    """A DNS answer too big for one IPv4 packet, and its IPv6 twin, fragmented out of order."""
    txt = [b"x" * 200 for _ in range(12)]
    frames: list[tuple[float, bytes]] = []
    for v6 in (False, True):
        src, dst = ("fd00::3", CLIENT6) if v6 else (RESOLVER, CLIENT)
        query = DNS(id=7, rd=1, qd=DNSQR(qname="big.wallet.test", qtype="TXT"))
        answer = DNS(
            id=7,
            qr=1,
            rd=1,
            ra=1,
            qd=DNSQR(qname="big.wallet.test", qtype="TXT"),
            an=DNSRR(rrname="big.wallet.test", type="TXT", rdata=txt),
        )
        q: Packet
        whole: Packet
        if v6:
            q = IPv6(src=dst, dst=src) / UDP(sport=5353 + 1, dport=53) / query
            whole = (
                IPv6(src=src, dst=dst)
                / IPv6ExtHdrFragment(id=99)
                / UDP(sport=53, dport=5354)
                / answer
            )
            pieces = [bytes(p) for p in fragment6(whole, 800)]
        else:
            q = IP(src=dst, dst=src) / UDP(sport=5354, dport=53) / query
            whole = IP(src=src, dst=dst, id=4242) / UDP(sport=53, dport=5354) / answer
            pieces = [bytes(p) for p in fragment(whole, fragsize=800)]
        base = T0 + (1 if v6 else 0)
        frames.append((base, bytes(q)))
        frames += [(base + 0.01 * (i + 1), p) for i, p in enumerate(reversed(pieces))]
    return pcap(1, ((ts, ethernet(ip)) for ts, ip in frames))


def reassembly_capture() -> bytes:
    """Two TCP connections whose payloads arrive split, reordered, repeated and overlapping.

    1. A TLS ClientHello in three segments: the last first, the middle twice (retransmitted),
       then the first; the hello must still be read whole.
    2. A plaintext HTTP/1.1 POST of JSON with an e-mail address: the body arrives before the
       head, and two segments repeat bytes with different content, once while the original
       waits and once after it was read (the first copy must win both times); the response
       comes in two segments.
    """
    frames: list[tuple[float, bytes]] = []
    tls = TcpFlow(CLIENT, SERVER, 41000, 443)
    packets = tls.handshake()
    hello = _grease_free_hello("split.wallet.test")
    parts = [hello[:40], hello[40:120], hello[120:]]
    packets += [
        tls.send(True, parts[2], at=120),
        tls.send(True, parts[1], at=40),
        tls.send(True, parts[1], at=40),
        tls.send(True, parts[0], at=0),
    ]
    tls.advance(True, len(hello))
    sh = _server_hello()
    packets.append(tls.send(False, sh))
    tls.advance(False, len(sh))
    packets += tls.close()
    frames += [(T0 + i * 0.01, p) for i, p in enumerate(packets)]

    http = TcpFlow(CLIENT, SERVER, 41001, 80)
    body = json.dumps({"email": "li.wei@example.com", "amount": "88.00"}).encode()
    head = (
        b"POST /v1/pay HTTP/1.1\r\nHost: pay.wallet.test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    request = head + body
    packets = http.handshake()
    cut = len(head) + 10
    packets += [
        http.send(True, request[cut:], at=cut),
        # Different bytes for what already waits, then for what was already delivered: the
        # copies that came first win both times.
        http.send(True, b"X" * 10, at=cut),
        http.send(True, request[:cut], at=0),
        http.send(True, b"Y" * 16, at=0),
    ]
    http.advance(True, len(request))
    reply = b'{"ok": true}'
    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    response += b"Content-Length: %d\r\n\r\n%s" % (len(reply), reply)
    packets += [http.send(False, response[:30]), http.send(False, response[30:], at=30)]
    http.advance(False, len(response))
    packets += http.close()
    frames += [(T0 + 1 + i * 0.01, p) for i, p in enumerate(packets)]
    return pcap(1, ((ts, ethernet(ip)) for ts, ip in frames))


# -- pcapng and PCAPdroid --------------------------------------------------------------------


def pcapng_capture() -> bytes:
    """Two interfaces (Ethernet in microseconds, raw IP in nanoseconds), comments, gzip-free."""
    frames = tls_conversation(T0)
    out = bytearray(shb() + idb(1, name="eth0") + idb(101, tsresol=9, name="rmnet0"))
    for i, (ts, ip) in enumerate(frames):
        if i % 2:
            out += epb(1, ts, ip, tsresol=9, comment=f"frame {i}")
        else:
            out += epb(0, ts, ethernet(ip))
    return bytes(out)


ALIPAY_LABEL = "支付宝钱包国际版"  # 24 UTF-8 bytes: PCAPdroid keeps 19, cutting the 7th character


def pcapdroid_trailer_capture() -> bytes:
    """PCAPdroid's classic pcap with dump extensions: fake Ethernet and a 32-byte trailer."""
    from borderflow.analysis.sources.pcapdroid import build_trailer

    frames: list[tuple[float, bytes]] = []
    for n, (uid, label, sport) in enumerate(
        ((10123, ALIPAY_LABEL, 42000), (10200, "Example Wallet", 42001))
    ):
        for ts, ip in tls_conversation(T0 + n, sport=sport):
            fake = bytes(12) + _ethertype(ip) + ip
            frames.append((ts, build_trailer(uid, label, fake)))
    return pcap(1, sorted(frames, key=lambda f: f[0]))


def pcapdroid_pcapng_capture() -> bytes:
    """PCAPdroid's pcapng: raw IP, a uid-map custom block per app, ``u-<uid>`` comments."""
    from borderflow.analysis.sources.pcapdroid import PEN, build_uid_map

    out = bytearray(shb() + idb(101))
    out += custom_block(PEN, build_uid_map(10123, "com.eg.android.AlipayGphone", "支付宝"))
    out += custom_block(PEN, build_uid_map(10200, "com.example.wallet", "Example Wallet"))
    frames = [(ts, ip, 10123) for ts, ip in tls_conversation(T0, sport=42000)]
    frames += [(ts, ip, 10200) for ts, ip in tls_conversation(T0 + 1, sport=42001)]
    for ts, ip, uid in sorted(frames, key=lambda f: f[0]):
        out += epb(0, ts, ip, comment=f"u-{uid}")
    return bytes(out)


# -- damaged files ---------------------------------------------------------------------------


def truncated_capture() -> bytes:
    """Cut in the middle of the ServerHello's packet."""
    whole = link_capture("ethernet")
    return whole[: whole.find(_server_hello()[:20]) + 10]


def corrupt_pcapng() -> bytes:
    """A pcapng whose sixth block says it is 7 bytes long."""
    good = pcapng_capture()
    off = 0
    for _ in range(5):
        off += struct.unpack_from("<I", good, off + 4)[0]
    return good[: off + 4] + struct.pack("<I", 7) + good[off + 8 :]


def truncated_gzip() -> bytes:
    data = gzip.compress(link_capture("ethernet"), mtime=0)
    return data[: len(data) * 2 // 3]


# -- Decryption Secrets Blocks: recorded traffic with its key log inside ----------------------


def read_pcap(data: bytes) -> tuple[int, list[tuple[float, bytes]]]:
    """(link type, frames) of a little-endian microsecond pcap, as tcpdump writes them here."""
    magic, _major, _minor, _zone, _sig, _snap, linktype = struct.unpack_from("<IHHiIII", data)
    assert magic == 0xA1B2C3D4, "expected a little-endian microsecond pcap"
    frames, off = [], 24
    while off < len(data):
        sec, usec, caplen, _wirelen = struct.unpack_from("<IIII", data, off)
        frames.append((sec + usec / 1e6, data[off + 16 : off + 16 + caplen]))
        off += 16 + caplen
    return linktype, frames


def with_dsb(name: str, *, after: int = 0) -> bytes:
    """``loopback/<name>.pcap`` as pcapng with ``<name>.keys`` in a DSB after ``after`` packets."""
    linktype, frames = read_pcap((HERE / "loopback" / f"{name}.pcap").read_bytes())
    keys = (HERE / "loopback" / f"{name}.keys").read_bytes()
    out = bytearray(shb() + idb(linktype, name="lo"))
    for i, (ts, frame) in enumerate(frames):
        if i == after:
            out += dsb(keys)
        out += epb(0, ts, frame)
    return bytes(out)


def connect_tunnel(name: str) -> bytes:
    """``loopback/<name>.pcap``'s TLS bytes again, inside an HTTP CONNECT tunnel via a proxy.

    The recorded segments keep their order and direction; the client first asks a proxy at
    10.0.2.1:8080 for ``CONNECT api.wallet.test:443`` and gets ``200 Connection established``.
    """
    from scapy.layers.l2 import Ether

    _linktype, recorded = read_pcap((HERE / "loopback" / f"{name}.pcap").read_bytes())
    client_port = None
    pieces: list[tuple[bool, bytes]] = []
    for _ts, frame in recorded:
        tcp = Ether(frame).getlayer(TCP)
        if tcp is None:
            continue
        if client_port is None:
            client_port = tcp.sport  # the first packet is curl's SYN
        payload = bytes(tcp.payload)
        if payload:
            pieces.append((tcp.sport == client_port, payload))
    flow = TcpFlow(CLIENT, "10.0.2.1", 43000, 8080)
    connect = b"CONNECT api.wallet.test:443 HTTP/1.1\r\nHost: api.wallet.test:443\r\n\r\n"
    established = b"HTTP/1.1 200 Connection established\r\n\r\n"
    packets = flow.handshake()
    for from_client, data in [(True, connect), (False, established), *pieces]:
        packets.append(flow.send(from_client, data))
        flow.advance(from_client, len(data))
    packets += flow.close()
    return pcap(1, ((T0 + i * 0.001, ethernet(p)) for i, p in enumerate(packets)))


BUILT: dict[str, Callable[[], bytes]] = {
    **{f"links/{name}.pcap": functools.partial(link_capture, name) for name in LINKS},
    "links/ipv6.pcap": ipv6_capture,
    "links/ethernet.pcap.gz": lambda: gzip.compress(link_capture("ethernet"), mtime=0),
    "fragments.pcap": fragments_capture,
    "reassembly.pcap": reassembly_capture,
    "multi-interface.pcapng": pcapng_capture,
    "pcapdroid-trailer.pcap": pcapdroid_trailer_capture,
    "pcapdroid.pcapng": pcapdroid_pcapng_capture,
    "damaged/truncated.pcap": truncated_capture,
    "damaged/corrupt.pcapng": corrupt_pcapng,
    "damaged/truncated.pcap.gz": truncated_gzip,
    "loopback/tls13-http1-dsb.pcapng": lambda: with_dsb("tls13-http1"),
    # Secrets written after the handshake began, as PCAPdroid's race sometimes does.
    "loopback/tls12-aes128gcm-late-dsb.pcapng": lambda: with_dsb("tls12-aes128gcm", after=4),
    # Decrypt with loopback/tls12-aes128gcm.keys: the tunnel carries that recorded session.
    "loopback/connect-tunnel.pcap": lambda: connect_tunnel("tls12-aes128gcm"),
}


def write_built() -> None:
    for name, make in BUILT.items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
        print(f"wrote {path.relative_to(HERE)} ({path.stat().st_size} bytes)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--record", action="store_true", help="also re-record the loopback captures"
    )
    args = parser.parse_args(argv)
    write_built()
    if args.record:
        from tests.data.record_loopback import record_all

        record_all(HERE / "loopback")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

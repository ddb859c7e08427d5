"""Replay pcap and pcapng captures: packets become connections, then the rows live traffic gives.

The file is streamed (``pcap_file``), each frame decoded by hand (``pcap_packets``), and every
TCP or UDP conversation tracked as a connection: packets, bytes, duration, Zeek's
``conn_state``. TCP streams are reassembled (``tcp_reassembly``) and read by the protocol
their first bytes show: TLS (``tls_stream``: hellos, fingerprints, and decryption given an
NSS key log or a pcapng Decryption Secrets Block), HTTP/1.x (``http1``), HTTP/2 (``http2``),
DNS over TCP. UDP carries DNS (``dns_wire``) and QUIC, whose Initial packets are decrypted far
enough to read the SNI (``quic_initial``). PCAPdroid's app tags (``pcapdroid``) fill
``conn.app``.

Every HTTP message becomes a ``Payload`` classified by the same pipeline as live flows, and
every connection a ``conn`` row (with ``tls``, ``dns`` and ``http`` rows as it had them).
uids derive from the capture id and the connection's first packet, so the same file always
gives the same rows.

Speed (``bench/replay_throughput.py``): the commonest frame, Ethernet and IPv4 carrying TCP or
UDP, is read where it lies in the reader's buffer with one ``struct`` call and found among the
connections with one dict lookup; a stream is copied only while a reader still wants it
(without keys, a TLS stream is only counted once its handshake shows whether it was
established); and a finished connection leaves no reference cycle behind, so the replay runs
with few garbage collections.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import heapq
import ipaddress
import os
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

from borderflow.analysis.errors import InputError
from borderflow.analysis.records import (
    Connection,
    DnsRecord,
    HttpExchange,
    Message,
    NotDecryptedWhy,
    Observation,
    Payload,
    Record,
    TlsInfo,
    Weird,
)
from borderflow.analysis.sources import dns_wire, http1, http2, pcapdroid, quic_initial
from borderflow.analysis.sources.pcap_file import (
    TLS_KEY_LOG,
    CaptureDamaged,
    CaptureReader,
    NotACapture,
)
from borderflow.analysis.sources.pcap_packets import (
    TCP,
    TUNNEL_PORTS,
    UDP,
    ZERO_MACS,
    PacketDecoder,
    Segment,
)
from borderflow.analysis.sources.tcp_reassembly import StreamReassembler, StreamSink
from borderflow.analysis.sources.tls_stream import TlsSession
from borderflow.analysis.tls_hello import ClientHelloInfo, ja3, ja4
from borderflow.analysis.tlsdecrypt.keylog import KeyLog

SOURCE: Final = "replay.pcap"

_FIN: Final = 0x01
_SYN: Final = 0x02
_RST: Final = 0x04
_ACK: Final = 0x10

_TCP_IDLE: Final = 3600.0  # seconds of capture time before a silent TCP connection is closed
_UDP_IDLE: Final = 600.0
_CLOSED_LINGER: Final = 30.0  # a closed connection waits this long for stray packets
_SWEEP_INTERVAL: Final = 10.0
_WAKE_SLACK: Final = 1e-3  # seconds: a wake-up time is a lower bound despite rounding
PARALLEL_MIN_SIZE: Final = 32 << 20  # files this large are read in a helper process
_PROGRESS_EVERY: Final = 8192
_SNIFF_LIMIT: Final = 16 * 1024  # bytes of an unknown stream searched for a TLS hello
_MAX_WEIRD_PER_NAME: Final = 20
_GC_THRESHOLD: Final = 50_000  # allocations between collections while reading (default 700)

_DNS_PORTS: Final = frozenset({53, 5353, 5355})
_SSDP_PORT: Final = 1900
_NETBIOS_PORTS: Final = frozenset({137, 138})  # NBNS shares DNS's format, not its names
_SERVICE_PORTS: Final = frozenset({1080, 3128, 5228, 8000, 8080, 8443, 8888})
_CLIENT_HELLO_START = re.compile(rb"\x16\x03[\x00-\x04][\x00-\x40].\x01", re.DOTALL)
_SERVER_HELLO_START = re.compile(rb"\x16\x03[\x00-\x04][\x00-\x40].\x02", re.DOTALL)
_H2_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_PORTS: Final = struct.Struct("!HH")
# An Ethernet frame from its EtherType: IPv4 version and header length, total length,
# fragment field, protocol, then TCP's ports, sequence number, data offset and flags (for UDP:
# ports, length and checksum where the sequence number is). 48 bytes of frame.
_ETH_IPV4: Final = struct.Struct("!HBxH2xHxB10xHHI4xBB")


class _Shared:
    """State every connection of one replay shares."""

    def __init__(self, capture_id: str, app: str | None, keys: KeyLog) -> None:
        self.capture_id = capture_id
        self.app = app
        self.keys = keys
        self.out: list[Observation] = []
        self.dns_names: dict[str, str] = {}  # address -> the name a DNS answer gave it
        self.uid_map: dict[int, pcapdroid.UidMapEntry] = {}
        self.weird_counts: dict[str, int] = {}
        self.addresses: dict[bytes, str] = {}
        self.now = 0.0
        self.keys_possible = len(keys) > 0  # a key log was given, or the file can carry DSBs
        self.tls_connections = 0
        self.decrypted = 0
        self.exchanges = 0
        # (no sooner than, serial): when a sweep might find a connection due, so that sweeps
        # look at those only, not at every open connection (see PcapReplay._sweep).
        self.wake: list[tuple[float, int]] = []
        self.serials = 0

    def wake_at(self, conn: _Conn, limit: float) -> None:
        """Look at ``conn`` again once it may have been idle for ``limit`` seconds."""
        heapq.heappush(self.wake, (conn.last_ts + limit - _WAKE_SLACK, conn.serial))

    def address(self, packed: bytes) -> str:
        text = self.addresses.get(packed)
        if text is None:
            text = self.addresses[packed] = str(ipaddress.ip_address(packed))
        return text

    def weird(self, ts: float, uid: str | None, name: str, addl: str | None = None) -> None:
        seen = self.weird_counts.get(name, 0)
        self.weird_counts[name] = seen + 1
        if seen < _MAX_WEIRD_PER_NAME:
            self.out.append(
                Observation(records=(Weird(ts=ts, uid=uid, name=name, addl=addl, source=SOURCE),))
            )


class _Dns:
    """DNS messages of one connection: queries paired with responses by transaction id."""

    __slots__ = ("conn", "pending")

    def __init__(self, conn: _Conn) -> None:
        self.conn = conn
        self.pending: dict[int, tuple[float, dns_wire.DnsMessage]] = {}

    def message(self, raw: bytes, ts: float) -> None:
        msg = dns_wire.parse(raw)
        if msg is None:
            self.conn.shared.weird(ts, self.conn.uid, "unparsable_dns", f"{len(raw)} bytes")
            return
        if not msg.response:
            old = self.pending.pop(msg.trans_id, None)
            if old is not None:
                self._rows(old[0], old[1], None)
            self.pending[msg.trans_id] = (ts, msg)
            return
        query = self.pending.pop(msg.trans_id, None)
        if query is None:
            self._rows(ts, msg, msg)
        else:
            self._rows(query[0], query[1], msg)

    def _rows(
        self, ts: float, query: dns_wire.DnsMessage, response: dns_wire.DnsMessage | None
    ) -> None:
        conn = self.conn
        answers = ",".join(a.text for a in response.answers) if response is not None else None
        if response is not None and query.questions:
            name = query.questions[0].name
            for a in response.answers:
                if a.rtype in (1, 28):
                    conn.shared.dns_names[a.text] = name
        questions = query.questions or (response.questions if response is not None else ())
        records = tuple(
            DnsRecord(
                uid=conn.uid,
                ts=ts,
                trans_id=query.trans_id,
                query=q.name,
                qtype=q.qtype,
                qtype_name=dns_wire.type_name(q.qtype),
                rcode=response.rcode if response is not None else None,
                answers=answers,
            )
            for q in questions
        )
        if records:
            conn.shared.out.append(Observation(records=records))

    def end(self) -> None:
        for ts, msg in self.pending.values():
            self._rows(ts, msg, None)
        self.pending.clear()


class _DnsOverTcp:
    """DNS messages, each after a 2-byte length, in both directions of a TCP stream."""

    def __init__(self, dns: _Dns) -> None:
        self.dns = dns
        self._bufs = (bytearray(), bytearray())

    def data(self, from_client: bool, chunk: bytes) -> bool:
        buf = self._bufs[0 if from_client else 1]
        buf += chunk
        while len(buf) >= 2:
            length = (buf[0] << 8) | buf[1]
            if len(buf) < 2 + length:
                break
            self.dns.message(bytes(buf[2 : 2 + length]), self.dns.conn.shared.now)
            del buf[: 2 + length]
        return len(buf) < 1 << 17

    def gap(self, from_client: bool, size: int) -> bool:
        return False


class _Sniffer:
    """Buffers a stream's first bytes until they show its protocol, then hands over."""

    def __init__(self, conn: _Conn) -> None:
        self.conn = conn
        self.bufs = (bytearray(), bytearray())
        self.done = False

    def data(self, from_client: bool, chunk: bytes) -> bool:
        if self.done:
            return False
        self.bufs[0 if from_client else 1].extend(chunk)
        self.conn.sniff(self)
        return not self.done

    def gap(self, from_client: bool, size: int) -> bool:
        if not self.done and not self.bufs[0 if from_client else 1]:
            self.conn.sniff_failed(self, f"gap of {size} bytes before the first data")
        return False


class _Conn:
    """One TCP or UDP conversation."""

    __slots__ = (
        "app",
        "closed_at",
        "decrypted",
        "dns",
        "fin_orig",
        "fin_resp",
        "first_index",
        "http",
        "key",
        "last_ts",
        "orig",
        "orig_bytes",
        "orig_isn",
        "orig_pkts",
        "orig_stream",
        "proto",
        "quic",
        "resp",
        "resp_bytes",
        "resp_pkts",
        "resp_stream",
        "reverse",
        "rst_orig",
        "rst_resp",
        "serial",
        "server_name",
        "service",
        "shared",
        "syn",
        "synack",
        "tls",
        "trans_depth",
        "ts",
        "tunnel",
        "uid",
        "why",
    )

    def __init__(
        self,
        shared: _Shared,
        proto: int,
        key: bytes,
        flags: int,
        payload: bytes,
        tunnel: bool,
        ts: float,
        index: int,
    ) -> None:
        """The conversation whose first packet went the way ``key`` says (see ``_flow_key``)."""
        self.shared = shared
        self.proto = proto
        n = (len(key) - 4) >> 1
        src, dst = key[:n], key[n : 2 * n]
        sport, dport = _PORTS.unpack_from(key, 2 * n)
        reverse = dst + src + key[-2:] + key[-4:-2]
        if _sender_is_orig(proto, flags, sport, dport, payload):
            self.orig, self.resp = (src, sport), (dst, dport)
            self.key, self.reverse = key, reverse
        else:
            self.orig, self.resp = (dst, dport), (src, sport)
            self.key, self.reverse = reverse, key
        self.first_index = index
        self.ts = self.last_ts = ts
        self.serial = shared.serials = shared.serials + 1  # creation order
        self.uid = _uid(shared.capture_id, index, proto, self.orig, self.resp)
        self.orig_pkts = self.resp_pkts = 0
        self.orig_bytes = self.resp_bytes = 0
        self.syn = self.synack = False
        self.fin_orig = self.fin_resp = self.rst_orig = self.rst_resp = False
        self.orig_isn: int | None = None
        self.closed_at: float | None = None
        self.app: str | None = None
        self.service: str | None = None
        self.server_name: str | None = shared.dns_names.get(shared.address(self.resp[0]))
        self.why: NotDecryptedWhy | None = None
        self.decrypted = False
        self.trans_depth = 0
        self.tunnel = tunnel
        self.tls: TlsSession | None = None
        self.http: http1.Http1Parser | http2.Http2Parser | None = None
        self.dns: _Dns | None = None
        self.quic: quic_initial.InitialReader | None = None
        if proto == TCP:
            sniffer = _Sniffer(self)
            self.orig_stream = StreamReassembler(sniffer, True)
            self.resp_stream = StreamReassembler(sniffer, False)
            if self.orig[1] in _DNS_PORTS or self.resp[1] in _DNS_PORTS:
                self.dns = _Dns(self)
        elif self.orig[1] in _DNS_PORTS or self.resp[1] in _DNS_PORTS:
            self.dns = _Dns(self)
            self.service = "dns"
        elif self.orig[1] == _SSDP_PORT or self.resp[1] == _SSDP_PORT:
            self._start_http1(None)
            self.service = "ssdp"

    # -- packets --------------------------------------------------------------------------

    def packet(
        self,
        from_orig: bool,
        flags: int,
        seq: int,
        data: bytes,
        start: int,
        end: int,
        wire: int,
        ts: float,
    ) -> None:
        """One segment; its payload is ``data[start:end]``, ``wire`` bytes on the wire.

        The payload is cut out of the frame only when a reader still wants it: most
        segments of a metadata-only replay are only counted.
        """
        if ts > self.last_ts:
            self.last_ts = ts
        if from_orig:
            self.orig_pkts += 1
        else:
            self.resp_pkts += 1
        if self.proto != TCP:
            self._udp(data[start:end], wire, from_orig, ts)
        elif flags & 0x07:  # SYN, FIN or RST
            self._tcp(from_orig, flags, seq, data, start, end, wire, ts)
        elif wire:
            stream = self.orig_stream if from_orig else self.resp_stream
            if stream.sink is None:
                stream.segment(seq, b"", wire)
            else:
                if self.http is not None:
                    self.http.now = ts
                stream.segment(seq, data[start:end], wire)

    def _tcp(
        self,
        from_orig: bool,
        flags: int,
        seq: int,
        data: bytes,
        start: int,
        end: int,
        wire: int,
        ts: float,
    ) -> None:
        if flags & _SYN:
            if from_orig and not flags & _ACK:
                if not self.syn:
                    self.syn = True
                    self.orig_isn = seq
                    self.orig_stream.syn(seq)
            elif not from_orig:
                if flags & _ACK:
                    self.synack = True
                self.resp_stream.syn(seq)
            seq = (seq + 1) & 0xFFFFFFFF
        if flags & (_FIN | _RST):
            if flags & _RST:
                # A side that closed with FIN stays closed when it later resets (as in Zeek).
                if from_orig and not self.fin_orig:
                    self.rst_orig = True
                elif not from_orig and not self.fin_resp:
                    self.rst_resp = True
            elif from_orig:
                self.fin_orig = True
            else:
                self.fin_resp = True
            if flags & _RST or (self.fin_orig and self.fin_resp):
                self.closed_at = ts
                self.shared.wake_at(self, _CLOSED_LINGER)
        if wire:
            if self.http is not None:
                self.http.now = ts
            stream = self.orig_stream if from_orig else self.resp_stream
            stream.segment(seq, data[start:end], wire)

    def _udp(self, payload: bytes, wire: int, from_orig: bool, ts: float) -> None:
        if from_orig:
            self.orig_bytes += wire
        else:
            self.resp_bytes += wire
        if self.tunnel:
            return
        if self.dns is not None:
            if payload:
                self.dns.message(payload, ts)
            return
        if self.http is not None:
            self.http.now = ts
            self.http.data(from_orig, payload)  # SSDP: HTTP requests in datagrams
            return
        if (
            self.orig_pkts + self.resp_pkts == 1
            and self.resp[1] not in _NETBIOS_PORTS
            and dns_wire.looks_like_dns(payload)
        ):
            self.dns = _Dns(self)  # DNS on an unusual port
            self.service = "dns"
            self.dns.message(payload, ts)
            return
        if from_orig and payload and payload[0] & 0xC0 == 0xC0:
            quic = self.quic
            if quic is None:
                if not quic_initial.is_initial(payload):
                    return
                quic = self.quic = quic_initial.InitialReader()
                self.service = "quic"
            if not quic.done:
                quic.datagram(payload)

    def is_new_connection(self, seq: int, from_orig: bool) -> bool:
        """A fresh SYN on this 5-tuple (another ISN): the port was reused for a new connection."""
        if self.orig_isn is None:
            return self.closed_at is not None or self.fin_orig or self.fin_resp
        return seq != self.orig_isn and from_orig

    # -- protocol detection ---------------------------------------------------------------

    def sniff(self, sniffer: _Sniffer) -> None:
        client, server = sniffer.bufs
        if not client:
            if len(server) > _SNIFF_LIMIT:
                self.sniff_failed(sniffer, None)
            return
        if self.dns is not None:
            self._hand_over(sniffer, _DnsOverTcp(self.dns), 0, 0)
            self.service = "dns"
            return
        head = bytes(client[:24])
        if len(head) >= 3 and head[0] == 0x16 and head[1] == 3:
            self._start_tls(sniffer, 0, 0)
            return
        if head.startswith(_H2_PREFACE[: len(head)]) and len(head) < len(_H2_PREFACE):
            return  # too early to tell
        if head.startswith(_H2_PREFACE):
            self._start_http2(sniffer)
            return
        if http1.looks_like_request(bytes(client[:64])):
            self._start_http1(sniffer)
            return
        if len(head) < 4 and not server:
            return
        match = _CLIENT_HELLO_START.search(client)
        if match is not None:
            sm = _SERVER_HELLO_START.search(server)
            if sm is None and len(server) < _SNIFF_LIMIT:
                return  # wait for the server's answer to line up its side too
            self._start_tls(sniffer, match.start(), sm.start() if sm else len(server))
            return
        if len(client) > _SNIFF_LIMIT or len(server) > _SNIFF_LIMIT:
            self.sniff_failed(sniffer, None)

    def sniff_failed(self, sniffer: _Sniffer, why: str | None) -> None:
        sniffer.done = True
        if why:
            self.shared.weird(self.shared.now, self.uid, "stream_not_analyzed", why)

    def _hand_over(
        self, sniffer: _Sniffer, analyzer: StreamSink, client_from: int, server_from: int
    ) -> None:
        sniffer.done = True
        self.orig_stream.sink = self.resp_stream.sink = analyzer
        client, server = sniffer.bufs
        if len(client) > client_from and not analyzer.data(True, bytes(client[client_from:])):
            self.orig_stream.sink = None
        if len(server) > server_from and not analyzer.data(False, bytes(server[server_from:])):
            self.resp_stream.sink = None

    def _start_tls(self, sniffer: _Sniffer, client_from: int, server_from: int) -> None:
        # A pcapng may bring its secrets later in the file (a DSB written after the handshake
        # began): hand the session the key log even while it is empty; it looks keys up late.
        keys = self.shared.keys if self.shared.keys_possible else None
        self.tls = TlsSession(keys, on_app_data=self._tls_app_data, on_app_gap=self._tls_app_gap)
        self.service = "tls"
        self._hand_over(sniffer, self.tls, client_from, server_from)

    def _start_http1(self, sniffer: _Sniffer | None) -> None:
        self.http = http1.Http1Parser(self._http_exchange, on_switch=self._switch)
        self.http.now = self.shared.now
        self.service = "http"
        if sniffer is not None:
            self._hand_over(sniffer, self.http, 0, 0)

    def _start_http2(self, sniffer: _Sniffer | None) -> http2.Http2Parser:
        parser = http2.Http2Parser(self._http_exchange)
        parser.now = self.shared.now
        self.http = parser
        self.service = "http"
        if sniffer is not None:
            self._hand_over(sniffer, parser, 0, 0)
        return parser

    def _switch(self, protocol: str, client_rest: bytes, server_rest: bytes) -> None:
        """HTTP/1 handed the connection over (CONNECT tunnel, Upgrade)."""
        if protocol == "tunnel":
            self.http = None  # its CONNECT exchange is written; the tunnel gets its own reader
            sniffer = _Sniffer(self)
            self.orig_stream.sink = self.resp_stream.sink = sniffer
            if client_rest:
                sniffer.data(True, client_rest)
            if server_rest and not sniffer.done:
                sniffer.data(False, server_rest)
            return
        if protocol == "h2c":
            parser = http2.Http2Parser(self._http_exchange)
            parser.now = self.shared.now
            self.http = parser
            self.orig_stream.sink = self.resp_stream.sink = parser
            if client_rest:
                parser.data(True, client_rest)
            if server_rest:
                parser.data(False, server_rest)
            return
        self.orig_stream.sink = None
        self.resp_stream.sink = None

    # -- application data -----------------------------------------------------------------

    def _tls_app_data(self, from_client: bool, data: bytes) -> None:
        if self.http is None:
            tls = self.tls
            h2 = (tls is not None and tls.alpn == "h2") or (
                from_client and data.startswith(http2.PREFACE[:16])
            )
            if h2:
                self._start_http2(None)
            else:
                self._start_http1(None)
        assert self.http is not None
        self.http.now = self.shared.now
        self.http.data(from_client, data)

    def _tls_app_gap(self, from_client: bool) -> None:
        if self.http is not None:
            self.http.gap(from_client, 0)

    def _http_exchange(self, req: http1.Message, resp: http1.Message | None) -> None:
        self.shared.exchanges += 1
        self.trans_depth += 1
        depth = self.trans_depth
        host = req.header("host") or req.header(":authority") or self.server_name
        host = host or self.shared.address(self.resp[0])
        if self.server_name is None and req.header("host"):
            self.server_name = _strip_port(req.header("host") or "")
        scheme = "https" if self.tls is not None else "http"
        uri = req.target
        url = f"{scheme}://{host}{uri}" if uri.startswith("/") else uri
        method = req.first.decode("latin-1")
        websocket = (
            resp is not None
            and resp.first == b"101"
            and (resp.header("upgrade") or "").lower() == "websocket"
        )
        exchange = HttpExchange(
            uid=self.uid,
            trans_depth=depth,
            ts=req.ts,
            method=method,
            host=host,
            uri=uri,
            http_version=req.version,
            status_code=int(resp.first) if resp is not None else None,
            request_content_type=req.header("content-type"),
            request_body_len=req.body_len,
            response_content_type=resp.header("content-type") if resp is not None else None,
            response_body_len=resp.body_len if resp is not None else None,
            error=req.error or (resp.error if resp is not None else None),
            websocket=websocket,
        )
        payloads = [self._payload(depth, req, "request", method, url)]
        if resp is not None and resp.body:
            payloads.append(self._payload(depth, resp, "response", None, url))
        self.shared.out.append(Observation(records=(exchange,), payloads=tuple(payloads)))

    def _payload(
        self,
        depth: int,
        m: http1.Message,
        direction: Literal["request", "response"],
        method: str | None,
        url: str,
    ) -> Payload:
        return Payload(
            uid=self.uid,
            trans_depth=depth,
            ts=m.ts,
            message=Message(
                direction=direction,
                method=method,
                url=url,
                headers=tuple((k, v) for k, v in m.headers if not k.startswith(":")),
                body=bytes(m.body),
            ),
        )

    # -- the end --------------------------------------------------------------------------

    def finish(self) -> None:
        """The connection is over: flush its streams and write its rows."""
        shared = self.shared
        if self.proto == TCP:
            shared.now = self.last_ts
            self.orig_stream.flush()
            self.resp_stream.flush()
            self.orig_bytes = self.orig_stream.size
            self.resp_bytes = self.resp_stream.size
            missed = self.orig_stream.gap_bytes + self.resp_stream.gap_bytes
            if missed:  # Zeek's missed_bytes: sent, but not in the capture
                shared.weird(self.last_ts, self.uid, "tcp_bytes_not_captured", str(missed))
        if self.http is not None:
            self.http.now = self.last_ts
            self.http.end()
            for problem in self.http.problems:
                name, _, addl = problem.partition(" ")
                shared.weird(self.last_ts, self.uid, name, addl or None)
        if self.dns is not None:
            self.dns.end()
        records: list[Record] = []
        tls = self.tls
        if tls is not None:
            shared.tls_connections += 1
            shared.decrypted += tls.decrypted
            for problem in tls.problems:
                name, _, addl = problem.partition(" ")
                shared.weird(self.last_ts, self.uid, name, addl or None)
            hello = tls.hello
            if hello is not None and hello.server_name:
                self.server_name = hello.server_name
            if tls.keys_found and tls.undecrypted:
                shared.weird(
                    self.last_ts, self.uid, "tls_records_not_decrypted", str(tls.undecrypted)
                )
            if tls.decrypted:
                self.decrypted = True
                self.orig_bytes, self.resp_bytes = tls.app_bytes
                if self.http is not None:
                    self.service = "http"
            else:
                self.why = NotDecryptedWhy.NO_KEY_LOG
            if hello is not None or tls.server_hello:
                ja3_ja4 = _fingerprints(hello) if hello else (None, None)
                records.append(
                    TlsInfo(
                        uid=self.uid,
                        ts=self.ts,
                        version=tls.version_name,
                        server_name=hello.server_name if hello else None,
                        alpn=",".join(hello.alpn) if hello else None,
                        ja3=ja3_ja4[0],
                        ja4=ja3_ja4[1],
                        established=tls.established,
                        failure=tls.failure,
                    )
                )
        elif self.quic is not None:
            hello = self.quic.hello
            if self.quic.problem:
                shared.weird(self.ts, self.uid, *self.quic.problem.split(" ", 1))
            if hello is not None:
                self.server_name = hello.server_name or self.server_name
                records.append(
                    TlsInfo(
                        uid=self.uid,
                        ts=self.ts,
                        version=hello.version_name,
                        server_name=hello.server_name,
                        alpn=",".join(hello.alpn),
                        ja3=_fingerprints(hello)[0],
                        ja4=ja4(hello, transport="quic"),
                        established=bool(self.resp_pkts),
                        failure=None,
                    )
                )
            self.why = NotDecryptedWhy.NO_KEY_LOG
        elif self.http is not None or self.dns is not None:
            self.decrypted = bool(self.trans_depth) or self.dns is not None
        elif self.tunnel:
            self.service = "vxlan" if self.resp[1] == 4789 else "geneve"
            self.why = NotDecryptedWhy.NOT_TLS
        elif self.orig_bytes or self.resp_bytes:
            self.why = NotDecryptedWhy.NOT_TLS
        else:
            self.why = NotDecryptedWhy.INCOMPLETE
        orig_h, resp_h = shared.address(self.orig[0]), shared.address(self.resp[0])
        proto: Literal["tcp", "udp"] = "tcp" if self.proto == TCP else "udp"
        records.insert(
            0,
            Connection(
                uid=self.uid,
                capture_id=shared.capture_id,
                ts=self.ts,
                duration=self.last_ts - self.ts,
                orig_h=orig_h,
                orig_p=self.orig[1],
                resp_h=resp_h,
                resp_p=self.resp[1],
                proto=proto,
                service=self.service,
                server_name=self.server_name,
                app=self.app or shared.app,
                decrypted=self.decrypted,
                not_decrypted_why=None if self.decrypted else self.why,
                orig_bytes=self.orig_bytes,
                resp_bytes=self.resp_bytes,
                community_id=_community_id(self.proto, self.orig, self.resp),
                resolved_by="device",
                proxy_mode=None,
                conn_state=self.conn_state(),
                orig_pkts=self.orig_pkts,
                resp_pkts=self.resp_pkts,
            ),
        )
        shared.out.append(Observation(records=tuple(records), destinations=(resp_h,)))
        # The readers hold callbacks into this connection: unlinked, the whole conversation
        # is freed by reference counting now, not by the cyclic collector (see _read).
        self.tls = self.http = self.dns = None
        if self.proto == TCP:
            self.orig_stream.sink = self.resp_stream.sink = None

    def conn_state(self) -> str:
        """Zeek's conn_state (scripts/base/protocols/conn/main.zeek) for this connection."""
        if self.proto != TCP:
            if self.orig_pkts and self.resp_pkts:
                return "SF"
            return "S0" if self.orig_pkts else "OTH"
        if not self.syn and not self.synack:
            return "OTH"
        if self.syn and not self.synack and not self.resp_pkts:
            if self.rst_orig:
                return "RSTOS0"
            return "SH" if self.fin_orig else "S0"
        if self.syn and not self.synack and self.rst_resp and not self.resp_bytes:
            return "REJ"
        if self.synack and not self.syn:
            if self.rst_resp:
                return "RSTRH"
            if self.fin_resp and not self.orig_pkts:
                return "SHR"
        if self.rst_orig:
            return "RSTO"
        if self.rst_resp:
            return "RSTR"
        if self.fin_orig and self.fin_resp:
            return "SF"
        if self.fin_orig:
            return "S2"
        if self.fin_resp:
            return "S3"
        return "S1"


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while packets are read.

    Each connection allocates a few dozen objects and frees them, without cycles, when it
    ends (``_Conn.finish``); the thousands of open ones would be scanned again and again at
    the default threshold, a tenth of the replay's time.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], _GC_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _uid(
    capture_id: str, index: int, proto: int, orig: tuple[bytes, int], resp: tuple[bytes, int]
) -> str:
    """``derived_id("C", capture_id, key)`` for the connection first seen at packet ``index``.

    Same value as ``ids.derived_id`` (a test says so), computed without base64's slow
    pure-Python base32 over the whole digest: its first 10 bytes are exactly 16 characters.
    """
    key = f"{index}:{proto}:{orig[0].hex()}:{orig[1]}:{resp[0].hex()}:{resp[1]}"
    digest = hashlib.sha256(f"{capture_id}\x1f{key}".encode()).digest()
    return "C" + base64.b32encode(digest[:10]).decode()


def _community_id(proto: int, orig: tuple[bytes, int], resp: tuple[bytes, int]) -> str:
    """Community ID v1 from packed addresses; equal to ``ids.community_id`` (a test says so)."""
    (src, sport), (dst, dport) = orig, resp
    if (src, sport) > (dst, dport):
        src, dst, sport, dport = dst, src, dport, sport
    data = b"\0\0" + src + dst + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


_FINGERPRINTS: dict[tuple[object, ...], tuple[str, str]] = {}


def _fingerprints(hello: ClientHelloInfo) -> tuple[str, str]:
    """(JA3, JA4) of a ClientHello, cached: an app's connections mostly share one hello."""
    key = (
        hello.legacy_version,
        hello.versions,
        hello.cipher_suites,
        hello.extensions,
        hello.supported_groups,
        hello.ec_point_formats,
        hello.signature_algorithms,
        hello.alpn,
    )
    found = _FINGERPRINTS.get(key)
    if found is None:
        if len(_FINGERPRINTS) > 4096:
            _FINGERPRINTS.clear()
        found = _FINGERPRINTS[key] = (ja3(hello), ja4(hello))
    return found


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() else host


def _sender_is_orig(proto: int, flags: int, sport: int, dport: int, payload: bytes) -> bool:
    """Who opened a conversation first seen at this packet (Zeek's and tshark's heuristics)."""
    if proto == TCP:
        if flags & _SYN:
            return not flags & _ACK
    elif (sport in _DNS_PORTS or dport in _DNS_PORTS) and len(payload) > 2 and sport != dport:
        return not payload[2] & 0x80  # a DNS response comes from the responder
    sport_service = sport < 1024 or sport in _SERVICE_PORTS
    dport_service = dport < 1024 or dport in _SERVICE_PORTS
    return not (sport_service and not dport_service)


# One segment as the hot loop reads it: protocol, flow key, TCP flags, sequence number, the
# bytes holding the payload with its start and end in them, payload bytes on the wire, and
# whether this is a tunnel's outer flow.
_Item = tuple[int, bytes, int, int, bytes, int, int, int, bool]


def _flow_key(seg: Segment) -> bytes:
    """A conversation's key in the direction of this segment: addresses, then ports.

    For IPv4 these are bytes 26 to 38 of an Ethernet frame as they stand, so the fast path
    takes its key with one slice.
    """
    return seg.src + seg.dst + _PORTS.pack(seg.sport, seg.dport)


def _item(seg: Segment) -> _Item:
    payload = seg.payload
    return (
        seg.proto,
        _flow_key(seg),
        seg.flags,
        seg.seq,
        payload,
        0,
        len(payload),
        seg.payload_len,
        seg.tunnel,
    )


class PcapReplay:
    """One replay of one capture file; ``observations()`` yields everything it finds."""

    def __init__(
        self,
        path: Path,
        capture_id: str,
        *,
        app: str | None = None,
        keys: KeyLog | None = None,
        progress: Callable[[int], None] | None = None,
        on_summary: Callable[[str], None] | None = None,
        parallel_threshold: int | None = PARALLEL_MIN_SIZE,
    ) -> None:
        self.path = path
        self.progress = progress
        self.on_summary = on_summary
        self.parallel_threshold = parallel_threshold  # None: always in this process
        self.shared = _Shared(capture_id, app, keys if keys is not None else KeyLog())
        self.decoder = PacketDecoder()
        # Both directions of every live conversation (see ``_flow_key``), per protocol.
        self.tcp_flows: dict[bytes, _Conn] = {}
        self.udp_flows: dict[bytes, _Conn] = {}
        self.conns: dict[int, _Conn] = {}  # the live ones by serial: in the order they began
        self.packets = 0
        self.connections = 0

    def observations(self) -> Iterator[Observation]:
        """Observations as the file is read; raises InputError (after yielding) if damaged.

        Files of ``parallel_threshold`` bytes or more are read in a helper process
        (``pcap_helper``) on a machine with more than one core.
        """
        if self._use_helper():
            from borderflow.analysis.sources import pcap_helper

            keys = self.shared.keys if len(self.shared.keys) else None
            try:
                process = pcap_helper.start_helper(
                    self.path, self.shared.capture_id, self.shared.app, keys
                )
            except pcap_helper.HelperUnavailable:
                pass  # no interpreter to start: read the file here
            else:
                yield from pcap_helper.observations_in_helper(
                    process, progress=self.progress, on_summary=self.on_summary
                )
                return
        yield from self._observations()

    def _use_helper(self) -> bool:
        if self.parallel_threshold is None or (os.cpu_count() or 1) < 2:
            return False
        try:
            return self.path.stat().st_size >= self.parallel_threshold
        except OSError:
            return False

    def _observations(self) -> Iterator[Observation]:
        shared = self.shared
        try:
            reader = CaptureReader(
                self.path, on_secrets=self._secrets, on_custom_block=self._custom_block
            )
        except NotACapture as e:
            raise InputError(f"{self.path}: {e}") from e
        except OSError as e:
            raise InputError(f"{self.path}: cannot read ({e.strerror})") from e
        damage: str | None = None
        shared.keys_possible = shared.keys_possible or reader.format == "pcapng"
        with reader, _rare_collections():
            try:
                yield from self._read(reader)
            except CaptureDamaged as e:
                damage = str(e)
            except OSError as e:
                damage = f"read error ({e.strerror})"
        yield from self._close_all()
        if self.decoder.unknown_linktypes:
            kinds = ", ".join(str(t) for t in sorted(self.decoder.unknown_linktypes))
            shared.weird(0.0, None, "unsupported_link_type", f"{self.path.name}: {kinds}")
        if damage is not None:
            shared.weird(shared.now, None, "damaged_capture", f"{self.path.name}: {damage}")
        for name, count in shared.weird_counts.items():
            if count > _MAX_WEIRD_PER_NAME:
                shared.out.append(
                    Observation(
                        records=(
                            Weird(
                                ts=shared.now,
                                uid=None,
                                name=name,
                                addl=f"{count - _MAX_WEIRD_PER_NAME} more not recorded",
                                source=SOURCE,
                            ),
                        )
                    )
                )
        yield from shared.out
        shared.out.clear()
        if self.on_summary is not None:
            self.on_summary(self.summary())
        if damage is not None:
            raise InputError(
                f"{self.path}: {damage}; the {self.packets} packets before were replayed"
            )

    def summary(self) -> str:
        """One line for the end of a replay: what the file held and what could be read."""
        s = self.shared
        text = f"{self.packets} packets, {self.connections} connections"
        if s.tls_connections:
            text += f", {s.tls_connections} TLS ({s.decrypted} decrypted"
            text += f" with {len(s.keys)} secrets)" if len(s.keys) else ", no key log)"
        if s.exchanges:
            text += f", {s.exchanges} HTTP requests"
        weird = sum(s.weird_counts.values())
        return text + (f", {weird} problems (see the weird table)" if weird else "")

    def _read(self, reader: CaptureReader) -> Iterator[Observation]:
        # The hot loop: locals, tuple unpacking, no per-packet objects but the flow key; frames
        # stay in the reader's buffer. Most (Ethernet, IPv4 without options or fragments, TCP
        # or UDP) are read here, in one ``struct`` call; the others go through the decoder,
        # tunnels and all.
        shared = self.shared
        decode = self.decoder.decode
        headers = _ETH_IPV4.unpack_from
        tcp_flows, udp_flows, conns = self.tcp_flows, self.udp_flows, self.conns
        out = shared.out
        progress = self.progress
        now = shared.now
        next_sweep = float("-inf")
        packets = self.packets
        try:
            for ts, linktype, buf, o, frame_end, _wirelen, comments in reader.spans():
                # The frame is buf[o:frame_end]; offsets below are into buf.
                packets += 1
                if ts > now:
                    now = shared.now = ts
                items: Sequence[_Item] = ()
                if linktype == 1 and frame_end - o >= 48:
                    etype, vihl, total, frag, proto, sport, dport, seq, doff, flags = headers(
                        buf, o + 12
                    )
                    if (
                        etype == 0x0800
                        and vihl == 0x45
                        and not frag & 0x3FFF
                        and (buf[o + 5] or buf[o + 11] or buf[o : o + 12] != ZERO_MACS)
                    ):
                        wire_end = o + 14 + total if total >= 20 else frame_end
                        end = wire_end if wire_end <= frame_end else frame_end
                        if proto == TCP:
                            start = o + 34 + (doff >> 4) * 4
                            if end - o >= 54 and start - o >= 54:
                                wire = wire_end - start if wire_end > start else 0
                                key = buf[o + 26 : o + 38]
                                items = ((TCP, key, flags, seq, buf, start, end, wire, False),)
                        elif (
                            proto == UDP
                            and end - o >= 42
                            and sport not in TUNNEL_PORTS
                            and dport not in TUNNEL_PORTS
                        ):
                            length = seq >> 16  # the UDP length, where TCP has its seq
                            start = o + 42
                            stop = o + 34 + length if 8 <= length <= end - o - 34 else end
                            wire = length - 8 if length - 8 > stop - start else stop - start
                            key = buf[o + 26 : o + 38]
                            items = ((UDP, key, 0, 0, buf, start, stop, wire, False),)
                tag = None
                if not items:
                    segments, tag, weird = decode(linktype, buf[o:frame_end], ts)
                    if weird is not None:
                        shared.weird(ts, None, weird, f"packet {packets}")
                    items = [_item(seg) for seg in segments]
                if comments and tag is None:
                    tag = self._comment_tag(comments)
                for proto, key, flags, seq, data, start, end, wire, tunnel in items:
                    flows = tcp_flows if proto == TCP else udp_flows
                    conn = flows.get(key)
                    if conn is None or (
                        proto == TCP
                        and flags & 0x12 == _SYN
                        and conn.is_new_connection(seq, key == conn.key)
                    ):
                        if conn is not None:
                            self._forget(conn)
                            conn.finish()
                        self.packets = packets
                        payload = data[start:end]
                        conn = _Conn(shared, proto, key, flags, payload, tunnel, ts, packets)
                        flows[conn.key] = flows[conn.reverse] = conn
                        conns[conn.serial] = conn
                        shared.wake_at(conn, _CLOSED_LINGER)  # the soonest it can be due
                        self.connections += 1
                    if tag is not None and conn.app is None and tag.name:
                        conn.app = tag.name
                    conn.packet(key == conn.key, flags, seq, data, start, end, wire, ts)
                if ts >= next_sweep:
                    if next_sweep > float("-inf"):
                        self._sweep(ts)
                    next_sweep = ts + _SWEEP_INTERVAL
                if out:
                    self.packets = packets
                    yield from out
                    out.clear()
                if progress is not None and not packets % _PROGRESS_EVERY:
                    progress(reader.position())
        finally:
            self.packets = packets
        if progress is not None:
            progress(reader.position())

    def _comment_tag(self, comments: tuple[bytes, ...]) -> pcapdroid.AppTag | None:
        for comment in comments:
            uid = pcapdroid.uid_of_comment(comment)
            if uid is not None:
                entry = self.shared.uid_map.get(uid)
                return pcapdroid.AppTag(uid, entry.package if entry else None)
        return None

    def _forget(self, conn: _Conn) -> None:
        """Take a conversation out of the live ones (before finishing it)."""
        flows = self.tcp_flows if conn.proto == TCP else self.udp_flows
        del flows[conn.key]
        flows.pop(conn.reverse, None)  # the same key when a socket talks to itself
        del self.conns[conn.serial]

    def _sweep(self, now: float) -> None:
        """Finish connections that closed a while ago or have been silent too long.

        In the order they began, as a walk over all of them would; only those whose wake-up
        time has come are looked at, and put back to sleep until their next possible one.
        """
        shared, conns = self.shared, self.conns
        wake = shared.wake
        due: dict[int, _Conn] = {}
        later: list[tuple[_Conn, float]] = []
        while wake and wake[0][0] <= now:
            _, serial = heapq.heappop(wake)
            conn = conns.get(serial)
            if conn is None or serial in due:
                continue  # finished already, or a second wake-up
            limit = _TCP_IDLE if conn.proto == TCP else _UDP_IDLE
            if conn.closed_at is not None:
                limit = _CLOSED_LINGER
            if now - conn.last_ts > limit:
                due[serial] = conn
            else:
                later.append((conn, limit))  # after the loop: its time may be this sweep's
        for conn, limit in later:
            shared.wake_at(conn, limit)
        for serial in sorted(due):
            conn = due[serial]
            self._forget(conn)
            conn.finish()
        self.decoder.expire_fragments(now)

    def _close_all(self) -> Iterator[Observation]:
        for conn in sorted(self.conns.values(), key=lambda c: c.first_index):
            conn.finish()
            if self.shared.out:
                yield from self.shared.out
                self.shared.out.clear()
        self.conns.clear()
        self.tcp_flows.clear()
        self.udp_flows.clear()
        self.shared.wake.clear()

    def _secrets(self, kind: int, data: bytes) -> None:
        if kind == TLS_KEY_LOG:
            self.shared.keys.add_text(data.decode("utf-8", "replace"))

    def _custom_block(self, pen: int, data: bytes, little_endian: bool) -> None:
        if pen != pcapdroid.PEN:
            return
        parsed = pcapdroid.parse_uid_map(data, little_endian=little_endian)
        if parsed is not None:
            self.shared.uid_map[parsed[0]] = parsed[1]

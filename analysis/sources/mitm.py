"""mitmproxy flows (live hooks, .mitm files, HAR) as Observations.

The same ``ConnTracker`` serves the live recorder and file replay, so a flow read from a file
becomes exactly the rows the live proxy would have written. Its methods run on mitmproxy's
event loop: they only copy references to what the flow already holds (bytes are immutable)
and count; all decoding happens later, in the pipeline's worker. For HTTP exchanges, the one
event per request, even building the rows is left for later: the live recorder hands over an
``ExchangeSnapshot``, which the helper process turns into an ``Observation``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from mitmproxy import connection, dns, http, tcp, udp
from mitmproxy.net.dns import types as dns_types

from borderflow.analysis.ids import community_id, derived_id
from borderflow.analysis.records import (
    Connection,
    Direction,
    DnsRecord,
    HttpExchange,
    Message,
    NotDecryptedWhy,
    Observation,
    Payload,
    Record,
    TlsInfo,
)
from borderflow.analysis.sources.quic_initial import InitialReader
from borderflow.analysis.tls_hello import ClientHelloInfo, ja3, ja4, parse_client_hello

# Modes in which mitmproxy resolves the hostname the client asked for (so resp_h is the
# proxy's choice of address, not the device's).
_PROXY_RESOLVES = frozenset({"regular", "socks5", "upstream"})
_MAX_HELLO = 64 * 1024  # bytes a ClientHello may take, several records included
_MAX_INITIALS = 8  # datagrams a QUIC ClientHello may take
_RawFlow = tcp.TCPFlow | udp.UDPFlow  # a protocol mitmproxy does not parse


@dataclass(slots=True)
class _ConnState:
    """What is known so far about one client connection; mutated on the event loop only."""

    uid: str
    ts: float
    client: connection.Client
    server: connection.Server | None = None
    service: str | None = None
    server_name: str | None = None
    hello: ClientHelloInfo | None = None
    hello_size: int = 0
    udp: bool = False
    tls_established: bool = False
    tls_failure: str | None = None
    why: NotDecryptedWhy | None = None
    decrypted: bool = False
    orig_bytes: int = 0
    resp_bytes: int = 0
    stream: _RawFlow | None = None  # a raw flow that has started, not ended
    counted: bool = False
    trans_depth: int = 0
    depth_of: dict[str, int] = field(default_factory=dict)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _head_size(message: http.Message) -> int:
    """Bytes of a message's header block as sent: field lines plus a start line estimate."""
    return 32 + sum(len(k) + len(v) + 4 for k, v in message.headers.fields)


def _state(data: http.MessageData) -> dict[str, Any]:
    """A message's values as its constructor takes them, header blocks as (immutable) tuples.

    What mitmproxy's ``get_state`` gives, with types; ``Request(**state)`` rebuilds the message.
    """
    trailers = data.trailers.fields if data.trailers is not None else None
    return {**vars(data), "headers": data.headers.fields, "trailers": trailers}


class ExchangeSnapshot(NamedTuple):
    """An HTTP exchange as the hook saw it, in mitmproxy's own state form: immutable values.

    Taking one costs about a microsecond and pickles at C speed; building the rows from it
    (parsing the Host header into a URL, decoding headers, the dataclasses) costs tens of
    microseconds, which is why the live recorder leaves ``observation`` to the helper process.
    """

    uid: str
    trans_depth: int
    request: dict[str, Any]  # _state(): the arguments of http.Request(...)
    response: dict[str, Any] | None  # the arguments of http.Response(...)
    error: str | None
    websocket: bool

    def observation(self) -> Observation:
        """The exchange's http row and its request and response payloads."""
        req = http.Request(**self.request)
        resp = http.Response(**self.response) if self.response is not None else None
        exchange = HttpExchange(
            uid=self.uid,
            trans_depth=self.trans_depth,
            ts=req.timestamp_start,
            method=req.method,
            host=req.pretty_host,
            uri=req.path,
            http_version=req.http_version,
            status_code=resp.status_code if resp else None,
            request_content_type=req.headers.get("content-type"),
            request_body_len=len(req.raw_content or b""),
            response_content_type=resp.headers.get("content-type") if resp else None,
            response_body_len=len(resp.raw_content or b"") if resp else None,
            error=self.error,
            websocket=self.websocket,
        )
        url = req.pretty_url
        payloads = [self._payload(req.timestamp_start, "request", req, url)]
        if resp is not None and resp.raw_content:
            payloads.append(self._payload(resp.timestamp_start, "response", resp, url))
        return Observation(records=(exchange,), payloads=tuple(payloads))

    def bodies(self) -> tuple[bytes, bytes]:
        """The request and the response body (empty when there is none)."""
        response = self.response["content"] if self.response is not None else None
        return self.request["content"] or b"", response or b""

    def with_bodies(self, bodies: Mapping[int, bytes]) -> ExchangeSnapshot:
        """A copy with body 0 (request) and/or 1 (response) replaced, as in ``bodies``."""
        request, response = self.request, self.response
        if 0 in bodies:
            request = {**request, "content": bodies[0]}
        if 1 in bodies and response is not None:
            response = {**response, "content": bodies[1]}
        return self._replace(request=request, response=response)

    def _payload(
        self, ts: float, direction: Direction, message: http.Request | http.Response, url: str
    ) -> Payload:
        return Payload(
            uid=self.uid,
            trans_depth=self.trans_depth,
            ts=ts,
            message=Message(
                direction=direction,
                method=message.method if isinstance(message, http.Request) else None,
                url=url,
                headers=tuple(
                    (k.decode("utf-8", "replace"), v.decode("utf-8", "replace"))
                    for k, v in message.headers.fields
                ),
                body=message.raw_content or b"",
            ),
        )


class ConnTracker:
    """Turn mitmproxy's flows and connection events into Observations.

    ``key`` identifies a client connection: mitmproxy's ``Client.id`` for live traffic and
    .mitm files (which keep it), a flow's position for HAR files (whose ids are made up on
    every read).
    """

    def __init__(self, capture_id: str, *, app: str | None = None) -> None:
        self.capture_id = capture_id
        self.app = app
        self._open: dict[str, _ConnState] = {}

    def __len__(self) -> int:
        return len(self._open)

    def state(self, key: str, client: connection.Client) -> _ConnState:
        st = self._open.get(key)
        if st is None:
            st = _ConnState(
                uid=derived_id("C", self.capture_id, key),
                ts=client.timestamp_start or time.time(),
                client=client,
            )
            self._open[key] = st
        return st

    # -- events ---------------------------------------------------------------------------

    def clienthello(
        self, key: str, client: connection.Client, hello: ClientHelloInfo | None, size: int
    ) -> None:
        """The client's TLS ClientHello (``size`` bytes on the wire) arrived."""
        st = self.state(key, client)
        st.hello = hello
        st.hello_size = size
        st.service = st.service or "tls"
        if hello is not None and hello.server_name:
            st.server_name = hello.server_name

    def tls_established(self, key: str, client: connection.Client) -> None:
        self.state(key, client).tls_established = True

    def tls_failed(
        self, key: str, client: connection.Client, error: str | None, *, client_side: bool
    ) -> None:
        """The TLS handshake failed: on the client side this is what certificate pinning does."""
        st = self.state(key, client)
        st.tls_failure = error or "handshake failed"
        if client_side and st.why is not NotDecryptedWhy.PASSED_THROUGH:
            st.why = NotDecryptedWhy.PINNED_TLS  # what the app did matters more than the server
        elif st.why is None:
            st.why = NotDecryptedWhy.SERVER_TLS_FAILED
        st.service = "tls"

    def passed_through(self, key: str, client: connection.Client) -> None:
        """The connection is forwarded uninspected because its host rejected interception."""
        st = self.state(key, client)
        st.why = NotDecryptedWhy.PASSED_THROUGH
        st.service = "tls"

    def connect_target(self, key: str, client: connection.Client, host: str) -> None:
        """The host an HTTP CONNECT asked for: the name the device used, even for raw TCP."""
        st = self.state(key, client)
        st.server_name = st.server_name or host

    def server(self, key: str, client: connection.Client, server: connection.Server) -> None:
        self.state(key, client).server = server

    # -- flows ----------------------------------------------------------------------------

    def http_exchange(self, key: str, flow: http.HTTPFlow) -> Observation:
        """An HTTP exchange that completed or failed (also a WebSocket's opening handshake)."""
        return self.exchange_snapshot(key, flow).observation()

    def exchange_snapshot(self, key: str, flow: http.HTTPFlow) -> ExchangeSnapshot:
        """``http_exchange`` for the event loop: count the exchange, build its rows later."""
        st = self.state(key, flow.client_conn)
        st.server = st.server or flow.server_conn
        depth = st.depth_of.get(flow.id)
        if depth is None:
            st.trans_depth += 1
            depth = st.depth_of[flow.id] = st.trans_depth
            st.orig_bytes += _head_size(flow.request) + len(flow.request.raw_content or b"")
            if flow.response is not None:
                st.resp_bytes += _head_size(flow.response) + len(flow.response.raw_content or b"")
            st.counted = True
        st.service = "websocket" if flow.websocket is not None else "http"
        st.decrypted = True
        st.server_name = st.server_name or flow.request.pretty_host
        return ExchangeSnapshot(
            uid=st.uid,
            trans_depth=depth,
            request=_state(flow.request.data),
            response=_state(flow.response.data) if flow.response is not None else None,
            error=flow.error.msg if flow.error else None,
            websocket=flow.websocket is not None,
        )

    def websocket(self, key: str, flow: http.HTTPFlow) -> Observation:
        """A WebSocket that ended: its opening exchange and every message it carried."""
        obs = self.http_exchange(key, flow)
        st = self.state(key, flow.client_conn)
        depth = st.depth_of[flow.id]
        payloads = list(obs.payloads)
        assert flow.websocket is not None
        for i, msg in enumerate(flow.websocket.messages):
            direction: Direction = "request" if msg.from_client else "response"
            # Flow files from old mitmproxy versions keep text frames as str.
            content = msg.content if isinstance(msg.content, bytes) else str(msg.content).encode()
            if msg.from_client:
                st.orig_bytes += len(content)
            else:
                st.resp_bytes += len(content)
            payloads.append(
                Payload(
                    uid=st.uid,
                    trans_depth=depth,
                    ts=msg.timestamp,
                    prefix=f"websocket[{i}]/",
                    message=Message(
                        direction=direction,
                        method=None,
                        url=None,
                        headers=(),
                        body=content,
                    ),
                )
            )
        return Observation(records=obs.records, payloads=tuple(payloads))

    def stream_started(self, key: str, flow: _RawFlow) -> None:
        """A raw flow began: if it has not ended when its connection closes (a UDP flow still
        open at shutdown), ``close`` counts it."""
        self.state(key, flow.client_conn).stream = flow

    def stream(self, key: str, flow: _RawFlow) -> Observation:
        """A raw TCP or UDP flow (a protocol mitmproxy does not parse) that ended."""
        st = self.state(key, flow.client_conn)
        st.stream = None
        st.server = st.server or flow.server_conn
        sent = b"".join(m.content for m in flow.messages if m.from_client)
        received = b"".join(m.content for m in flow.messages if not m.from_client)
        st.orig_bytes += len(sent)
        st.resp_bytes += len(received)
        st.counted = True
        if st.why is NotDecryptedWhy.PASSED_THROUGH and st.hello is None:
            # Passed through before its ClientHello was whole: read it from what was sent.
            if isinstance(flow, udp.UDPFlow):
                initial = InitialReader()
                for m in flow.messages[:_MAX_INITIALS]:
                    if m.from_client:
                        initial.datagram(m.content)
                st.hello = initial.hello
            else:
                st.hello = parse_client_hello(sent[:_MAX_HELLO])
            if st.hello is not None and st.hello.server_name:
                st.server_name = st.hello.server_name
        if st.why is None and flow.client_conn.tls_established:
            st.decrypted = True  # TLS that mitmproxy terminated, carrying a raw protocol
        elif st.why is None:
            st.why = NotDecryptedWhy.NOT_TLS
            st.service = None
        st.udp = isinstance(flow, udp.UDPFlow)
        kind = "udp" if st.udp else "tcp"
        payloads = [
            Payload(
                uid=st.uid,
                trans_depth=1,
                ts=flow.timestamp_created,
                prefix=f"{kind}/",
                message=Message(direction=d, method=None, url=None, headers=(), body=body),
            )
            for d, body in _by_direction(sent, received)
            if body and st.why is not NotDecryptedWhy.PASSED_THROUGH
        ]
        return Observation(payloads=tuple(payloads))

    def dns_query(self, key: str, flow: dns.DNSFlow) -> Observation:
        """A DNS query and its answers (in modes where the proxy sees DNS)."""
        st = self.state(key, flow.client_conn)
        st.server = st.server or flow.server_conn
        st.service = "dns"
        st.decrypted = True
        resp = flow.response
        st.orig_bytes += len(flow.request.packed)
        if resp is not None:
            st.resp_bytes += len(resp.packed)
        answers = ",".join(_answer_text(a) for a in resp.answers) if resp else None
        records = [
            DnsRecord(
                uid=st.uid,
                ts=flow.request.timestamp or flow.timestamp_created,
                trans_id=flow.request.id,
                query=q.name,
                qtype=q.type,
                qtype_name=dns_types.to_str(q.type),
                rcode=resp.response_code if resp else None,
                answers=answers,
            )
            for q in flow.request.questions
        ]
        return Observation(records=tuple(records))

    # -- connection end -------------------------------------------------------------------

    def close(self, key: str, *, ended: float | None = None) -> Observation:
        """The client connection closed: its conn row, and its tls row if it spoke TLS."""
        st = self._open.get(key)
        if st is None:
            return Observation()
        unfinished = self.stream(key, st.stream) if st.stream is not None else Observation()
        del self._open[key]
        closed = _conn_observation(self.capture_id, self.app, st, ended)
        return dataclasses.replace(closed, payloads=unfinished.payloads)

    def close_all(self, *, ended: float | None = None) -> Iterable[Observation]:
        """Every connection still open (end of a file, or proxy shutdown)."""
        for key in list(self._open):
            yield self.close(key, ended=ended)


def _by_direction(sent: bytes, received: bytes) -> tuple[tuple[Direction, bytes], ...]:
    return (("request", sent), ("response", received))


def _answer_text(rr: dns.ResourceRecord) -> str:
    try:
        if rr.type == dns_types.A:
            return str(rr.ipv4_address)
        if rr.type == dns_types.AAAA:
            return str(rr.ipv6_address)
        if rr.type in (dns_types.CNAME, dns_types.PTR, dns_types.NS):
            return rr.domain_name
    except (ValueError, IndexError):
        pass
    return f"{dns_types.to_str(rr.type)}:{rr.data.hex()}"


def _conn_observation(
    capture_id: str, app: str | None, st: _ConnState, ended: float | None
) -> Observation:
    client, server = st.client, st.server
    orig_h, orig_p = client.peername[0], client.peername[1]
    resp_h: str | None = None
    resp_p: int | None = None
    if server is not None and server.peername:
        resp_h, resp_p = server.peername[0], server.peername[1]
    elif server is not None and server.address:
        resp_p = server.address[1]
        if _is_ip(server.address[0]):
            resp_h = server.address[0]
    if server is not None and server.address and not _is_ip(server.address[0]):
        st.server_name = st.server_name or server.address[0]
    mode = client.proxy_mode.type_name
    resolved_by: Literal["device", "proxy"] | None = "device"
    if mode in _PROXY_RESOLVES and server is not None and server.address:
        resolved_by = "device" if _is_ip(server.address[0]) else "proxy"
    elif resp_h is None:
        resolved_by = None
    end = ended or client.timestamp_end or (server.timestamp_end if server else None)
    why = st.why
    if why is None and not st.decrypted:
        failed = server is not None and server.error is not None
        why = NotDecryptedWhy.CONNECT_FAILED if failed else NotDecryptedWhy.INCOMPLETE
    decrypted = st.decrypted and why is None
    # A handshake that never finished sent nothing but its ClientHello.
    hello_bytes = st.hello_size if not st.counted else 0
    orig_bytes = st.orig_bytes + hello_bytes
    counted = st.counted or hello_bytes > 0
    proto: Literal["tcp", "udp"] = "udp" if st.udp or client.transport_protocol == "udp" else "tcp"
    records: list[Record] = [
        Connection(
            uid=st.uid,
            capture_id=capture_id,
            ts=st.ts,
            duration=(end - st.ts) if end else None,
            orig_h=orig_h,
            orig_p=orig_p,
            resp_h=resp_h,
            resp_p=resp_p,
            proto=proto,
            service=st.service,
            server_name=st.server_name or client.sni or (server.sni if server else None),
            app=app,
            decrypted=decrypted,
            not_decrypted_why=None if decrypted else why,
            orig_bytes=orig_bytes if counted else None,
            resp_bytes=st.resp_bytes if st.counted else None,
            community_id=community_id(proto, orig_h, orig_p, resp_h, resp_p or 0)
            if resp_h
            else None,
            resolved_by=resolved_by,
            proxy_mode=client.proxy_mode.full_spec,
        )
    ]
    if st.hello is not None or client.tls or st.tls_failure is not None:
        hello = st.hello
        records.append(
            TlsInfo(
                uid=st.uid,
                ts=st.ts,
                # QUIC carries TLS 1.3; mitmproxy says "QUICv1", pcap replay the hello's version.
                version=(hello.version_name if hello and proto == "udp" else None)
                or client.tls_version
                or (hello.version_name if hello else None),
                server_name=(hello.server_name if hello else None) or client.sni,
                alpn=",".join(hello.alpn) if hello else None,
                ja3=ja3(hello) if hello else None,
                ja4=ja4(hello, transport="quic" if proto == "udp" else "tcp") if hello else None,
                established=(st.tls_established or client.tls_established) and not st.tls_failure,
                failure=st.tls_failure,
            )
        )
    return Observation(records=tuple(records), destinations=(resp_h,) if resp_h else ())

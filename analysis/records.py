"""The rows borderflow writes: one frozen dataclass per table, shaped like Zeek's logs.

Every row carries the ``uid`` of the connection it belongs to, so any row joins back to its
``conn`` row. ``None`` means unknown; a default means a real zero. Migrations in
``migrations.py`` spell the same columns out; a test keeps the two in step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, Literal

Direction = Literal["request", "response"]


class Category(enum.StrEnum):
    """Kinds of personal data a finding can be (see ``docs/categories.md``)."""

    CONTACT_NAME = "contact.name"
    CONTACT_EMAIL = "contact.email"
    CONTACT_PHONE = "contact.phone"
    CONTACT_ADDRESS = "contact.address"
    LOCATION_PRECISE = "location.precise"
    LOCATION_COARSE = "location.coarse"
    IDENTIFIERS_DEVICE = "identifiers.device"
    IDENTIFIERS_ADVERTISING = "identifiers.advertising"
    IDENTIFIERS_USER = "identifiers.user"
    FINANCIAL_CARD = "financial.card"
    FINANCIAL_BANK_ACCOUNT = "financial.bank_account"
    FINANCIAL_OTHER = "financial.other"
    GOVERNMENT_ID = "government_id"
    HEALTH_FITNESS = "health_fitness"
    CONTACTS_LIST = "contacts_list"
    BROWSING_HISTORY = "browsing_history"
    SEARCH_HISTORY = "search_history"
    USER_CONTENT = "user_content"
    INSTALLED_APPS = "installed_apps"
    NETWORK_WIFI = "network.wifi"
    NETWORK_CELL = "network.cell"
    NETWORK_IP = "network.ip"
    DEVICE_FINGERPRINT = "device_fingerprint"
    CREDENTIALS = "credentials"


class NotDecryptedWhy(enum.StrEnum):
    """Why a connection's payload could not be read.

    - ``pinned_tls``: the client rejected the interception certificate (certificate pinning
      or a CA it does not trust); only the ClientHello was seen.
    - ``passed_through``: forwarded uninspected because the host rejected interception before.
    - ``no_key_log``: a captured TLS connection for which no key was given.
    - ``not_tls``: an opaque, non-TLS protocol that borderflow does not parse.
    - ``server_tls_failed``: the upstream server's TLS handshake failed.
    - ``connect_failed``: the proxy could not reach the server.
    - ``incomplete``: the connection ended before any payload was exchanged.
    """

    PINNED_TLS = "pinned_tls"
    PASSED_THROUGH = "passed_through"
    NO_KEY_LOG = "no_key_log"
    NOT_TLS = "not_tls"
    SERVER_TLS_FAILED = "server_tls_failed"
    CONNECT_FAILED = "connect_failed"
    INCOMPLETE = "incomplete"


class SourceKind(enum.StrEnum):
    """Where a capture came from: a live proxy session or a replayed file."""

    LIVE = "live"
    MITM = "mitm"
    HAR = "har"
    PCAP = "pcap"


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """One row of ``capture``: a live proxy session or one replayed file."""

    table: ClassVar[str] = "capture"

    id: str  # "K" + 16 base32 chars; derived from the file's sha256 for files
    source: SourceKind
    path: str | None  # the replayed file, or the database for a live session
    sha256: str | None  # of the replayed file; None for live sessions
    started: float
    ended: float | None
    app: str | None
    device: str | None
    tool_version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """One row of ``conn``: a transport connection the device opened.

    ``orig_bytes``/``resp_bytes`` count application payload bytes seen (decrypted where
    borderflow decrypted, encrypted otherwise); ``None`` when nothing could be counted.
    ``resolved_by`` says whose resolver chose ``resp_h``: ``device`` (WireGuard, transparent,
    captures) or ``proxy`` (regular and SOCKS modes, where mitmproxy resolves names itself).
    """

    table: ClassVar[str] = "conn"

    uid: str  # "C" + 16 base32 chars
    capture_id: str
    ts: float
    duration: float | None
    orig_h: str
    orig_p: int
    resp_h: str | None  # None when the proxy never learned an address
    resp_p: int | None
    proto: Literal["tcp", "udp"]
    service: str | None  # http, tls, websocket, dns, ...; None when unidentified
    server_name: str | None  # SNI, else the Host the client asked for
    app: str | None
    decrypted: bool
    not_decrypted_why: NotDecryptedWhy | None
    orig_bytes: int | None
    resp_bytes: int | None
    community_id: str | None  # Community ID v1 flow hash, None without resp_h
    resolved_by: Literal["device", "proxy"] | None
    proxy_mode: str | None  # mitmproxy's mode spec for live connections
    # Captured (pcap) connections only; None for proxied ones, where the proxy hides packets.
    conn_state: str | None = None  # Zeek's conn_state: S0, S1, SF, REJ, RSTO, RSTR, OTH, ...
    orig_pkts: int | None = None
    resp_pkts: int | None = None
    # Set in the database, never by a source: the uid of the row kept when another capture
    # recorded the same connection (store.mark_same_connections).
    same_as: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpExchange:
    """One row of ``http``: a request and its response; ``uid`` + ``trans_depth`` is the key."""

    table: ClassVar[str] = "http"

    uid: str
    trans_depth: int  # 1-based position of the exchange in its connection
    ts: float
    method: str
    host: str
    uri: str
    http_version: str | None
    status_code: int | None  # None when no response arrived
    request_content_type: str | None
    request_body_len: int
    response_content_type: str | None
    response_body_len: int | None
    error: str | None  # why the exchange failed, None when it completed
    websocket: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsInfo:
    """One row of ``tls``: what the ClientHello and the handshake showed."""

    table: ClassVar[str] = "tls"

    uid: str
    ts: float
    version: str | None
    server_name: str | None
    alpn: str | None  # offered protocols, comma-separated, in the client's order
    ja3: str | None
    ja4: str | None
    established: bool
    failure: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsRecord:
    """One row of ``dns``: a query and the answers it got."""

    table: ClassVar[str] = "dns"

    uid: str
    ts: float
    trans_id: int | None
    query: str
    qtype: int | None
    qtype_name: str | None
    rcode: int | None
    answers: str | None  # comma-separated, in answer order; None when unanswered


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One row of ``finding``: a piece of personal data seen in a payload."""

    table: ClassVar[str] = "finding"

    uid: str
    trans_depth: int  # the HTTP exchange or message number within the connection
    ts: float
    direction: Direction
    category: Category
    detector: str
    location: str  # where in the decoded payload, e.g. body/json:$.loc.lat
    confidence: float
    reason: str
    evidence: str  # redacted unless the user asked for values


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """One row of ``destination``: a server address with geography, operator and law.

    Three answers, kept apart because location and control differ: located in (``country``,
    ``city``: geolocation), registered in (``registered_country``: the registry's country for
    the address block), operated by (``operator`` → ``operator_parent`` →
    ``operator_hq_country``). ``attributed_by`` says whether the network (``asn``) or the
    hostname's ``domain`` decided the operator; when the domain did, the network's operator is
    kept as ``host_operator``. ``laws`` lists the ids (geo/data/jurisdictions.toml) of the laws
    of every jurisdiction involved; ``geo.jurisdictions.is_cross_border`` decides cross-border
    from these columns for any home. ``operator_flag`` says what is uncertain about the operator
    answer. One row per address and the name connections reached it as (``reached_as``, the
    connection's ``server_name``, empty when it had none), because a shared CDN or cloud address
    serves many companies' hostnames: joined on both, each connection gets its own operator.
    """

    table: ClassVar[str] = "destination"

    resp_h: str
    reached_as: str = ""  # conn.server_name of the connections this row describes, or ""
    first_seen: float
    country: str | None = None
    city: str | None = None
    registered_country: str | None = None
    asn: int | None = None
    as_org: str | None = None
    operator: str | None = None
    operator_country: str | None = None
    address_kind: str | None = None  # public, private, loopback, cgnat, ...
    server_name: str | None = None  # the hostname the address was reached as
    server_name_source: str | None = None  # connection (SNI, Host, :authority) or dns
    domain: str | None = None  # the hostname's registrable domain (Public Suffix List)
    operator_parent: str | None = None
    operator_hq_country: str | None = None
    operator_source: str | None = None  # where the operator answer comes from
    operator_flag: str | None = None  # what is uncertain about it; None when nothing is
    attributed_by: str | None = None  # asn or domain
    host_operator: str | None = None  # the network's operator, when the domain decided
    host_hq_country: str | None = None
    laws: str | None = None  # comma-separated law ids


@dataclass(frozen=True, slots=True, kw_only=True)
class Weird:
    """One row of ``weird``: something borderflow could not parse or chose not to finish."""

    table: ClassVar[str] = "weird"

    ts: float
    uid: str | None
    name: str  # e.g. body_too_large, decompression_limit, unparsable_json
    addl: str | None  # details
    source: str  # the component that noticed


Record = Capture | Connection | HttpExchange | TlsInfo | DnsRecord | Finding | Destination | Weird


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A request or response body and the metadata needed to classify it."""

    direction: Direction
    method: str | None
    url: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Payload:
    """A message to classify, tied to the connection and exchange its findings belong to."""

    uid: str
    trans_depth: int
    ts: float
    message: Message
    prefix: str = ""  # prepended to each finding's location, e.g. "websocket[3]/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """Everything a source learned at one moment, handed to the pipeline in one piece.

    Sources (live hooks, .mitm, HAR, pcap) build these; the pipeline classifies the payloads
    and writes every record. Hooks build them cheaply: no decoding happens until the worker.
    """

    records: tuple[Record, ...] = ()
    payloads: tuple[Payload, ...] = ()
    destinations: tuple[str, ...] = field(default=())  # resp_h values to enrich

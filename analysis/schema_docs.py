"""What every table and column of the database means, written once.

``borderflow browse`` feeds these descriptions to Datasette as its metadata, and a test checks
that every column of the migrated schema has one (and that none describes a column that is not
there). The wording follows the README's database section and the record classes.
"""

from __future__ import annotations

from typing import Any

# table -> (what one row is, {column: meaning}), in the order the README lists the tables.
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "capture": (
        "One row per live proxy session or replayed file.",
        {
            "id": "Capture id: K + 16 base32 characters, derived from the file's SHA-256 for files.",
            "source": "Where it came from: live, mitm (flow file), har or pcap.",
            "path": "The replayed file, or the database for a live session.",
            "sha256": "SHA-256 of the replayed file; empty for live sessions.",
            "started": "When recording or replaying started (Unix seconds, UTC).",
            "ended": "When it ended (Unix seconds, UTC); empty while still recording.",
            "app": "Name of the app under test (--app).",
            "device": "Name of the test device (--device).",
            "tool_version": "The borderflow version that wrote it.",
        },
    ),
    "conn": (
        "One row per connection the device opened, decrypted or not; every other table joins "
        "back here by uid.",
        {
            "uid": "Connection id (C + 16 base32 characters); links http, tls, dns, finding, weird.",
            "capture_id": "The capture (capture.id) it was recorded in.",
            "ts": "First packet (Unix seconds, UTC).",
            "duration": "Seconds from first to last packet.",
            "orig_h": "The device's address.",
            "orig_p": "The device's port.",
            "resp_h": "The server's address (joins destination.resp_h).",
            "resp_p": "The server's port.",
            "proto": "Transport: tcp or udp.",
            "service": "Protocol seen: http, tls, websocket, dns, quic, ...; empty when unidentified.",
            "server_name": "The name the server was reached as: TLS SNI, else the Host asked for "
            "(joins destination.reached_as).",
            "app": "The app that opened it, when known (--app, PCAPdroid tags).",
            "decrypted": "1 when the payload was read, 0 when not (see not_decrypted_why).",
            "not_decrypted_why": "Why the payload could not be read: pinned_tls, passed_through, "
            "not_tls, server_tls_failed, connect_failed, incomplete, no_key_log.",
            "orig_bytes": "Application bytes from the device, as the proxy saw them.",
            "resp_bytes": "Application bytes from the server, as the proxy saw them.",
            "community_id": "Community ID v1 flow hash (seed 0), to join with Zeek and Suricata "
            "logs of the same traffic.",
            "resolved_by": "Whose resolver chose resp_h: device (WireGuard, transparent, "
            "captures) or proxy (regular and SOCKS modes).",
            "proxy_mode": "mitmproxy's mode for live connections (regular, wireguard, ...).",
            "conn_state": "Zeek's connection state (S0, SF, REJ, ...), for captured connections.",
            "orig_pkts": "Packets from the device, for captured connections.",
            "resp_pkts": "Packets from the server, for captured connections.",
            "same_as": "When another capture recorded the same connection (same community_id, "
            "within a minute): the uid of the row kept, the decrypted one if either is. Reports "
            "and summaries over several captures count the connection once.",
        },
    ),
    "http": (
        "One row per HTTP request/response exchange (uid + trans_depth).",
        {
            "uid": "The connection (conn.uid).",
            "trans_depth": "1-based position of the exchange in its connection.",
            "ts": "When the request was sent (Unix seconds, UTC).",
            "method": "Request method (GET, POST, ...).",
            "host": "The Host or :authority the request named.",
            "uri": "Request target: path and query.",
            "http_version": "HTTP version (HTTP/1.1, HTTP/2.0, ...).",
            "status_code": "Response status; empty when no response arrived.",
            "request_content_type": "Content-Type of the request body.",
            "request_body_len": "Request body length in bytes, as sent.",
            "response_content_type": "Content-Type of the response body.",
            "response_body_len": "Response body length in bytes, as received.",
            "error": "Why the exchange failed; empty when it completed.",
            "websocket": "1 when the exchange upgraded to a WebSocket.",
        },
    ),
    "tls": (
        "One row per TLS connection: what the ClientHello and the handshake showed.",
        {
            "uid": "The connection (conn.uid).",
            "ts": "When the ClientHello was seen (Unix seconds, UTC).",
            "version": "Negotiated TLS version.",
            "server_name": "Server Name Indication sent by the device.",
            "alpn": "Protocols offered (ALPN), comma-separated, in the device's order.",
            "ja3": "JA3 fingerprint of the ClientHello.",
            "ja4": "JA4 fingerprint of the ClientHello.",
            "established": "1 when the handshake completed.",
            "failure": "Why the handshake failed (e.g. the app rejected the certificate).",
        },
    ),
    "dns": (
        "One row per DNS question, in the modes that see DNS.",
        {
            "uid": "The connection (conn.uid) that carried it.",
            "ts": "When the question was sent (Unix seconds, UTC).",
            "trans_id": "DNS transaction id.",
            "query": "The name asked for.",
            "qtype": "Query type number (1 = A, 28 = AAAA, ...).",
            "qtype_name": "Query type name (A, AAAA, HTTPS, ...).",
            "rcode": "Response code (0 = NOERROR, 3 = NXDOMAIN, ...).",
            "answers": "Answers, comma-separated, in answer order; empty when unanswered.",
        },
    ),
    "finding": (
        "One row per piece of personal data found in a payload.",
        {
            "uid": "The connection (conn.uid).",
            "trans_depth": "The HTTP exchange or message number within the connection.",
            "ts": "When the payload was seen (Unix seconds, UTC).",
            "direction": "request (sent by the device) or response (received).",
            "category": "Kind of personal data: contact.email, location.precise, "
            "identifiers.device, financial.card, ... (docs/categories.md).",
            "detector": "The detector that found it.",
            "location": "Where in the decoded payload, e.g. url/query:imei, header:x-device-id, "
            "body/gzip/json:$.loc.lat.",
            "confidence": "How sure the detector is, 0 to 1.",
            "reason": "Why the detector fired.",
            "evidence": "The matched value, redacted unless recorded with --unredacted.",
        },
    ),
    "destination": (
        "One row per server address and the name connections reached it as: where it is "
        "located, who registered and operates it, and the laws that reach it.",
        {
            "resp_h": "Server address (joins conn.resp_h).",
            "reached_as": "The connections' server_name for this row, empty when they had none "
            "(joins coalesce(conn.server_name, '')).",
            "first_seen": "First connection to it (Unix seconds, UTC).",
            "country": "Located in: country of the address, by geolocation (ISO code).",
            "city": "Located in: city, when the geolocation database has it.",
            "registered_country": "Registered in: the registry's country for the address block.",
            "asn": "Autonomous system number of the network.",
            "as_org": "Name of the network (autonomous system).",
            "operator": "Operated by: the company running the server.",
            "operator_country": "Where the operator is based.",
            "address_kind": "public, private, loopback, cgnat, ... (non-public addresses never "
            "get a country).",
            "server_name": "The hostname the address was reached as (connection or DNS).",
            "server_name_source": "Where the hostname came from: connection (SNI, Host, "
            ":authority) or dns.",
            "domain": "The hostname's registrable domain (Public Suffix List).",
            "operator_parent": "The operator's parent company.",
            "operator_hq_country": "Where the parent company is headquartered.",
            "operator_source": "Where the operator answer comes from.",
            "operator_flag": "What is uncertain about the operator answer; empty when nothing is.",
            "attributed_by": "What decided the operator: asn (the network) or domain (the "
            "hostname).",
            "host_operator": "The hosting network's operator, when the domain decided the operator.",
            "host_hq_country": "Where the hosting network's parent is headquartered.",
            "laws": "Ids of the laws of every jurisdiction involved, comma-separated "
            "(geo/data/jurisdictions.toml).",
        },
    ),
    "weird": (
        "One row per problem met: something borderflow could not parse or chose not to finish.",
        {
            "ts": "When it happened (Unix seconds, UTC).",
            "uid": "The connection (conn.uid), when there is one.",
            "name": "What happened, e.g. decompression_limit, unreadable_flow_file.",
            "addl": "Details.",
            "source": "The component that noticed.",
        },
    ),
    "_sqlite_migrations": (
        "Schema migrations applied to this database (sqlite-utils' bookkeeping).",
        {
            "id": "Row id.",
            "migration_set": "The set of migrations (borderflow).",
            "name": "The migration's name.",
            "applied_at": "When it was applied.",
        },
    ),
}


def datasette_metadata(database: str) -> dict[str, Any]:
    """Datasette metadata describing every table and column, for the database named
    ``database`` (Datasette names a database after its file, without the extension)."""
    return {
        "title": "borderflow",
        "description": "Which personal data left the device, to which server, located where, "
        "operated by whom, under which jurisdiction.",
        "databases": {
            database: {
                "tables": {
                    table: {"description": description, "columns": dict(columns)}
                    for table, (description, columns) in TABLES.items()
                }
            }
        },
    }

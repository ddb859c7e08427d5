"""The database schema, as an ordered list of sqlite-utils migrations.

Each migration spells its columns out and never reads the record classes: an applied migration
must keep its meaning when a record later gains a field. ``tests/analysis/test_migrations.py``
checks that the migrated tables and the records in ``records.py`` agree.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("borderflow")


@migrations(transactional=False)
def use_wal(db: Database) -> None:
    """WAL lets readers (the CLI, Datasette) query while the recorder writes."""
    db.enable_wal()


@migrations()
def create_tables(db: Database) -> None:
    db.table("capture").create(
        {
            "id": str,
            "source": str,
            "path": str,
            "sha256": str,
            "started": float,
            "ended": float,
            "app": str,
            "device": str,
            "tool_version": str,
        },
        pk="id",
        not_null={"id", "source", "started", "tool_version"},
        strict=True,
    )
    db.table("conn").create(
        {
            "uid": str,
            "capture_id": str,
            "ts": float,
            "duration": float,
            "orig_h": str,
            "orig_p": int,
            "resp_h": str,
            "resp_p": int,
            "proto": str,
            "service": str,
            "server_name": str,
            "app": str,
            "decrypted": int,
            "not_decrypted_why": str,
            "orig_bytes": int,
            "resp_bytes": int,
            "community_id": str,
            "resolved_by": str,
            "proxy_mode": str,
        },
        pk="uid",
        not_null={"uid", "capture_id", "ts", "orig_h", "orig_p", "proto", "decrypted"},
        foreign_keys=[("capture_id", "capture", "id")],
        strict=True,
    )
    db.table("http").create(
        {
            "uid": str,
            "trans_depth": int,
            "ts": float,
            "method": str,
            "host": str,
            "uri": str,
            "http_version": str,
            "status_code": int,
            "request_content_type": str,
            "request_body_len": int,
            "response_content_type": str,
            "response_body_len": int,
            "error": str,
            "websocket": int,
        },
        pk=("uid", "trans_depth"),
        not_null={"uid", "trans_depth", "ts", "method", "host", "uri", "request_body_len"},
        strict=True,
    )
    db.table("tls").create(
        {
            "uid": str,
            "ts": float,
            "version": str,
            "server_name": str,
            "alpn": str,
            "ja3": str,
            "ja4": str,
            "established": int,
            "failure": str,
        },
        pk="uid",
        not_null={"uid", "ts", "established"},
        strict=True,
    )
    db.table("dns").create(
        {
            "uid": str,
            "ts": float,
            "trans_id": int,
            "query": str,
            "qtype": int,
            "qtype_name": str,
            "rcode": int,
            "answers": str,
        },
        not_null={"uid", "ts", "query"},
        strict=True,
    )
    db.table("finding").create(
        {
            "uid": str,
            "trans_depth": int,
            "ts": float,
            "direction": str,
            "category": str,
            "detector": str,
            "location": str,
            "confidence": float,
            "reason": str,
            "evidence": str,
        },
        pk=("uid", "trans_depth", "direction", "detector", "location", "evidence"),
        not_null={"uid", "trans_depth", "ts", "direction", "category", "detector", "location"},
        strict=True,
    )
    db.table("destination").create(
        {
            "resp_h": str,
            "first_seen": float,
            "country": str,
            "city": str,
            "registered_country": str,
            "asn": int,
            "as_org": str,
            "operator": str,
            "operator_country": str,
            "address_kind": str,
        },
        pk="resp_h",
        not_null={"resp_h", "first_seen"},
        strict=True,
    )
    db.table("weird").create(
        {"ts": float, "uid": str, "name": str, "addl": str, "source": str},
        not_null={"ts", "name", "source"},
        strict=True,
    )
    db.table("conn").create_index(["capture_id"])
    db.table("conn").create_index(["resp_h"])
    db.table("conn").create_index(["server_name"])
    db.table("http").create_index(["host"])
    db.table("dns").create_index(["uid"])
    db.table("finding").create_index(["category"])
    db.table("finding").create_index(["uid"])
    db.table("weird").create_index(["uid"])


@migrations()
def add_destination_attribution(db: Database) -> None:
    """Hostname, parent company and its headquarters, who decided, hosting network, laws."""
    for column in (
        "server_name",
        "server_name_source",
        "domain",
        "operator_parent",
        "operator_hq_country",
        "operator_source",
        "operator_flag",
        "attributed_by",
        "host_operator",
        "host_hq_country",
        "laws",
    ):
        db.table("destination").add_column(column, str)
    db.table("destination").create_index(["domain"])


@migrations()
def add_conn_packets_and_state(db: Database) -> None:
    """Packets each way and Zeek's conn_state, for connections replayed from captures."""
    db.table("conn").add_column("conn_state", str)
    db.table("conn").add_column("orig_pkts", int)
    db.table("conn").add_column("resp_pkts", int)


@migrations()
def destination_per_name(db: Database) -> None:
    """One destination row per address and hostname: a shared address serves many operators.

    ``reached_as`` is the connections' ``server_name`` (empty when they had none), so rows join
    with ``destination.resp_h = conn.resp_h AND destination.reached_as = coalesce(
    conn.server_name, '')``. Rows from before keep their hostname unless it came from DNS.
    """
    db.table("destination").add_column("reached_as", str, not_null_default="")
    db.execute(
        "UPDATE destination SET reached_as = server_name "
        "WHERE server_name IS NOT NULL AND server_name_source = 'connection'"
    )
    db.table("destination").transform(
        pk=("resp_h", "reached_as"), column_order=["resp_h", "reached_as"]
    )
    db.table("conn").create_index(["resp_h", "server_name"])


# The report's covering index over conn, as report_indexes made it (same_connections adds one).
_CONN_BY_DESTINATION = (
    "resp_h",
    "server_name",
    "decrypted",
    "not_decrypted_why",
    "ts",
    "orig_bytes",
    "resp_bytes",
    "capture_id",
    "app",
)


@migrations()
def report_indexes(db: Database) -> None:
    """Covering indexes for the report, so a million connections are read in order, not sorted.

    ``conn_by_destination`` holds every column the report groups and sums per destination
    and inspection state (and the scope columns), so that pass reads the index alone; it
    starts with ``(resp_h, server_name)`` and so replaces the index of that name.
    ``finding_by_category`` gives each category's request findings oldest first (the
    evidence) and the columns counted per destination.
    """
    db.execute("DROP INDEX IF EXISTS idx_conn_resp_h_server_name")
    db.table("conn").create_index(list(_CONN_BY_DESTINATION), index_name="conn_by_destination")
    db.table("finding").create_index(
        ["direction", "category", "ts", "uid", "trans_depth"], index_name="finding_by_category"
    )


@migrations()
def same_connections(db: Database) -> None:
    """``conn.same_as``: the uid of the row kept when two captures recorded one connection.

    A live session and a capture taken on the phone at the same time hold the same
    connections twice; ``store.mark_same_connections`` links them (by Community ID and time),
    and counts take one of each. ``same_as`` joins the report's covering index, so scoping
    on it keeps that pass on the index alone.
    """
    db.table("conn").add_column("same_as", str)
    db.table("conn").create_index(["community_id", "ts"])
    db.execute("CREATE INDEX conn_same_as ON conn(same_as) WHERE same_as IS NOT NULL")
    db.execute("DROP INDEX IF EXISTS conn_by_destination")
    db.table("conn").create_index(
        [*_CONN_BY_DESTINATION, "same_as"], index_name="conn_by_destination"
    )

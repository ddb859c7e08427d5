"""Replaying pcap and pcapng files end to end: the rows, as a user queries them.

The captures are the project's own (``tests/data``, rebuilt by ``python -m
tests.data.make_captures``): packets built with scapy for link types, fragments, reordered
segments, PCAPdroid tags and damaged files; real loopback traffic (curl against a local TLS
server, recorded with tcpdump, secrets from SSLKEYLOGFILE) for decryption.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Raw

from borderflow.analysis.cli import cli
from borderflow.analysis.errors import InputError
from borderflow.analysis.ids import community_id, derived_id
from borderflow.analysis.records import Connection
from borderflow.analysis.replay import replay_file
from borderflow.analysis.sources import pcap
from tests.data import make_captures as mk

DATA = Path(__file__).resolve().parents[2] / "data"
LOOPBACK = DATA / "loopback"


def replay(path: Path, db: Path, **kw: Any) -> Path:
    replay_file(path, db, **kw)
    return db


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def one(db: Path, sql: str, *params: object) -> Any:
    (value,) = rows(db, sql, *params)[0]
    return value


# -- metadata: link types, connections, DNS, TLS hellos ---------------------------------------

LINK_FILES = sorted((DATA / "links").iterdir())


@pytest.mark.parametrize("path", LINK_FILES, ids=lambda p: p.name)
def test_every_link_type_gives_the_same_connections(path: Path, tmp_path: Path) -> None:
    db = replay(path, tmp_path / "t.db")
    v6 = path.name == "ipv6.pcap"
    server = mk.SERVER6 if v6 else mk.SERVER
    conns = rows(
        db,
        "SELECT proto, resp_h, resp_p, service, server_name, conn_state, orig_pkts, resp_pkts,"
        " decrypted, not_decrypted_why FROM conn ORDER BY ts",
    )
    resolver = "fd00::3" if v6 else mk.RESOLVER
    assert conns == [
        ("udp", resolver, 53, "dns", None, "SF", 1, 1, 1, None),
        ("tcp", server, 443, "tls", mk.SERVER_NAME, "SF", 6, 3, 0, "no_key_log"),
    ]
    assert rows(db, "SELECT query, qtype_name, rcode, answers FROM dns") == [
        (mk.SERVER_NAME, "AAAA" if v6 else "A", 0, server)
    ]
    tls = rows(db, "SELECT version, server_name, alpn, established, ja4 FROM tls")
    assert tls == [("TLSv1.3", mk.SERVER_NAME, "h2,http/1.1", 1, tls[0][4])]
    assert tls[0][4].startswith("t13d0507h2_")


def test_connection_rows_count_bytes_packets_and_time(tmp_path: Path) -> None:
    db = replay(DATA / "links" / "ethernet.pcap", tmp_path / "t.db")
    ts, duration, orig_bytes, resp_bytes, cid = rows(
        db, "SELECT ts, duration, orig_bytes, resp_bytes, community_id FROM conn WHERE proto='tcp'"
    )[0]
    hello = len(mk._grease_free_hello(mk.SERVER_NAME))
    assert orig_bytes == hello + 6 + 45  # ClientHello, ChangeCipherSpec, one protected record
    assert resp_bytes == len(mk._server_hello()) + 65
    assert ts == pytest.approx(mk.T0 + 0.1)
    assert duration == pytest.approx(0.08, abs=1e-5)
    assert cid == community_id("tcp", mk.CLIENT, 40000, mk.SERVER, 443)


@settings(max_examples=60, deadline=None)
@given(
    sport=st.integers(1, 65535),
    dport=st.integers(1, 65535),
    payload=st.binary(max_size=64),
    udp=st.booleans(),
    flags=st.integers(0, 0x3F),
    trailing=st.binary(max_size=8),
)
def test_the_fast_path_reads_frames_as_the_decoder_does(
    sport: int, dport: int, payload: bytes, udp: bool, flags: int, trailing: bytes
) -> None:
    """Ethernet + IPv4 frames are read in the replay's loop, others by the decoder: the same
    packets either way give the same rows (a reply included, for the flow's other key)."""

    def packet(src: str, dst: str, sp: int, dp: int) -> bytes:
        transport = (
            UDP(sport=sp, dport=dp) if udp else TCP(sport=sp, dport=dp, flags=flags, seq=3, ack=4)
        )
        return bytes(IP(src=src, dst=dst) / transport / Raw(payload)) + trailing  # + padding

    ips = [packet(mk.CLIENT, mk.SERVER, sport, dport), packet(mk.SERVER, mk.CLIENT, dport, sport)]
    with tempfile.TemporaryDirectory() as tmp:
        seen = []
        for name, linktype, frames in (
            ("ethernet.pcap", 1, [mk.ethernet(ip) for ip in ips]),  # the fast path
            ("raw.pcap", 228, ips),  # the decoder
        ):
            path = Path(tmp) / name
            path.write_bytes(mk.pcap(linktype, [(mk.T0 + i, f) for i, f in enumerate(frames)]))
            replay = pcap.PcapReplay(path, "Ktest", parallel_threshold=None)
            seen.append(list(replay.observations()))
    assert seen[0] == seen[1]


def test_silent_and_closed_connections_end_on_time_and_in_order(tmp_path: Path) -> None:
    """UDP ends after 600 s of silence, TCP 30 s after its close: a packet after that on the
    same ports is another connection; one that keeps talking stays one connection."""

    def udp(ts: float, sport: int) -> tuple[float, bytes]:
        ip = IP(src=mk.CLIENT, dst=mk.SERVER) / UDP(sport=sport, dport=4000) / Raw(b"x")
        return ts, mk.ethernet(bytes(ip))

    def tcp(ts: float, flags: str, *, back: bool = False) -> tuple[float, bytes]:
        src, dst, sport, dport = mk.CLIENT, mk.SERVER, 40001, 8443
        if back:
            src, dst, sport, dport = dst, src, dport, sport
        ip = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=9)
        return ts, mk.ethernet(bytes(ip))

    t0 = mk.T0
    frames = [udp(t0, 5001), udp(t0, 5002), tcp(t0 + 1, "S"), tcp(t0 + 1, "SA", back=True)]
    frames += [tcp(t0 + 2, "FA"), tcp(t0 + 2, "FA", back=True)]
    frames += [udp(t0 + 100 * i, 5002) for i in range(1, 8)]  # keeps talking
    frames += [tcp(t0 + 100, "A"), udp(t0 + 700, 5001)]  # after the close, after the silence
    path = tmp_path / "timeouts.pcap"
    path.write_bytes(mk.pcap(1, sorted(frames, key=lambda f: f[0])))
    conns = [
        (r.orig_p, r.ts - t0, (r.orig_pkts or 0) + (r.resp_pkts or 0))
        for o in pcap.PcapReplay(path, "Ktest", parallel_threshold=None).observations()
        for r in o.records
        if isinstance(r, Connection)
    ]
    assert conns == [
        (40001, 1, 4),  # closed at 2 s: ended by the first sweep 30 s later (at 100 s)
        (5001, 0, 1),  # silent since 0 s: ended by the first sweep after 600 s (at 700 s)
        (5002, 0, 8),  # the rest at the end of the file, in the order they began
        (40001, 100, 1),
        (5001, 700, 1),
    ]


def test_uids_derive_from_the_file_and_the_first_packet(tmp_path: Path) -> None:
    path = DATA / "links" / "ethernet.pcap"
    a = rows(replay(path, tmp_path / "a.db"), "SELECT uid FROM conn ORDER BY uid")
    b = rows(replay(path, tmp_path / "b.db"), "SELECT uid FROM conn ORDER BY uid")
    assert a == b
    capture_id = one(tmp_path / "a.db", "SELECT id FROM capture")
    orig = (bytes([10, 0, 2, 15]), 40000)
    resp = (bytes([192, 0, 2, 10]), 443)
    expected = derived_id("C", capture_id, f"3:6:{orig[0].hex()}:40000:{resp[0].hex()}:443")
    assert pcap._uid(capture_id, 3, 6, orig, resp) == expected
    assert (expected,) in a


def test_replaying_a_file_twice_adds_nothing_and_force_replaces(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    path = DATA / "links" / "ethernet.pcap"
    first = replay_file(path, db)
    second = replay_file(path, db)
    assert not first.skipped
    assert second.skipped
    counts = [one(db, f"SELECT count(*) FROM {t}") for t in ("conn", "dns", "tls", "capture")]
    replay_file(path, db, force=True)
    assert counts == [
        one(db, f"SELECT count(*) FROM {t}") for t in ("conn", "dns", "tls", "capture")
    ]
    assert one(db, "SELECT source FROM capture") == "pcap"


def test_dns_answers_name_a_later_connection_without_sni(tmp_path: Path) -> None:
    flow = mk.TcpFlow(mk.CLIENT, mk.SERVER, 40500, 8883)
    frames = mk.dns_exchange(mk.T0) + [(mk.T0 + 1 + i, p) for i, p in enumerate(flow.handshake())]
    path = tmp_path / "mqtt.pcap"
    path.write_bytes(mk.pcap(1, ((ts, mk.ethernet(ip)) for ts, ip in frames)))
    db = replay(path, tmp_path / "t.db")
    assert rows(db, "SELECT server_name, service, conn_state FROM conn WHERE proto='tcp'") == [
        (mk.SERVER_NAME, None, "S1")
    ]


def test_ip_fragments_are_reassembled_in_any_order(tmp_path: Path) -> None:
    db = replay(DATA / "fragments.pcap", tmp_path / "t.db")
    answers = rows(db, "SELECT query, qtype_name, answers FROM dns")
    assert len(answers) == 2
    for query, qtype, text in answers:
        assert (query, qtype) == ("big.wallet.test", "TXT")
        assert text.startswith("TXT:c8" + "78" * 20)


def test_clienthello_split_reordered_and_retransmitted_is_read_whole(tmp_path: Path) -> None:
    db = replay(DATA / "reassembly.pcap", tmp_path / "t.db")
    assert rows(db, "SELECT server_name FROM tls") == [("split.wallet.test",)]


def test_plaintext_http_is_classified_like_a_live_flow(tmp_path: Path) -> None:
    db = replay(DATA / "reassembly.pcap", tmp_path / "t.db")
    assert rows(
        db, "SELECT method, host, uri, status_code, request_body_len, response_body_len FROM http"
    ) == [("POST", "pay.wallet.test", "/v1/pay", 200, 50, 12)]
    assert rows(db, "SELECT category, location, evidence FROM finding") == [
        ("contact.email", "body/json:$.email", "l***@example.com")
    ]
    assert one(db, "SELECT count(*) FROM weird") == 0
    assert rows(db, "SELECT service, decrypted FROM conn WHERE resp_p = 80") == [("http", 1)]


def test_pcapng_interfaces_keep_their_own_link_type_and_clock(tmp_path: Path) -> None:
    db = replay(DATA / "multi-interface.pcapng", tmp_path / "t.db")
    assert one(db, "SELECT count(*) FROM conn") == 2
    assert one(db, "SELECT ts FROM conn WHERE proto='udp'") == pytest.approx(mk.T0, abs=1e-6)
    assert one(db, "SELECT server_name FROM tls") == mk.SERVER_NAME


# -- PCAPdroid ---------------------------------------------------------------------------------


def test_pcapdroid_trailer_names_each_connections_app(tmp_path: Path) -> None:
    db = replay(DATA / "pcapdroid-trailer.pcap", tmp_path / "t.db", app="ignored")
    apps = rows(db, "SELECT orig_p, app FROM conn WHERE proto='tcp' ORDER BY orig_p")
    # The label is cut at 19 bytes by PCAPdroid: the half character at the end is dropped.
    assert apps == [(42000, "支付宝钱包国"), (42001, "Example Wallet")]


def test_pcapdroid_pcapng_maps_comments_to_package_names(tmp_path: Path) -> None:
    db = replay(DATA / "pcapdroid.pcapng", tmp_path / "t.db")
    assert rows(db, "SELECT DISTINCT app FROM conn ORDER BY app") == [
        ("com.eg.android.AlipayGphone",),
        ("com.example.wallet",),
    ]


def test_without_tags_the_app_option_names_every_connection(tmp_path: Path) -> None:
    db = replay(DATA / "links" / "ethernet.pcap", tmp_path / "t.db", app="com.example.wallet")
    assert rows(db, "SELECT DISTINCT app FROM conn") == [("com.example.wallet",)]


# -- damaged files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kept", "message"),
    [
        ("truncated.pcap", 2, "cut short in the middle of packet 7"),
        ("corrupt.pcapng", 1, "corrupt block after 2 packets"),
        ("truncated.pcap.gz", 2, "compressed data cut short"),
    ],
)
def test_damaged_files_keep_what_was_read_and_say_where_in_one_line(
    name: str, kept: int, message: str, tmp_path: Path
) -> None:
    db = tmp_path / "t.db"
    with pytest.raises(InputError) as e:
        replay_file(DATA / "damaged" / name, db)
    assert message in str(e.value)
    assert name in str(e.value)
    assert "\n" not in str(e.value)
    assert one(db, "SELECT count(*) FROM conn") == kept
    assert rows(db, "SELECT name FROM weird") == [("damaged_capture",)]
    assert one(db, "SELECT ended FROM capture") is not None


def test_a_file_that_is_no_capture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap.gz"
    import gzip

    path.write_bytes(gzip.compress(b"hello, world"))
    with pytest.raises(InputError, match="gzip-compressed, but not a pcap"):
        replay_file(path, tmp_path / "t.db")


# -- decryption (real loopback traffic) --------------------------------------------------------

DECRYPTED = [
    ("tls13-http1", "TLSv1.3", ["POST /v1/profile", "GET /v1/balance?device=490154203237518"]),
    ("tls13-h2", "TLSv1.3", ["POST /v1/profile", "GET /v1/balance?device=490154203237518"]),
    ("tls13-aes128ccm", "TLSv1.3", ["GET /"]),
    ("tls12-aes128gcm", "TLSv1.2", ["POST /v1/profile"]),
    ("tls12-aes256gcm", "TLSv1.2", ["POST /v1/profile"]),
    ("tls12-chacha20", "TLSv1.2", ["POST /v1/profile"]),
    ("tls12-aes128ccm", "TLSv1.2", ["POST /v1/profile"]),
    ("tls12-aes128ccm8", "TLSv1.2", ["POST /v1/profile"]),
    ("tls12-cbc", "TLSv1.2", ["POST /v1/profile"]),
]


@pytest.mark.parametrize(("name", "version", "requests"), DECRYPTED, ids=[d[0] for d in DECRYPTED])
def test_key_log_decrypts_tls_into_classified_http(
    name: str, version: str, requests: list[str], tmp_path: Path
) -> None:
    db = replay(LOOPBACK / f"{name}.pcap", tmp_path / "t.db", key_log=LOOPBACK / f"{name}.keys")
    assert rows(db, "SELECT method || ' ' || uri FROM http ORDER BY trans_depth") == [
        (r,) for r in requests
    ]
    assert rows(db, "SELECT service, server_name, decrypted, not_decrypted_why FROM conn") == [
        ("http", "api.wallet.test", 1, None)
    ]
    assert rows(db, "SELECT version, established FROM tls") == [(version, 1)]
    assert one(db, "SELECT count(*) FROM weird") == 0
    if name != "tls13-aes128ccm":  # openssl s_server's status page carries no personal data
        categories = {c for (c,) in rows(db, "SELECT category FROM finding")}
        # The request's JSON, and the gzip-compressed JSON the server answered with.
        assert {
            "contact.email",
            "identifiers.device",
            "contact.phone",
            "location.precise",
        } <= categories


def test_http2_rows_say_http2_and_carry_the_authority(tmp_path: Path) -> None:
    db = replay(LOOPBACK / "tls13-h2.pcap", tmp_path / "t.db", key_log=LOOPBACK / "tls13-h2.keys")
    assert rows(db, "SELECT DISTINCT http_version, host, status_code FROM http") == [
        ("HTTP/2.0", f"api.wallet.test:{one(db, 'SELECT resp_p FROM conn')}", 200)
    ]


def test_without_keys_tls_stays_metadata_only(tmp_path: Path) -> None:
    db = replay(LOOPBACK / "tls13-http1.pcap", tmp_path / "t.db")
    assert one(db, "SELECT count(*) FROM http") == 0
    assert rows(db, "SELECT service, decrypted, not_decrypted_why FROM conn") == [
        ("tls", 0, "no_key_log")
    ]
    assert rows(db, "SELECT server_name, established FROM tls") == [("api.wallet.test", 1)]


def test_a_key_log_for_other_connections_leaves_these_metadata_only(tmp_path: Path) -> None:
    db = replay(
        LOOPBACK / "tls13-http1.pcap", tmp_path / "t.db", key_log=LOOPBACK / "tls12-cbc.keys"
    )
    assert rows(db, "SELECT decrypted, not_decrypted_why FROM conn") == [(0, "no_key_log")]


@pytest.mark.parametrize("name", ["tls13-http1-dsb.pcapng", "tls12-aes128gcm-late-dsb.pcapng"])
def test_decryption_secrets_blocks_decrypt_without_a_key_log(name: str, tmp_path: Path) -> None:
    db = replay(LOOPBACK / name, tmp_path / "t.db")
    assert one(db, "SELECT count(*) FROM http") >= 1
    assert rows(db, "SELECT decrypted FROM conn") == [(1,)]


def test_plaintext_form_post_over_loopback(tmp_path: Path) -> None:
    db = replay(LOOPBACK / "http-plain.pcap", tmp_path / "t.db")
    assert rows(db, "SELECT method, uri, status_code FROM http") == [("POST", "/v1/locate", 200)]
    categories = {c for (c,) in rows(db, "SELECT category FROM finding")}
    assert {"contact.phone", "location.precise"} <= categories


def test_quic_initial_gives_sni_and_a_quic_ja4(tmp_path: Path) -> None:
    db = replay(LOOPBACK / "quic-initial.pcap", tmp_path / "t.db")
    assert rows(db, "SELECT proto, service, server_name, not_decrypted_why FROM conn") == [
        ("udp", "quic", "quic.wallet.test", "no_key_log")
    ]
    version, alpn, ja4 = rows(db, "SELECT version, alpn, ja4 FROM tls")[0]
    assert (version, alpn) == ("TLSv1.3", "h3")
    assert ja4.startswith("q13d")


# -- the command line -----------------------------------------------------------------------


def test_cli_replays_a_pcap_with_a_key_log(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    result = CliRunner().invoke(
        cli,
        [
            "replay",
            str(LOOPBACK / "tls12-chacha20.pcap"),
            "--db",
            str(db),
            "--key-log",
            str(LOOPBACK / "tls12-chacha20.keys"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "findings" in result.output
    assert one(db, "SELECT count(*) FROM http") == 1


def test_cli_names_a_bad_key_log_in_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("not a key log\n")
    result = CliRunner().invoke(
        cli,
        [
            "replay",
            str(DATA / "links" / "raw.pcap"),
            "--db",
            str(tmp_path / "t.db"),
            "--key-log",
            str(keys),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {keys}: not an NSS key log (no CLIENT_RANDOM or *_SECRET lines)"
    ]


def test_progress_reports_the_position_in_the_file(tmp_path: Path) -> None:
    seen: list[int] = []
    path = DATA / "links" / "ethernet.pcap.gz"
    replay_file(path, tmp_path / "t.db", progress=seen.append)
    assert seen
    assert seen[-1] == path.stat().st_size


@pytest.mark.parametrize("seed", range(8))
def test_damaged_bytes_anywhere_end_in_rows_or_an_input_error(seed: int, tmp_path: Path) -> None:
    """Flipped bytes and cut files: never an exception other than InputError, never a hang."""
    import random

    rng = random.Random(seed)
    sources = sorted(p for p in DATA.rglob("*.pcap*") if p.suffix != ".gz")
    for n in range(12):
        data = bytearray(rng.choice(sources).read_bytes())
        if rng.random() < 0.3:
            del data[rng.randrange(24, len(data)) :]
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(24, len(data))] = rng.randrange(256)
        path = tmp_path / f"fuzz{n}.pcap"
        path.write_bytes(bytes(data))
        replay = pcap.PcapReplay(path, "K1")
        try:
            for _ in replay.observations():
                pass
        except InputError:
            pass


def test_tls_inside_an_http_connect_tunnel_is_decrypted(tmp_path: Path) -> None:
    db = replay(
        LOOPBACK / "connect-tunnel.pcap",
        tmp_path / "t.db",
        key_log=LOOPBACK / "tls12-aes128gcm.keys",
    )
    assert rows(db, "SELECT trans_depth, method, uri FROM http ORDER BY trans_depth") == [
        (1, "CONNECT", "api.wallet.test:443"),
        (2, "POST", "/v1/profile"),
    ]
    assert rows(db, "SELECT server_name FROM tls") == [("api.wallet.test",)]
    assert {"contact.email"} <= {c for (c,) in rows(db, "SELECT category FROM finding")}

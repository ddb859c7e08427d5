"""Report build time at scale: 1,000,000 connections and ~200,000 findings, against full scans.

Why: the report must stay SQL aggregation over indexes, never Python loops over rows; a
regression shows up here as minutes instead of seconds. Absolute seconds depend on the machine
and its other tenants, so the same run also times a baseline, ``SELECT count(*)`` over ``conn``
and over ``finding`` plus the ``borderflow summary`` query, and prints the report's time as a
multiple of it.

The database is generated (not downloaded): a fixed seed, 4 captures of 2 apps, ~2,000
hostnames with a long-tailed popularity over ~3,000 addresses (some shared by several names),
destinations in a dozen countries with operators, parents and laws (some unknown), 15 % of the
connections not inspected (pinned, passed through, no key log, opaque, failed), findings in
every category with ~10 % of them in responses, and some weird rows. It is written with plain
``sqlite3`` ``executemany`` in one transaction, after ``store.open_db`` has migrated the schema.

Usage (from the repository root)::

    python bench/report_scale.py [--conns 1000000] [--findings 200000] [--repeats 3] [--db PATH]

With ``--db`` the generated database is kept (and reused when it exists already).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from borderflow.analysis import queries, report, report_html, report_md, store
from borderflow.analysis.records import Category, NotDecryptedWhy

# (country, operator, parent, parent's HQ, laws) per kind of destination.
PLACES: list[tuple[str | None, str | None, str | None, str | None, str | None]] = [
    ("CN", "Alibaba Cloud (Aliyun)", "Alibaba Group", "CN", "cn-nil-2017,cn-pipl-2021"),
    ("CN", "Tencent Cloud", "Tencent Holdings", "CN", "cn-nil-2017,cn-csl-2016"),
    ("US", "Amazon Web Services", "Amazon", "US", "us-cloud-act,us-fisa-702"),
    ("US", "Google Cloud", "Alphabet", "US", "us-cloud-act,us-fisa-702"),
    ("DE", "Amazon Web Services", "Amazon", "US", "us-cloud-act,us-fisa-702"),
    ("IE", "Google Cloud", "Alphabet", "US", "us-cloud-act,us-fisa-702"),
    ("DE", "Hetzner Online", None, None, None),
    ("FR", "OVHcloud", None, None, None),
    ("HK", "Alibaba Cloud (international regions)", "Alibaba Group", "CN", "hk-nsl-2020"),
    ("SG", "Tencent Cloud", "Tencent Holdings", "CN", "cn-nil-2017"),
    ("GB", "Cloudflare", "Cloudflare", "US", "us-cloud-act"),
    (None, None, None, None, None),  # unknown geography
]
WHY = [
    (NotDecryptedWhy.PINNED_TLS, 6),
    (NotDecryptedWhy.PASSED_THROUGH, 4),
    (NotDecryptedWhy.NO_KEY_LOG, 2),
    (NotDecryptedWhy.NOT_TLS, 2),
    (NotDecryptedWhy.CONNECT_FAILED, 1),
]
CATEGORIES = list(Category)


def generate(path: Path, n_conns: int, n_findings: int, seed: int = 6) -> None:
    """Write the benchmark database at ``path``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    store.open_db(path).close()  # the schema, indexes included, as the tool creates it
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    captures = [
        (f"K{i:016d}", "com.example.wallet" if i < 2 else "com.other.pay") for i in range(4)
    ]
    hosts = [
        f"api{i}.{rng.choice(['alipay.com', 'umeng.com', 'example.cn', 'pay.test'])}"
        for i in range(2000)
    ]
    addresses = [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(3000)]
    # Each host reaches 1-3 addresses; addresses are shared by several hosts (CDNs).
    host_addrs = {h: rng.sample(addresses, rng.randint(1, 3)) for h in hosts}
    weights = [1 / (i + 1) for i in range(len(hosts))]  # long tail: a few hosts get most traffic
    start = 1_790_000_000.0
    with conn:
        conn.executemany(
            "INSERT INTO capture (id, source, path, sha256, started, ended, app, device,"
            " tool_version) VALUES (?, 'live', ?, NULL, ?, ?, ?, 'bench', 'bench')",
            [
                (cid, str(path), start + i * 1e5, start + (i + 1) * 1e5, app)
                for i, (cid, app) in enumerate(captures)
            ],
        )
        dest_rows = []
        for h in hosts:
            for a in host_addrs[h]:
                country, op, parent, hq, laws = rng.choice(PLACES)
                dest_rows.append(
                    (a, h, start, country, op, country if op else None, parent, hq, laws)
                )
        for a in addresses[:200]:  # connections without a name
            country, op, parent, hq, laws = rng.choice(PLACES)
            dest_rows.append((a, "", start, country, op, country if op else None, parent, hq, laws))
        conn.executemany(
            "INSERT OR IGNORE INTO destination (resp_h, reached_as, first_seen, country, operator,"
            " operator_country, operator_parent, operator_hq_country, laws)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            dest_rows,
        )
        why_choices = [w for w, n in WHY for _ in range(n)] + [None] * 85
        chosen_hosts = rng.choices(hosts, weights=weights, k=n_conns)
        decrypted_uids: list[str] = []

        def conns() -> Iterator[tuple[object, ...]]:
            for i, host in enumerate(chosen_hosts):
                cid, app = captures[i * len(captures) // n_conns]
                why = rng.choice(why_choices)
                named = i % 50 != 0
                resp_h = rng.choice(host_addrs[host]) if named else addresses[i % 200]
                uid = f"C{i:016d}"
                if why is None:
                    decrypted_uids.append(uid)
                yield (
                    uid,
                    cid,
                    start + i * 0.4,
                    0.2,
                    "10.0.0.2",
                    40000 + i % 20000,
                    resp_h,
                    443,
                    "tcp",
                    "tls" if why is None else None,
                    host if named else None,
                    app,
                    int(why is None),
                    why,
                    rng.randint(200, 5000),
                    rng.randint(100, 20000),
                )

        conn.executemany(
            "INSERT INTO conn (uid, capture_id, ts, duration, orig_h, orig_p, resp_h, resp_p,"
            " proto, service, server_name, app, decrypted, not_decrypted_why, orig_bytes,"
            " resp_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            conns(),
        )
        conn.execute(
            "INSERT INTO http (uid, trans_depth, ts, method, host, uri, request_body_len)"
            " SELECT uid, 1, ts, 'POST', server_name, '/collect', 512 FROM conn"
            " WHERE decrypted AND rowid % 2 = 0"
        )
        detectors = ["imei", "email", "phone", "latlng", "device_identifier", "card"]

        def found() -> Iterator[tuple[object, ...]]:
            for i in range(n_findings):
                uid = decrypted_uids[rng.randrange(len(decrypted_uids))]
                yield (
                    uid,
                    1,
                    start + int(uid[1:]) * 0.4,
                    "response" if i % 10 == 0 else "request",
                    str(rng.choice(CATEGORIES)),
                    rng.choice(detectors),
                    f"body/json:$.f{i % 37}",
                    0.9,
                    "bench finding",
                    f"ev{i}",
                )

        conn.executemany(
            "INSERT OR IGNORE INTO finding (uid, trans_depth, ts, direction, category, detector,"
            " location, confidence, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            found(),
        )
        conn.executemany(
            "INSERT INTO weird (ts, uid, name, addl, source) VALUES (?, ?, ?, NULL, 'bench')",
            (
                (start, decrypted_uids[i * 97], rng.choice(["binary_body", "decompression_limit"]))
                for i in range(2000)
            ),
        )
    conn.execute("ANALYZE")
    conn.close()


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=1_000_000)
    parser.add_argument("--findings", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the generated database here (reused)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "report_scale.db"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, args.conns, args.findings)
            print(f"generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        db = store.open_db(path)
        (n_conn,) = db.execute("SELECT count(*) FROM conn").fetchone()
        (n_found,) = db.execute("SELECT count(*) FROM finding").fetchone()

        def scans() -> None:
            db.execute("SELECT count(*), sum(orig_bytes) FROM conn").fetchone()
            db.execute("SELECT count(*), sum(confidence) FROM finding").fetchone()

        baseline = timed(scans, args.repeats)
        summary = timed(lambda: queries.summary(db, queries.Filters()), args.repeats)
        built = report.build(db, database_name=path.name)
        json_s = timed(
            lambda: report.to_json(report.build(db, database_name=path.name)), args.repeats
        )
        md_s = timed(
            lambda: report_md.render(report.build(db, database_name=path.name)), args.repeats
        )
        one_capture = timed(
            lambda: report.build(db, capture=built["scope"]["captures"][1]["id"]), args.repeats
        )
        rows = [
            ("baseline: full scans of conn and finding", baseline),
            ("summary query (borderflow summary)", summary),
            ("report, JSON", json_s),
            ("report, Markdown", md_s),
            ("report, JSON, one capture (--capture)", one_capture),
            ("report, HTML", timed(lambda: report_html.render(report.build(db)), args.repeats)),
        ]
        print(
            f"report_scale: {n_conn:,} connections, {n_found:,} findings, median of {args.repeats}"
        )
        print(f"{'':44} {'seconds':>8} {'x baseline':>11}")
        for label, seconds in rows:
            print(f"{label:44} {seconds:8.2f} {seconds / baseline:11.1f}")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

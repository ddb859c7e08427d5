"""How fast the classifier reads payloads: the labelled corpus replicated to 50 MB or more.

    python bench/classify_throughput.py [--target-mb 50] [--corpus tests/corpus/corpus.jsonl]

Every corpus message (URL, headers and body, as ``borderflow classify`` reads them) is
classified again and again until the bytes classified reach the target; the time counts
``classify`` calls only. Reports MB/s (10^6 bytes of URL + header values + body per second)
and messages per second, for one thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from borderflow.analysis.classify import classify
from borderflow.analysis.cli import parse_message_line
from borderflow.analysis.records import Message

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus" / "corpus.jsonl"


def message_size(message: Message) -> int:
    headers = sum(len(k) + len(v) for k, v in message.headers)
    return len(message.body) + len((message.url or "").encode()) + headers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-mb", type=float, default=50.0)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    lines = [x for x in args.corpus.read_text(encoding="utf-8").splitlines() if x.strip()]
    messages = [parse_message_line(line)[1] for line in lines]
    per_pass = sum(message_size(m) for m in messages)
    passes = max(1, int(args.target_mb * 1e6 // per_pass) + 1)
    for message in messages:  # warm the caches once, outside the clock
        classify(message)
    started = time.perf_counter()
    for _ in range(passes):
        for message in messages:
            classify(message)
    elapsed = time.perf_counter() - started
    total = per_pass * passes
    count = len(messages) * passes
    print(
        f"classify: {total / 1e6:.1f} MB in {count} messages ({len(messages)} corpus messages "
        f"x {passes}) in {elapsed:.1f} s: {total / 1e6 / elapsed:.2f} MB/s, "
        f"{count / elapsed:.0f} messages/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""NSS key log files: what is kept, what is skipped, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderflow.analysis.errors import InputError
from borderflow.analysis.tlsdecrypt.keylog import KeyLog, read_key_log

RANDOM = "ab" * 32


def test_labels_comments_and_bad_lines() -> None:
    log = KeyLog()
    added = log.add_text(
        f"# SSL/TLS secrets log file\nCLIENT_RANDOM {RANDOM} {'cd' * 48}\n"
        f"CLIENT_TRAFFIC_SECRET_0 {RANDOM.upper()} {'ef' * 32}\n"
        f"RSA 0011 2233\nCLIENT_RANDOM {RANDOM[:10]} {'cd' * 48}\nCLIENT_RANDOM zz zz\n\n"
    )
    assert added == 2
    assert len(log) == 2
    assert log.lines_ignored == 3
    cr = bytes.fromhex(RANDOM)
    assert log.get("CLIENT_RANDOM", cr) == bytes.fromhex("cd" * 48)
    assert log.has(cr)
    assert not log.has(bytes(32))


def test_a_file_without_secrets_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text("hello\n")
    with pytest.raises(InputError, match="not an NSS key log"):
        read_key_log(path)
    with pytest.raises(InputError, match="cannot read key log"):
        read_key_log(tmp_path / "missing.log")

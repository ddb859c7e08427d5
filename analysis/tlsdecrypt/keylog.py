"""NSS key log files (SSLKEYLOGFILE), as browsers, curl, OpenSSL and Frida scripts write them.

Each line is ``LABEL <client_random hex> <secret hex>``; ``#`` starts a comment. Secrets are
looked up by label and the ClientHello's random, so one log serves any number of connections
(and several logs, e.g. a file and a pcapng's Decryption Secrets Blocks, add up).
"""

from __future__ import annotations

import binascii
from pathlib import Path
from typing import Final

from borderflow.analysis.errors import InputError

LABELS: Final = frozenset(
    {
        "CLIENT_RANDOM",  # TLS 1.2 and earlier: the master secret
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET",
    }
)


class KeyLog:
    """Secrets by (label, client random)."""

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, bytes], bytes] = {}
        self.lines_ignored = 0

    def __len__(self) -> int:
        return len(self._secrets)

    def add_text(self, text: str) -> int:
        """Add every well-formed line of ``text``; returns how many secrets were added."""
        added = 0
        for line in text.splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) != 3 or parts[0] not in LABELS:
                self.lines_ignored += 1
                continue
            try:
                client_random = binascii.unhexlify(parts[1])
                secret = binascii.unhexlify(parts[2])
            except (binascii.Error, ValueError):
                self.lines_ignored += 1
                continue
            if len(client_random) != 32:
                self.lines_ignored += 1
                continue
            self._secrets[(parts[0], client_random)] = secret
            added += 1
        return added

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self._secrets.get((label, client_random))

    def has(self, client_random: bytes) -> bool:
        """Whether any secret for this connection is known."""
        return any(
            (label, client_random) in self._secrets
            for label in (
                "CLIENT_RANDOM",
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
            )
        )


def read_key_log(path: Path) -> KeyLog:
    """A key log file; InputError if it cannot be read or holds no secret at all."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as e:
        raise InputError(f"{path}: cannot read key log ({e.strerror})") from e
    log = KeyLog()
    if not log.add_text(text):
        raise InputError(f"{path}: not an NSS key log (no CLIENT_RANDOM or *_SECRET lines)")
    return log

"""A TLS connection seen from the wire: hellos, fingerprints and, given keys, the plaintext.

``TlsSession`` reads both directions of a reassembled TCP stream record by record. It always
reads the ClientHello (also when split across records and segments) and the ServerHello
(negotiated version, cipher suite, ALPN). With a key log that knows the connection's client
random it decrypts every record (``borderflow.analysis.tlsdecrypt.records``) and hands the
application data to ``on_app_data``; without, it stops reading once the handshake shows
whether the connection was established, so a metadata-only replay copies no payload.

TLS 1.3 keys change during the handshake: early data (0-RTT), handshake, application. Each
direction tries its current key first and, when a record does not authenticate, the later
ones, so a key log without early-data secrets still decrypts everything after the 0-RTT
records (which are skipped and counted), as Wireshark does.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Final

from borderflow.analysis.tls_hello import ClientHelloInfo, parse_client_hello
from borderflow.analysis.tlsdecrypt.keylog import KeyLog
from borderflow.analysis.tlsdecrypt.records import (
    SUITES,
    RecordDecrypter,
    Suite,
    Tls13Decrypter,
    tls12_decrypters,
)

_CCS: Final = 20
_ALERT: Final = 21
_HANDSHAKE: Final = 22
_APP_DATA: Final = 23
_HEARTBEAT: Final = 24
_MAX_RECORD: Final = (1 << 14) + 2048
_MAX_HELLO_BUFFER: Final = 1 << 17
_MAX_FAILURES: Final = 64  # records in a row that no key opens before a direction gives up
_HRR_RANDOM: Final = hashlib.sha256(b"HelloRetryRequest").digest()

VERSION_NAMES: Final = {
    0x0304: "TLSv1.3",
    0x0303: "TLSv1.2",
    0x0302: "TLSv1.1",
    0x0301: "TLSv1",
    0x0300: "SSLv3",
}

_ALERTS: Final = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}

AppDataHandler = Callable[[bool, bytes], None]  # (from client, plaintext)
AppGapHandler = Callable[[bool], None]


class _Side:
    """One direction of the connection."""

    __slots__ = (
        "buf",
        "ccs",
        "dead",
        "decrypter",
        "failures",
        "hs",
        "records_after_hello",
        "stage",
        "stages",
        "undecrypted",
    )

    def __init__(self) -> None:
        self.buf = bytearray()
        self.hs = bytearray()  # handshake messages being assembled
        self.ccs = False  # TLS 1.2: ChangeCipherSpec seen, so what follows is encrypted
        self.dead = False  # desynchronised or given up: nothing more is read
        self.decrypter: RecordDecrypter | None = None
        self.stages: list[bytes | None] = []  # TLS 1.3 secrets, in the order they take over
        self.stage = -1
        self.failures = 0
        self.undecrypted = 0  # protected records no key opened
        self.records_after_hello = 0


class TlsSession:
    """See the module docstring; a ``StreamSink`` for both directions of the stream."""

    def __init__(
        self,
        keys: KeyLog | None,
        *,
        on_app_data: AppDataHandler | None = None,
        on_app_gap: AppGapHandler | None = None,
    ) -> None:
        self.keys = keys
        self.on_app_data = on_app_data
        self.on_app_gap = on_app_gap
        self.hello: ClientHelloInfo | None = None
        self.client_random: bytes | None = None
        self.early_data_offered = False
        self.server_hello = False
        self.version: int | None = None
        self.suite_id: int | None = None
        self.alpn: str | None = None  # the protocol the server selected
        self.etm = False
        self.established = False
        self.failure: str | None = None
        self.keys_found = False
        self.decrypted = False
        self.app_bytes = [0, 0]  # plaintext application bytes: client, server
        self.problems: list[str] = []
        self._client = _Side()
        self._server = _Side()
        self.server_random = b""
        self._keys_tried = False
        self._suite: Suite | None = None
        self._progress = [False, False]

    # -- stream sinks ---------------------------------------------------------------------

    def data(self, from_client: bool, chunk: bytes) -> bool:
        side = self._client if from_client else self._server
        if side.dead:
            return False
        side.buf += chunk
        self._records(side, from_client)
        return self._wants(side, from_client)

    def gap(self, from_client: bool, size: int) -> bool:
        side = self._client if from_client else self._server
        if not side.dead and self._wants(side, from_client):
            if self.decrypted and self.on_app_gap is not None:
                self.on_app_gap(from_client)
            self.problems.append(f"tls_stream_gap {'client' if from_client else 'server'} {size}")
        side.dead = True
        return False

    @property
    def undecrypted(self) -> int:
        """Protected records that no key opened (0-RTT data without its secret, say)."""
        return self._client.undecrypted + self._server.undecrypted

    @property
    def version_name(self) -> str | None:
        if self.version is not None:
            return VERSION_NAMES.get(self.version, f"unknown (0x{self.version:04x})")
        return self.hello.version_name if self.hello is not None else None

    def _wants(self, side: _Side, from_client: bool) -> bool:
        if side.dead:
            return False
        if from_client and self.hello is None:
            if len(side.buf) > _MAX_HELLO_BUFFER:
                side.dead = True
                return False
            return True
        if self._can_decrypt():
            return True
        # Metadata only: read until the handshake shows whether it was established.
        if not self.server_hello:
            return not from_client or self.failure is None
        return not self.established and side.records_after_hello < 8

    def _can_decrypt(self) -> bool:
        if self.keys is None or self.client_random is None:
            return False
        if not self._keys_tried:
            return True  # secrets may still arrive in a later Decryption Secrets Block
        return self.keys_found

    # -- records --------------------------------------------------------------------------

    def _records(self, side: _Side, from_client: bool) -> None:
        buf = side.buf
        off = 0
        n = len(buf)
        while n - off >= 5:
            ctype = buf[off]
            length = (buf[off + 3] << 8) | buf[off + 4]
            if not (_CCS <= ctype <= _HEARTBEAT) or buf[off + 1] != 3 or length > _MAX_RECORD:
                if self.hello is None and from_client:
                    self.problems.append("tls_not_a_record")
                side.dead = True
                side.buf = bytearray()
                return
            end = off + 5 + length
            if end > n:
                break
            if ctype == _APP_DATA and from_client and not self.server_hello:
                # 0-RTT early data: which key opens it is known only from the ServerHello.
                if n > _MAX_HELLO_BUFFER * 32:
                    side.dead = True
                    side.buf = bytearray()
                    return
                break
            if self.server_hello and ctype != _ALERT and not self._can_decrypt():
                # Metadata only, hellos read: what follows only shows the handshake's progress.
                off = end
                side.records_after_hello += 1
                if ctype in (_CCS, _APP_DATA):
                    self._note_progress(from_client)
                continue
            header = bytes(buf[off : off + 5])
            body = bytes(buf[off + 5 : end])
            off = end
            self._record(side, from_client, ctype, header, body)
            if side.dead:
                side.buf = bytearray()
                return
        if off:
            del buf[:off]

    def _record(
        self, side: _Side, from_client: bool, ctype: int, header: bytes, body: bytes
    ) -> None:
        if self.server_hello:
            side.records_after_hello += 1
            if ctype in (_CCS, _APP_DATA):
                self._note_progress(from_client)
        protected = (ctype == _APP_DATA and self.server_hello) or (
            side.ccs and ctype != _CCS and not self._is_tls13()
        )
        if ctype == _CCS:
            if not self._is_tls13():
                side.ccs = True
            return
        if protected:
            self._protected(side, from_client, ctype, header, body)
            return
        if ctype == _HANDSHAKE:
            side.hs += body
            self._handshake(side, from_client, encrypted=False)
        elif ctype == _ALERT and len(body) >= 2 and body[0] == 2:
            self.failure = self.failure or _ALERTS.get(body[1], f"alert {body[1]}")

    def _note_progress(self, from_client: bool) -> None:
        """Both sides went past their hellos (ChangeCipherSpec or protected records)."""
        self._progress[0 if from_client else 1] = True
        if self._progress[0] and self._progress[1]:
            self.established = self.failure is None

    def _is_tls13(self) -> bool:
        return self.version == 0x0304

    # -- handshake messages ---------------------------------------------------------------

    def _handshake(self, side: _Side, from_client: bool, *, encrypted: bool) -> None:
        hs = side.hs
        while len(hs) >= 4:
            length = int.from_bytes(hs[1:4])
            if len(hs) < 4 + length:
                if length > _MAX_HELLO_BUFFER:
                    side.hs = bytearray()
                return
            kind = hs[0]
            message = bytes(hs[: 4 + length])
            del hs[: 4 + length]
            self._message(side, from_client, kind, message, encrypted=encrypted)

    def _message(
        self, side: _Side, from_client: bool, kind: int, message: bytes, *, encrypted: bool
    ) -> None:
        if from_client:
            if kind == 1 and self.hello is None:
                self.hello = parse_client_hello(message)
                if len(message) >= 38:
                    self.client_random = message[6:38]
                if self.hello is not None:
                    self.early_data_offered = 0x002A in self.hello.extensions
            elif kind == 20 and encrypted and self._is_tls13():
                self._advance(side, 2)  # client Finished: application keys from here on
            elif kind == 5 and encrypted:
                self._advance(side, 1)  # EndOfEarlyData: handshake keys from here on
            elif kind == 24 and encrypted:
                self._key_update(side)
            return
        if kind == 2 and not encrypted:
            self._server_hello(message)
        elif kind == 8 and encrypted:
            self._encrypted_extensions(message)
        elif kind == 20 and encrypted and self._is_tls13():
            self._advance(side, 1)  # server Finished
        elif kind == 24 and encrypted:
            self._key_update(side)

    def _server_hello(self, message: bytes) -> None:
        b = message[4:]
        if len(b) < 38:
            return
        random = b[2:34]
        if random == _HRR_RANDOM:
            return  # HelloRetryRequest: the real ServerHello follows
        version = (b[0] << 8) | b[1]
        off = 35 + b[34]
        if off + 3 > len(b):
            return
        suite = (b[off] << 8) | b[off + 1]
        off += 3
        exts = _extensions(b, off)
        supported = exts.get(0x002B)
        if supported is not None and len(supported) == 2:
            version = (supported[0] << 8) | supported[1]
            if version & 0xFF00 == 0x7F00:  # TLS 1.3 drafts
                version = 0x0304
        alpn = exts.get(0x0010)
        if alpn is not None and len(alpn) >= 3:
            self.alpn = alpn[3 : 3 + alpn[2]].decode("latin-1")
        self.etm = 0x0016 in exts
        self.server_hello = True
        self.version = version
        self.suite_id = suite
        self.server_random = random
        self._suite = SUITES.get(suite)
        if self._client.buf and not self._client.dead:
            self._records(self._client, True)  # early data waiting for this ServerHello

    def _encrypted_extensions(self, message: bytes) -> None:
        exts = _extensions(message[4:], 0)
        alpn = exts.get(0x0010)
        if alpn is not None and len(alpn) >= 3:
            self.alpn = alpn[3 : 3 + alpn[2]].decode("latin-1")

    # -- decryption -----------------------------------------------------------------------

    def _ensure_keys(self) -> None:
        if self._keys_tried:
            return
        self._keys_tried = True
        keys, cr, suite = self.keys, self.client_random, self._suite
        if keys is None or cr is None or self.version is None:
            return
        if suite is None:
            if keys.has(cr):
                self.problems.append(f"tls_cipher_suite_not_supported 0x{self.suite_id or 0:04x}")
            return
        if self._is_tls13():
            if not suite.tls13:
                return
            client = [
                keys.get("CLIENT_EARLY_TRAFFIC_SECRET", cr) if self.early_data_offered else None,
                keys.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET", cr),
                keys.get("CLIENT_TRAFFIC_SECRET_0", cr),
            ]
            server = [
                keys.get("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr),
                keys.get("SERVER_TRAFFIC_SECRET_0", cr),
            ]
            if not any(client) and not any(server):
                return
            self.keys_found = True
            self._client.stages = client
            self._server.stages = server
            self._advance(self._client, 0 if self.early_data_offered else 1)
            self._advance(self._server, 0)
            return
        master = keys.get("CLIENT_RANDOM", cr)
        if master is None or suite.tls13:
            return
        self.keys_found = True
        c, s = tls12_decrypters(suite, self.version, master, cr, self.server_random, etm=self.etm)
        self._client.decrypter, self._server.decrypter = c, s

    def _advance(self, side: _Side, stage: int) -> None:
        if not side.stages or stage <= side.stage or stage >= len(side.stages):
            return
        side.stage = stage
        secret = side.stages[stage]
        assert self._suite is not None
        side.decrypter = Tls13Decrypter(self._suite, secret) if secret else None

    def _key_update(self, side: _Side) -> None:
        if isinstance(side.decrypter, Tls13Decrypter):
            side.decrypter = side.decrypter.updated()

    def _protected(
        self, side: _Side, from_client: bool, ctype: int, header: bytes, body: bytes
    ) -> None:
        self._ensure_keys()
        if not self.keys_found:
            side.undecrypted += 1
            return
        result = side.decrypter.decrypt(ctype, header, body) if side.decrypter else None
        if result is None and side.stages:
            # A TLS 1.3 key change this side has not announced (or whose message was lost):
            # try the later secrets before giving the record up.
            assert self._suite is not None
            for stage in range(side.stage + 1, len(side.stages)):
                secret = side.stages[stage]
                if secret is None:
                    continue
                candidate = Tls13Decrypter(self._suite, secret)
                result = candidate.decrypt(ctype, header, body)
                if result is not None:
                    side.stage, side.decrypter = stage, candidate
                    break
        if result is None:
            side.undecrypted += 1
            side.failures += 1
            if side.failures > _MAX_FAILURES:
                self.problems.append(
                    f"tls_decryption_failed {'client' if from_client else 'server'}"
                )
                side.dead = True
            return
        side.failures = 0
        inner, plain = result
        if inner == _HANDSHAKE:
            side.hs += plain
            self._handshake(side, from_client, encrypted=True)
        elif inner == _APP_DATA:
            self.decrypted = True
            self.app_bytes[0 if from_client else 1] += len(plain)
            if plain and self.on_app_data is not None:
                self.on_app_data(from_client, plain)
        elif inner == _ALERT and len(plain) >= 2 and plain[0] == 2:
            self.failure = self.failure or _ALERTS.get(plain[1], f"alert {plain[1]}")


def _extensions(b: bytes, off: int) -> dict[int, bytes]:
    """Extensions from a hello body at ``off`` (which points at the 2-byte total length)."""
    out: dict[int, bytes] = {}
    if off + 2 > len(b):
        return out
    end = min(len(b), off + 2 + struct.unpack_from("!H", b, off)[0])
    off += 2
    while off + 4 <= end:
        kind, length = struct.unpack_from("!HH", b, off)
        out.setdefault(kind, b[off + 4 : off + 4 + length])
        off += 4 + length
    return out

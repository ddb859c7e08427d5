"""The ClientHello inside QUIC Initial packets, decrypted with the keys anyone can derive.

QUIC encrypts even its first packets, but their keys come from the client's Destination
Connection ID and a salt published in the RFC (RFC 9001 §5.2, RFC 9369 for QUIC v2), so a
passive reader can open them: remove header protection, decrypt with AES-128-GCM, collect the
CRYPTO frames by offset, and read the TLS ClientHello (SNI, ALPN, JA4 with transport ``q``)
once its bytes are contiguous. Large hellos (post-quantum key shares) span several Initial
packets; ``InitialReader`` keeps the pieces until the hello is whole.

Everything after the Initial packets needs the TLS secrets (1-RTT keys); borderflow does not
decrypt QUIC payloads, so such connections stay metadata-only.
"""

from __future__ import annotations

import hmac
import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from borderflow.analysis.tls_hello import ClientHelloInfo, parse_client_hello

_V1: Final = 0x00000001
_V2: Final = 0x6B3343CF
_SALTS: Final = {
    _V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    _V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}
_DRAFT_SALT: Final = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")  # drafts 23-34
_MAX_CRYPTO: Final = 1 << 16
_MAX_PACKETS: Final = 8  # Initial packets read per connection before giving up


def _salt(version: int) -> bytes | None:
    if version in _SALTS:
        return _SALTS[version]
    if 0xFF000017 <= version <= 0xFF000022:
        return _DRAFT_SALT
    return None


def _varint(data: bytes, off: int) -> tuple[int, int]:
    """A QUIC variable-length integer at ``off``: (value, offset after it)."""
    if off >= len(data):
        raise ValueError("truncated varint")
    first = data[off]
    size = 1 << (first >> 6)
    if off + size > len(data):
        raise ValueError("truncated varint")
    value = first & 0x3F
    for b in data[off + 1 : off + size]:
        value = (value << 8) | b
    return value, off + size


def expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256, no context, ``length`` <= 32.

    That is one HMAC, which the standard library's one-shot call computes several times
    quicker than ``cryptography``'s HKDF objects: it runs four times per QUIC connection.
    """
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00\x01"  # no context; block 1
    return hmac.digest(secret, info, "sha256")[:length]


class _Keys:
    def __init__(self, version: int, dcid: bytes) -> None:
        salt = _salt(version)
        assert salt is not None
        secret = expand_label(hmac.digest(salt, dcid, "sha256"), b"client in", 32)
        prefix = b"quicv2 " if version == _V2 else b"quic "
        self.key = expand_label(secret, prefix + b"key", 16)
        self.aead = AESGCM(self.key)
        self.iv = int.from_bytes(expand_label(secret, prefix + b"iv", 12))
        # RFC 9001 §5.4.3: header protection is AES in ECB mode on 16-byte samples, each
        # encrypted on its own, so one encryptor serves every packet.
        self.hp = expand_label(secret, prefix + b"hp", 16)
        self._hp = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()  # noqa: S305

    def mask(self, sample: bytes) -> bytes:
        return self._hp.update(sample)


def is_initial(datagram: bytes) -> bool:
    """Whether a UDP payload starts with a QUIC long-header Initial packet we can read."""
    if len(datagram) < 7 or datagram[0] & 0xC0 != 0xC0:
        return False
    version = struct.unpack_from("!I", datagram, 1)[0]
    kind = (datagram[0] >> 4) & 0x03
    return _salt(version) is not None and kind == (1 if version == _V2 else 0)


class InitialReader:
    """The client Initial packets of one QUIC connection, until its ClientHello is read."""

    def __init__(self) -> None:
        self.hello: ClientHelloInfo | None = None
        self.version: int | None = None
        self.done = False
        self.problem: str | None = None
        self._keys: _Keys | None = None
        self._crypto: dict[int, bytes] = {}
        self._packets = 0

    def datagram(self, data: bytes) -> None:
        """A UDP payload the client sent."""
        if self.done:
            return
        self._packets += 1
        if self._packets > _MAX_PACKETS:
            self.done = True
            return
        off = 0
        while off < len(data) and not self.done:
            try:
                end = self._packet(data, off)
            except (ValueError, IndexError, InvalidTag) as e:
                self.problem = f"quic_initial_unreadable {type(e).__name__}"
                return
            if end is None:
                return
            off = end

    def _packet(self, data: bytes, start: int) -> int | None:
        """Read the long-header packet at ``start``; the offset after it, or None to stop."""
        first = data[start]
        if first & 0xC0 != 0xC0 or start + 7 > len(data):
            return None
        version = struct.unpack_from("!I", data, start + 1)[0]
        if _salt(version) is None:
            return None
        kind = (first >> 4) & 0x03
        off = start + 5
        dcid_len = data[off]
        dcid = data[off + 1 : off + 1 + dcid_len]
        off += 1 + dcid_len
        scid_len = data[off]
        off += 1 + scid_len
        initial = kind == (1 if version == _V2 else 0)
        if initial:
            token_len, off = _varint(data, off)
            off += token_len
        length, off = _varint(data, off)
        end = off + length
        if end > len(data):
            raise ValueError("packet longer than its datagram")
        if not initial:
            return end  # 0-RTT or Handshake packet coalesced after the Initial
        if self._keys is None:
            self.version = version
            self._keys = _Keys(version, dcid)
        keys = self._keys
        sample = data[off + 4 : off + 20]
        if len(sample) < 16:
            raise ValueError("packet too short for its header protection sample")
        mask = keys.mask(sample)
        first_plain = first ^ (mask[0] & 0x0F)
        pn_len = (first_plain & 0x03) + 1
        pn_bytes = bytes(
            b ^ m for b, m in zip(data[off : off + pn_len], mask[1 : 1 + pn_len], strict=True)
        )
        header = bytes([first_plain]) + data[start + 1 : off] + pn_bytes
        pn = int.from_bytes(pn_bytes)
        nonce = (keys.iv ^ pn).to_bytes(12)
        payload = keys.aead.decrypt(nonce, data[off + pn_len : end], header)
        self._frames(payload)
        return end

    def _frames(self, payload: bytes) -> None:
        off = 0
        n = len(payload)
        while off < n:
            kind = payload[off]
            if kind == 0x00 or kind == 0x01:  # PADDING, PING
                off += 1
            elif kind in (0x02, 0x03):  # ACK
                off += 1
                _largest, off = _varint(payload, off)
                _delay, off = _varint(payload, off)
                ranges, off = _varint(payload, off)
                _first, off = _varint(payload, off)
                for _ in range(ranges):
                    _gap, off = _varint(payload, off)
                    _length, off = _varint(payload, off)
                if kind == 0x03:
                    for _ in range(3):
                        _count, off = _varint(payload, off)
            elif kind == 0x06:  # CRYPTO
                offset, off = _varint(payload, off + 1)
                length, off = _varint(payload, off)
                if offset + length <= _MAX_CRYPTO:
                    self._crypto.setdefault(offset, payload[off : off + length])
                off += length
            elif kind in (0x1C, 0x1D):  # CONNECTION_CLOSE
                self.done = True
                return
            else:
                return  # a frame an Initial should not carry: stop reading this packet
        self._try_hello()

    def _try_hello(self) -> None:
        data = bytearray()
        for start in sorted(self._crypto):
            if start > len(data):
                break
            data += self._crypto[start][len(data) - start :]
        if len(data) < 4 or data[0] != 0x01:
            return
        need = 4 + int.from_bytes(data[1:4])
        if len(data) >= need:
            self.hello = parse_client_hello(bytes(data[:need]))
            self.done = True

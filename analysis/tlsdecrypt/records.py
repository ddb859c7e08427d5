"""TLS record protection: cipher suites, key schedules and record decryption.

TLS 1.3 (RFC 8446 §7): traffic keys and IVs from the key log's traffic secrets with
HKDF-Expand-Label; nonce = IV xor sequence number; the record header is the associated data;
the real content type ends the inner plaintext. KeyUpdate derives the next secret.

TLS 1.2 and earlier (RFC 5246 §6.3, RFC 5288, RFC 6655, RFC 7905): the key block comes from
the master secret (the key log's CLIENT_RANDOM line) with the PRF; AES-GCM and AES-CCM take a
4-byte implicit salt and an 8-byte explicit nonce from the record, ChaCha20-Poly1305 xors the
sequence number into a 12-byte IV. CBC suites (HMAC-SHA1/256/384, encrypt-then-MAC too) are
read as well, since older servers still pick them.

Everything uses ``cryptography``; a record that fails authentication gives ``None``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

Kind = Literal["gcm", "ccm", "ccm8", "chacha", "cbc"]


@dataclass(frozen=True, slots=True)
class Suite:
    """What decryption needs to know about a cipher suite."""

    kind: Kind
    key_len: int
    hash: str  # TLS 1.3 HKDF hash, or the TLS 1.2 PRF hash
    mac: str | None = None  # CBC suites: the HMAC hash
    tls13: bool = False

    @property
    def mac_len(self) -> int:
        return hashlib.new(self.mac).digest_size if self.mac else 0

    @property
    def fixed_iv_len(self) -> int:
        if self.kind in ("gcm", "ccm", "ccm8"):
            return 12 if self.tls13 else 4
        if self.kind == "chacha":
            return 12
        return 16


def _table() -> dict[int, Suite]:
    t: dict[int, Suite] = {
        0x1301: Suite("gcm", 16, "sha256", tls13=True),
        0x1302: Suite("gcm", 32, "sha384", tls13=True),
        0x1303: Suite("chacha", 32, "sha256", tls13=True),
        0x1304: Suite("ccm", 16, "sha256", tls13=True),
        0x1305: Suite("ccm8", 16, "sha256", tls13=True),
    }
    gcm128 = [0x009C, 0x009E, 0x00A0, 0x00A2, 0x00A4, 0x00A6, 0x00A8, 0x00AA, 0x00AC]
    gcm128 += [0xC02B, 0xC02D, 0xC02F, 0xC031, 0xD001]
    gcm256 = [0x009D, 0x009F, 0x00A1, 0x00A3, 0x00A5, 0x00A7, 0x00A9, 0x00AB, 0x00AD]
    gcm256 += [0xC02C, 0xC02E, 0xC030, 0xC032, 0xD002]
    for s in gcm128:
        t[s] = Suite("gcm", 16, "sha256")
    for s in gcm256:
        t[s] = Suite("gcm", 32, "sha384")
    for s in range(0xCCA8, 0xCCAF):
        t[s] = Suite("chacha", 32, "sha256")
    for s in (0xC09C, 0xC09E, 0xC0A4, 0xC0A6, 0xC0AC, 0xD005):
        t[s] = Suite("ccm", 16, "sha256")
    for s in (0xC09D, 0xC09F, 0xC0A5, 0xC0A7, 0xC0AD):
        t[s] = Suite("ccm", 32, "sha256")
    for s in (0xC0A0, 0xC0A2, 0xC0A8, 0xC0AA, 0xC0AE, 0xD003):
        t[s] = Suite("ccm8", 16, "sha256")
    for s in (0xC0A1, 0xC0A3, 0xC0A9, 0xC0AB, 0xC0AF):
        t[s] = Suite("ccm8", 32, "sha256")
    for s in (0x002F, 0x0033, 0x0032, 0xC009, 0xC013, 0x008C, 0xC004, 0xC00E):
        t[s] = Suite("cbc", 16, "sha256", mac="sha1")
    for s in (0x0035, 0x0039, 0x0038, 0xC00A, 0xC014, 0x008D, 0xC005, 0xC00F):
        t[s] = Suite("cbc", 32, "sha256", mac="sha1")
    for s in (0x003C, 0x0067, 0xC023, 0xC027, 0x00AE, 0x0040):
        t[s] = Suite("cbc", 16, "sha256", mac="sha256")
    for s in (0x003D, 0x006B, 0x006A):
        t[s] = Suite("cbc", 32, "sha256", mac="sha256")
    for s in (0xC024, 0xC028, 0x00AF):
        t[s] = Suite("cbc", 32, "sha384", mac="sha384")
    return t


SUITES: Final = _table()

_HASHES: Final = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash: str) -> bytes:
    """RFC 8446 §7.1 HKDF-Expand-Label."""
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + bytes([len(context)]) + context
    return HKDFExpand(_HASHES[hash](), length, info).derive(secret)


def _p_hash(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, name).digest()
        out += hmac.new(secret, a + seed, name).digest()
    return bytes(out[:length])


def prf(version: int, hash: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS PRF: RFC 5246 §5 for TLS 1.2, the MD5/SHA-1 split of RFC 2246 before it."""
    if version >= 0x0303:
        return _p_hash(hash, secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, length)
    sha = _p_hash("sha1", secret[-half:], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha, strict=True))


class RecordDecrypter(Protocol):
    """Decrypts one direction's protected records, in order."""

    def decrypt(self, content_type: int, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        """(real content type, plaintext), or None when the record does not authenticate."""
        ...


def _aead(kind: Kind, key: bytes) -> AESGCM | AESCCM | ChaCha20Poly1305:
    if kind == "gcm":
        return AESGCM(key)
    if kind == "ccm":
        return AESCCM(key, tag_length=16)
    if kind == "ccm8":
        return AESCCM(key, tag_length=8)
    return ChaCha20Poly1305(key)


def _tag_len(kind: Kind) -> int:
    return 8 if kind == "ccm8" else 16


class Tls13Decrypter:
    """One direction's TLS 1.3 record protection under one traffic secret."""

    def __init__(self, suite: Suite, secret: bytes) -> None:
        self.suite = suite
        self.secret = secret
        self.seq = 0
        key = hkdf_expand_label(secret, b"key", b"", suite.key_len, suite.hash)
        self._iv = int.from_bytes(hkdf_expand_label(secret, b"iv", b"", 12, suite.hash))
        self._aead = _aead(suite.kind, key)

    def decrypt(self, content_type: int, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        nonce = (self._iv ^ self.seq).to_bytes(12)
        try:
            inner = self._aead.decrypt(nonce, body, header)
        except (InvalidTag, ValueError):
            return None
        self.seq += 1
        end = len(inner)
        while end and inner[end - 1] == 0:
            end -= 1
        if not end:
            return None
        return inner[end - 1], inner[: end - 1]

    def updated(self) -> Tls13Decrypter:
        """The decrypter after a KeyUpdate: the next traffic secret."""
        size = hashlib.new(self.suite.hash).digest_size
        nxt = hkdf_expand_label(self.secret, b"traffic upd", b"", size, self.suite.hash)
        return Tls13Decrypter(self.suite, nxt)


class Tls12AeadDecrypter:
    """One direction's TLS 1.2 AEAD record protection (GCM, CCM, ChaCha20-Poly1305)."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes) -> None:
        self.kind = suite.kind
        self.seq = 0
        self._iv = iv
        self._iv_int = int.from_bytes(iv) if suite.kind == "chacha" else 0
        self._aead = _aead(suite.kind, key)
        self._tag = _tag_len(suite.kind)

    def decrypt(self, content_type: int, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        if self.kind == "chacha":
            nonce = (self._iv_int ^ self.seq).to_bytes(12)
            ciphertext = body
        else:
            if len(body) < 8:
                return None
            nonce = self._iv + body[:8]
            ciphertext = body[8:]
        length = len(ciphertext) - self._tag
        if length < 0:
            return None
        aad = struct.pack("!QB", self.seq, content_type) + header[1:3] + struct.pack("!H", length)
        try:
            plain = self._aead.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError):
            return None
        self.seq += 1
        return content_type, plain


class Tls12CbcDecrypter:
    """One direction's CBC + HMAC record protection (TLS 1.0 to 1.2, encrypt-then-MAC too)."""

    def __init__(
        self, suite: Suite, key: bytes, mac_key: bytes, iv: bytes, *, version: int, etm: bool
    ) -> None:
        assert suite.mac is not None
        self.seq = 0
        self._key = key
        self._mac_key = mac_key
        self._mac = suite.mac
        self._mac_len = suite.mac_len
        self._iv = iv  # TLS 1.0 chains the IV from record to record
        self._explicit_iv = version >= 0x0302
        self._etm = etm

    def decrypt(self, content_type: int, header: bytes, body: bytes) -> tuple[int, bytes] | None:
        mac_len = self._mac_len
        if self._etm:
            if len(body) < mac_len + 16:
                return None
            body, tag = body[:-mac_len], body[-mac_len:]
            expected = self._hmac(content_type, header, body)
            if not hmac.compare_digest(tag, expected):
                return None
        if len(body) % 16 or not body:
            return None
        if self._explicit_iv:
            iv, ciphertext = body[:16], body[16:]
        else:
            iv, ciphertext = self._iv, body
            self._iv = body[-16:]
        if not ciphertext:
            return None
        dec = Cipher(algorithms.AES(self._key), modes.CBC(iv)).decryptor()
        plain = dec.update(ciphertext) + dec.finalize()
        pad = plain[-1] + 1
        if pad > len(plain):
            return None
        plain = plain[:-pad]
        if not self._etm:
            if len(plain) < mac_len:
                return None
            plain, tag = plain[: len(plain) - mac_len], plain[len(plain) - mac_len :]
            if not hmac.compare_digest(tag, self._hmac(content_type, header, plain)):
                return None
        self.seq += 1
        return content_type, plain

    def _hmac(self, content_type: int, header: bytes, data: bytes) -> bytes:
        head = (
            struct.pack("!QB", self.seq, content_type) + header[1:3] + struct.pack("!H", len(data))
        )
        return hmac.new(self._mac_key, head + data, self._mac).digest()


def tls12_decrypters(
    suite: Suite,
    version: int,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    *,
    etm: bool,
) -> tuple[RecordDecrypter, RecordDecrypter]:
    """(client → server, server → client) decrypters from a TLS 1.2-or-earlier master secret."""
    mac_len = suite.mac_len if suite.kind == "cbc" else 0
    iv_len = suite.fixed_iv_len
    size = 2 * (mac_len + suite.key_len + iv_len)
    block = prf(version, suite.hash, master, b"key expansion", server_random + client_random, size)
    off = 0

    def take(n: int) -> bytes:
        nonlocal off
        off += n
        return block[off - n : off]

    client_mac, server_mac = take(mac_len), take(mac_len)
    client_key, server_key = take(suite.key_len), take(suite.key_len)
    client_iv, server_iv = take(iv_len), take(iv_len)
    if suite.kind == "cbc":
        return (
            Tls12CbcDecrypter(suite, client_key, client_mac, client_iv, version=version, etm=etm),
            Tls12CbcDecrypter(suite, server_key, server_mac, server_iv, version=version, etm=etm),
        )
    return Tls12AeadDecrypter(suite, client_key, client_iv), Tls12AeadDecrypter(
        suite, server_key, server_iv
    )

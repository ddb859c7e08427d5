"""Key schedules against independent implementations, record protection round trips.

TLS 1.2's PRF and key expansion are checked against scapy's TLS module, TLS 1.3's
HKDF-Expand-Label against aioquic's; each AEAD suite decrypts what ``cryptography`` encrypts
the way RFC 5288/6655/7905/8446 say the sender does.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from aioquic.tls import hkdf_expand_label as aioquic_expand_label
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from scapy.layers.tls.crypto.prf import PRF

from borderflow.analysis.tlsdecrypt.records import (
    SUITES,
    Tls12AeadDecrypter,
    Tls12CbcDecrypter,
    Tls13Decrypter,
    hkdf_expand_label,
    prf,
    tls12_decrypters,
)

MASTER = bytes(range(48))
CLIENT_RANDOM = bytes(range(100, 132))
SERVER_RANDOM = bytes(range(200, 232))


@pytest.mark.parametrize(
    ("version", "hash_name"), [(0x0303, "sha256"), (0x0303, "sha384"), (0x0301, "sha256")]
)
def test_key_expansion_matches_scapy(version: int, hash_name: str) -> None:
    ours = prf(version, hash_name, MASTER, b"key expansion", SERVER_RANDOM + CLIENT_RANDOM, 104)
    theirs = PRF(hash_name, version).derive_key_block(MASTER, SERVER_RANDOM, CLIENT_RANDOM, 104)
    assert ours == theirs


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_hkdf_expand_label_matches_aioquic(hash_name: str) -> None:
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA384()
    secret = bytes(range(48 if hash_name == "sha384" else 32))
    for label, length in ((b"key", 16), (b"iv", 12), (b"traffic upd", 32)):
        assert hkdf_expand_label(secret, label, b"", length, hash_name) == aioquic_expand_label(
            algorithm, secret, label, b"", length
        )


def _aead(kind: str, key: bytes) -> AESGCM | AESCCM | ChaCha20Poly1305:
    if kind == "gcm":
        return AESGCM(key)
    if kind in ("ccm", "ccm8"):
        return AESCCM(key, tag_length=8 if kind == "ccm8" else 16)
    return ChaCha20Poly1305(key)


TLS12_AEAD = [0xC02F, 0xC030, 0xCCA8, 0xC0AC, 0xC0AE, 0x009D]


@pytest.mark.parametrize("suite_id", TLS12_AEAD, ids=hex)
def test_tls12_aead_records_decrypt_in_sequence(suite_id: int) -> None:
    suite = SUITES[suite_id]
    key, iv = bytes(range(suite.key_len)), bytes(range(40, 40 + suite.fixed_iv_len))
    sender = _aead(suite.kind, key)
    receiver = Tls12AeadDecrypter(suite, key, iv)
    for seq, plain in enumerate((b"GET / HTTP/1.1\r\n\r\n", b"", b"x" * 1000)):
        aad = struct.pack("!QB", seq, 23) + b"\x03\x03" + struct.pack("!H", len(plain))
        if suite.kind == "chacha":
            nonce = (int.from_bytes(iv) ^ seq).to_bytes(12)
            body = sender.encrypt(nonce, plain, aad)
        else:
            explicit = struct.pack("!Q", 1000 + seq)
            body = explicit + sender.encrypt(iv + explicit, plain, aad)
        header = b"\x17\x03\x03" + struct.pack("!H", len(body))
        assert receiver.decrypt(23, header, body) == (23, plain)
    assert receiver.decrypt(23, header, body) is None  # replayed: the sequence number moved on


def test_tls12_cbc_with_hmac_and_encrypt_then_mac() -> None:
    suite = SUITES[0xC013]
    key, mac_key, iv = bytes(16), bytes(range(20)), bytes(16)
    for etm in (False, True):
        receiver = Tls12CbcDecrypter(suite, key, mac_key, iv, version=0x0303, etm=etm)
        plain = b"POST /x HTTP/1.1\r\n\r\n"
        head = struct.pack("!QB", 0, 23) + b"\x03\x03"
        explicit_iv = bytes(range(16))
        if etm:
            padded = plain + bytes([11]) * 12
            enc = Cipher(algorithms.AES(key), modes.CBC(explicit_iv)).encryptor()
            ct = explicit_iv + enc.update(padded) + enc.finalize()
            tag = hmac.new(mac_key, head + struct.pack("!H", len(ct)) + ct, hashlib.sha1).digest()
            body = ct + tag
        else:
            tag = hmac.new(
                mac_key, head + struct.pack("!H", len(plain)) + plain, hashlib.sha1
            ).digest()
            data = plain + tag
            pad = 15 - len(data) % 16
            enc = Cipher(algorithms.AES(key), modes.CBC(explicit_iv)).encryptor()
            body = explicit_iv + enc.update(data + bytes([pad]) * (pad + 1)) + enc.finalize()
        header = b"\x17\x03\x03" + struct.pack("!H", len(body))
        assert receiver.decrypt(23, header, body) == (23, plain)


@pytest.mark.parametrize("suite_id", [0x1301, 0x1302, 0x1303, 0x1304, 0x1305], ids=hex)
def test_tls13_records_reveal_their_inner_type_and_follow_key_updates(suite_id: int) -> None:
    suite = SUITES[suite_id]
    secret = bytes(range(48 if suite.hash == "sha384" else 32))
    receiver = Tls13Decrypter(suite, secret)

    def protect(sec: bytes, seq: int, inner_type: int, plain: bytes) -> tuple[bytes, bytes]:
        key = hkdf_expand_label(sec, b"key", b"", suite.key_len, suite.hash)
        iv = int.from_bytes(hkdf_expand_label(sec, b"iv", b"", 12, suite.hash))
        inner = plain + bytes([inner_type]) + bytes(5)  # five bytes of padding
        tag = 8 if suite.kind == "ccm8" else 16
        header = b"\x17\x03\x03" + struct.pack("!H", len(inner) + tag)
        return header, _aead(suite.kind, key).encrypt((iv ^ seq).to_bytes(12), inner, header)

    assert receiver.decrypt(23, *protect(secret, 0, 22, b"\x14\x00\x00\x00")) == (
        22,
        b"\x14\x00\x00\x00",
    )
    assert receiver.decrypt(23, *protect(secret, 1, 23, b"data")) == (23, b"data")
    updated = receiver.updated()
    size = hashlib.new(suite.hash).digest_size
    next_secret = hkdf_expand_label(secret, b"traffic upd", b"", size, suite.hash)
    assert updated.decrypt(23, *protect(next_secret, 0, 23, b"after")) == (23, b"after")


def test_tls12_key_block_is_split_client_first() -> None:
    client, server = tls12_decrypters(
        SUITES[0xC02F], 0x0303, MASTER, CLIENT_RANDOM, SERVER_RANDOM, etm=False
    )
    block = prf(0x0303, "sha256", MASTER, b"key expansion", SERVER_RANDOM + CLIENT_RANDOM, 40)
    assert isinstance(client, Tls12AeadDecrypter)
    assert isinstance(server, Tls12AeadDecrypter)
    assert client._iv == block[32:36]
    assert server._iv == block[36:40]

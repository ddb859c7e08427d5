"""Parse a raw TLS ClientHello and fingerprint it (JA3, JA4).

mitmproxy's ``tls.ClientHello`` lacks supported_versions, point formats and signature
algorithms, and pcap replay needs a parser that runs on every candidate packet, so this is a
small, pure ``struct`` parser: no I/O, no state, and ``None`` instead of an exception for any
input that is not one complete, well-formed ClientHello.

Framing and every length inside the extensions it reads must add up exactly; values are not
judged (an empty ALPN name or an unknown version is kept, since fingerprints must describe
odd clients too). A repeated extension is listed in ``extensions`` each time; its value is
taken from the first occurrence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from struct import unpack_from
from typing import Final, Literal

# https://www.rfc-editor.org/rfc/rfc8701 : 0x?A?A with both bytes equal.
GREASE: Final = frozenset(0x0A0A + 0x1010 * i for i in range(16))

_CHANGE_CIPHER_SPEC_RECORD: Final = 0x14
_HANDSHAKE_RECORD: Final = 0x16
_CLIENT_HELLO: Final = 0x01

_EXT_SERVER_NAME: Final = 0x0000
_EXT_SUPPORTED_GROUPS: Final = 0x000A
_EXT_EC_POINT_FORMATS: Final = 0x000B
_EXT_SIGNATURE_ALGORITHMS: Final = 0x000D
_EXT_ALPN: Final = 0x0010
_EXT_SUPPORTED_VERSIONS: Final = 0x002B

_VERSION_NAMES: Final = {
    # OpenSSL's spelling, so the fallback matches mitmproxy's ``Client.tls_version``.
    0x0304: "TLSv1.3",
    0x0303: "TLSv1.2",
    0x0302: "TLSv1.1",
    0x0301: "TLSv1",
    0x0300: "SSLv3",
    0x0002: "SSLv2",
    0xFEFF: "DTLSv1",
    0xFEFD: "DTLSv1.2",
    0xFEFC: "DTLSv1.3",
}
_JA4_VERSIONS: Final = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
_JA4_TRANSPORTS: Final = {"tcp": "t", "quic": "q", "dtls": "d"}
_EMPTY_HASH: Final = "000000000000"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientHelloInfo:
    """What a ClientHello offers, as on the wire (GREASE kept except in ``versions``)."""

    legacy_version: int
    versions: tuple[int, ...]
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...]
    server_name: str | None  # first host_name entry, UTF-8 with bad bytes replaced
    alpn: tuple[str, ...]  # Latin-1 decoded: one char per byte, so JA4 can recover the bytes
    supported_groups: tuple[int, ...]
    ec_point_formats: tuple[int, ...]
    signature_algorithms: tuple[int, ...]

    @property
    def version_name(self) -> str:
        """The highest version offered, spelled as OpenSSL (and so mitmproxy) does."""
        version = _highest_version(self)
        return _VERSION_NAMES.get(version, f"unknown (0x{version:04x})")


def parse_client_hello(data: bytes) -> ClientHelloInfo | None:
    """Parse TLS record(s) or a bare handshake message; ``None`` unless a full ClientHello."""
    body = _client_hello_body(data)
    if body is None:
        return None
    return _parse_body(bytes(body))


def ja3_string(info: ClientHelloInfo) -> str:
    """JA3's input: version, ciphers, extensions, groups, point formats; GREASE dropped."""
    return ",".join(
        (
            str(info.legacy_version),
            "-".join(str(v) for v in info.cipher_suites if v not in GREASE),
            "-".join(str(v) for v in info.extensions if v not in GREASE),
            "-".join(str(v) for v in info.supported_groups if v not in GREASE),
            "-".join(str(v) for v in info.ec_point_formats),
        )
    )


def ja3(info: ClientHelloInfo) -> str:
    """JA3 fingerprint: MD5 of :func:`ja3_string` (MD5 because JA3 is defined so)."""
    return hashlib.md5(ja3_string(info).encode("ascii"), usedforsecurity=False).hexdigest()


def ja4(info: ClientHelloInfo, *, transport: Literal["tcp", "quic", "dtls"] = "tcp") -> str:
    """JA4 per FoxIO's spec; ``transport`` says how the hello travelled (not on the wire)."""
    ciphers = [v for v in info.cipher_suites if v not in GREASE]
    extensions = [v for v in info.extensions if v not in GREASE]
    sigs = [v for v in info.signature_algorithms if v not in GREASE]
    prefix = "".join(
        (
            _JA4_TRANSPORTS[transport],
            _JA4_VERSIONS.get(_highest_version(info), "00"),
            "d" if _EXT_SERVER_NAME in extensions else "i",
            f"{min(len(ciphers), 99):02d}",
            f"{min(len(extensions), 99):02d}",
            _ja4_alpn(info.alpn),
        )
    )
    cipher_list = ",".join(f"{v:04x}" for v in sorted(ciphers))
    ext_list = ",".join(
        f"{v:04x}" for v in sorted(extensions) if v not in (_EXT_SERVER_NAME, _EXT_ALPN)
    )
    if ext_list and sigs:
        ext_list += "_" + ",".join(f"{v:04x}" for v in sigs)
    return f"{prefix}_{_hash12(cipher_list)}_{_hash12(ext_list)}"


def _highest_version(info: ClientHelloInfo) -> int:
    """supported_versions wins over legacy_version; DTLS numbers count down (0xfefc > 0xfefd)."""
    if not info.versions:
        return info.legacy_version
    return max(info.versions, key=lambda v: 0x10000 - v if v >= 0xFE00 else v)


def _ja4_alpn(alpn: tuple[str, ...]) -> str:
    """First and last character of the first ALPN, or of its hex if either is not alphanumeric."""
    if not alpn or not alpn[0]:
        return "00"
    raw = alpn[0].encode("latin-1")
    first, last = raw[:1], raw[-1:]
    if first.isalnum() and last.isalnum():  # bytes.isalnum is ASCII-only, as the spec wants
        return (first + last).decode("ascii")
    hexed = raw.hex()
    return hexed[0] + hexed[-1]


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12] if text else _EMPTY_HASH


def _client_hello_body(data: bytes) -> memoryview | None:
    """The ClientHello body, reassembled from handshake records if it spans several."""
    n = len(data)
    if n < 4:
        return None
    if data[0] == _CLIENT_HELLO:
        length = int.from_bytes(data[1:4])
        return memoryview(data)[4 : 4 + length] if n >= 4 + length else None
    if data[0] != _HANDSHAKE_RECORD and data[0] != _CHANGE_CIPHER_SPEC_RECORD:
        return None
    view = memoryview(data)
    fragments: list[memoryview] = []
    have = 0
    need = -1  # handshake header + body, once the 4-byte header has been seen
    off = 0
    while True:
        if off + 5 > n or data[off + 1] != 0x03:
            return None
        length = (data[off + 3] << 8) | data[off + 4]
        end = off + 5 + length
        if length == 0 or end > n:  # RFC 8446 5.1: no empty handshake fragments
            return None
        if data[off] != _HANDSHAKE_RECORD:
            # TLS 1.3 clients send ChangeCipherSpec just before the ClientHello that answers
            # a HelloRetryRequest (RFC 8446 D.4), often in the same segment.
            if data[off] != _CHANGE_CIPHER_SPEC_RECORD or fragments:
                return None
            off = end
            continue
        fragments.append(view[off + 5 : end])
        have += length
        off = end
        if need < 0 and have >= 4:
            head = fragments[0] if len(fragments) == 1 else b"".join(fragments)
            if head[0] != _CLIENT_HELLO:
                return None
            need = 4 + int.from_bytes(head[1:4])
        if 0 <= need <= have:
            message = fragments[0] if len(fragments) == 1 else memoryview(b"".join(fragments))
            return message[4:need]


def _parse_body(b: bytes) -> ClientHelloInfo | None:
    end = len(b)
    if end < 35:  # version, random, session id length
        return None
    legacy_version = (b[0] << 8) | b[1]
    off = 35 + b[34]
    if off + 2 > end:
        return None
    length = (b[off] << 8) | b[off + 1]
    off += 2
    if length & 1 or off + length >= end:  # ciphers, then at least the compression length
        return None
    cipher_suites = unpack_from(f"!{length >> 1}H", b, off)
    off += length
    off += 1 + b[off]  # compression methods: not fingerprinted
    if off > end:
        return None

    extensions: list[int] = []
    values: dict[int, tuple[int, int]] = {}
    if off < end:  # the extensions block is optional before TLS 1.2
        if off + 2 > end or off + 2 + ((b[off] << 8) | b[off + 1]) != end:
            return None
        off += 2
        while off < end:
            if off + 4 > end:
                return None
            ext_type, length = unpack_from("!HH", b, off)
            off += 4
            if off + length > end:
                return None
            extensions.append(ext_type)
            values.setdefault(ext_type, (off, off + length))
            off += length

    try:
        server_name = _server_name(b, values.get(_EXT_SERVER_NAME))
        alpn = _alpn(b, values.get(_EXT_ALPN))
        versions = _u16_list(b, values.get(_EXT_SUPPORTED_VERSIONS), prefix=1)
        groups = _u16_list(b, values.get(_EXT_SUPPORTED_GROUPS), prefix=2)
        sigs = _u16_list(b, values.get(_EXT_SIGNATURE_ALGORITHMS), prefix=2)
        point_formats = _u8_list(b, values.get(_EXT_EC_POINT_FORMATS))
    except _MalformedError:
        return None
    return ClientHelloInfo(
        legacy_version=legacy_version,
        versions=tuple(v for v in versions if v not in GREASE),
        cipher_suites=cipher_suites,
        extensions=tuple(extensions),
        server_name=server_name,
        alpn=alpn,
        supported_groups=groups,
        ec_point_formats=point_formats,
        signature_algorithms=sigs,
    )


class _MalformedError(Exception):
    """An extension whose inner lengths do not add up."""


def _list_span(b: bytes, span: tuple[int, int], prefix: int) -> int:
    """Start of a length-prefixed list that must fill ``span`` exactly."""
    start, end = span
    if end - start < prefix:
        raise _MalformedError
    length = int.from_bytes(b[start : start + prefix])
    if start + prefix + length != end:
        raise _MalformedError
    return start + prefix


def _u16_list(b: bytes, span: tuple[int, int] | None, *, prefix: int) -> tuple[int, ...]:
    if span is None:
        return ()
    start = _list_span(b, span, prefix)
    length = span[1] - start
    if length & 1:
        raise _MalformedError
    return unpack_from(f"!{length >> 1}H", b, start)


def _u8_list(b: bytes, span: tuple[int, int] | None) -> tuple[int, ...]:
    if span is None:
        return ()
    return tuple(b[_list_span(b, span, 1) : span[1]])


def _server_name(b: bytes, span: tuple[int, int] | None) -> str | None:
    """The first host_name entry (RFC 6066 allows one per type)."""
    if span is None:
        return None
    off, end = _list_span(b, span, 2), span[1]
    name: str | None = None
    while off < end:
        if off + 3 > end:
            raise _MalformedError
        length = (b[off + 1] << 8) | b[off + 2]
        if off + 3 + length > end:
            raise _MalformedError
        if b[off] == 0 and name is None:
            name = b[off + 3 : off + 3 + length].decode("utf-8", "replace")
        off += 3 + length
    return name


def _alpn(b: bytes, span: tuple[int, int] | None) -> tuple[str, ...]:
    if span is None:
        return ()
    off, end = _list_span(b, span, 2), span[1]
    names: list[str] = []
    while off < end:
        length = b[off]
        if off + 1 + length > end:
            raise _MalformedError
        names.append(b[off + 1 : off + 1 + length].decode("latin-1"))
        off += 1 + length
    return tuple(names)

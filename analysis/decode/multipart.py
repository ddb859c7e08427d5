"""multipart/form-data (and other multipart/*) bodies split into their parts.

Only the splitting lives here; ``value.decode_bytes`` decodes each part by its own content
type, at ``body/multipart:NAME``. A file part of an opaque type (a photo, a voice message)
is kept as a fact, not as bytes: detectors learn that a file of that type was uploaded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from dataclasses import dataclass
from typing import Final

_BOUNDARY: Final = re.compile(r"""boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;,]{1,200}))""", re.I)
_PARAM: Final = re.compile(r"""(\w[\w*-]*)\s*=\s*(?:"([^"]*)"|([^\s;]*))""")
MAX_PARTS: Final = 1000


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its form name, file name (None for plain fields), type and content."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def boundary(content_type: str) -> bytes | None:
    """The boundary parameter of a multipart content type."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).encode("latin-1", errors="replace")


def split_parts(data: bytes, content_type: str) -> list[Part] | None:
    """The parts of a multipart body; None when the boundary is missing or never occurs."""
    marker = boundary(content_type)
    if marker is None:
        return None
    delimiter = b"--" + marker
    chunks = data.split(delimiter)
    if len(chunks) < 2:
        return None
    parts: list[Part] = []
    for index, chunk in enumerate(chunks[1 : MAX_PARTS + 1]):
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        part = _part(chunk, index)
        if part is not None:
            parts.append(part)
    return parts


def _part(chunk: bytes, index: int) -> Part | None:
    chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
    head, sep, body = chunk.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = chunk.partition(b"\n\n")
        if not sep:
            return None
    body = body.removesuffix(b"\r\n").removesuffix(b"\n")
    headers = _headers(head.decode("utf-8", errors="replace"))
    params = dict(
        (k.lower(), a or b) for k, a, b in _PARAM.findall(headers.get("content-disposition", ""))
    )
    if headers.get("content-transfer-encoding", "").strip().lower() == "base64":
        with contextlib.suppress(binascii.Error, ValueError):  # else scanned as it is
            body = base64.b64decode(body, validate=False)
    return Part(
        name=params.get("name") or str(index),
        filename=params.get("filename"),
        content_type=headers.get("content-type", "").strip(),
        data=body,
    )


def _headers(head: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers

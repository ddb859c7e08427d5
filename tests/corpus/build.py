"""Helpers for writing corpus messages: bodies in the encodings SDKs use, and labels.

Each corpus module (``cases_*.py``) lists ``CASES``: dicts in the ``borderflow classify``
input shape plus ``source`` (the documentation page the message follows) and ``labels``
(``{"type": category, "value": ..., "where": location}``; none for a negative).
``make_corpus.py`` writes them all to ``corpus.jsonl``.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
from typing import Any
from urllib.parse import urlencode

import msgpack  # type: ignore[import-untyped]

type Case = dict[str, Any]


def label(category: str, value: str, where: str) -> dict[str, str]:
    return {"type": category, "value": value, "where": where}


def case(
    ident: str,
    source: str,
    url: str,
    *,
    body: str | bytes = "",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    direction: str = "request",
    labels: list[dict[str, str]] | None = None,
) -> Case:
    """One corpus line; a bytes body is stored base64-encoded."""
    item: Case = {
        "id": ident,
        "source": source,
        "direction": direction,
        "method": method,
        "url": url,
        "headers": headers or {},
    }
    if isinstance(body, bytes):
        item["body"] = base64.b64encode(body).decode()
        item["body_encoding"] = "base64"
    else:
        item["body"] = body
    item["labels"] = labels or []
    return item


JSON = {"Content-Type": "application/json; charset=utf-8"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def js(document: object) -> str:
    return json.dumps(document, ensure_ascii=False)


def form(pairs: dict[str, str] | list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def gzip_b64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def packed(document: object) -> bytes:
    return bytes(msgpack.packb(document, use_bin_type=True))


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb(*fields: tuple[int, object]) -> bytes:
    """A protobuf message: int -> varint, float -> double, str/bytes -> length-delimited,
    a list of fields -> sub-message."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, bool | int):
            out += _varint(number << 3) + _varint(int(value))
        elif isinstance(value, float):
            out += _varint(number << 3 | 1) + struct.pack("<d", value)
        else:
            if isinstance(value, str):
                data = value.encode()
            elif isinstance(value, list):
                data = pb(*value)
            elif isinstance(value, bytes):
                data = value
            else:
                raise TypeError(f"field {number}: {type(value).__name__}")
            out += _varint(number << 3 | 2) + _varint(len(data)) + data
    return bytes(out)

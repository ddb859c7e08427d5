"""A message body to groups of fields: size limit, Content-Encoding, then the media type.

The media type decides when it is known (JSON, form, XML, multipart, msgpack, protobuf);
otherwise the bytes are sniffed (``value.decode_bytes``). What cannot be parsed is still
scanned as one plain text field, so a detector never misses a value only because its
container was malformed.
"""

from __future__ import annotations

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.compression import decode_content
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.media import is_json_type, is_opaque
from borderflow.analysis.decode.value import decode_bytes, decode_text

__all__ = ["decode_body", "decode_text", "header", "is_json_type"]


def header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    """The first value of header ``name`` (case-insensitive), or ""."""
    return next((v for k, v in headers if k.lower() == name), "")


def decode_body(
    body: bytes, headers: tuple[tuple[str, str], ...], budget: Budget, *, depth: int = 0
) -> list[Group]:
    """Groups of fields in ``body``, each path starting ``body/``."""
    truncated = len(body) > budget.limits.max_body
    if truncated:
        budget.problem(
            "body_too_large", f"{len(body)} bytes; looked at the first {budget.limits.max_body}"
        )
        body = body[: budget.limits.max_body]
    content_type = header(headers, "content-type")
    if not body or is_opaque(content_type):
        return []
    data, steps = decode_content(
        body, header(headers, "content-encoding"), budget, depth=depth, truncated=truncated
    )
    prefix = "/".join(("body", *steps))
    return decode_bytes(data, prefix, content_type, budget, depth=depth + len(steps)) or []

"""A message body to groups of fields: size limit, Content-Encoding, then the media type.

The media type decides when it is known (JSON, form); otherwise the text is sniffed. What
cannot be parsed is still scanned as one plain text field, so a detector never misses a
value only because its container was malformed.
"""

from __future__ import annotations

from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.compression import decode_content
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.form import decode_form, looks_like_form
from borderflow.analysis.decode.json_ import decode_json, looks_like_json

# Media that cannot carry text fields worth scanning.
_OPAQUE: Final = ("image/", "audio/", "video/", "font/")
_FORM_TYPE: Final = "application/x-www-form-urlencoded"


def header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    """The first value of header ``name`` (case-insensitive), or ""."""
    return next((v for k, v in headers if k.lower() == name), "")


def is_json_type(content_type: str) -> bool:
    """application/json, text/json and the ``+json`` family."""
    media = content_type.split(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


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
    content_type = header(headers, "content-type").lower()
    if not body or content_type.startswith(_OPAQUE):
        return []
    data, steps = decode_content(
        body, header(headers, "content-encoding"), budget, depth=depth, truncated=truncated
    )
    prefix = "/".join(("body", *steps))
    return decode_text(
        data.decode("utf-8", errors="replace"),
        prefix,
        content_type,
        budget,
        depth=depth + len(steps),
    )


def decode_text(
    text: str, prefix: str, content_type: str, budget: Budget, *, depth: int
) -> list[Group]:
    """Decoded text by media type, or by its look when the type says nothing useful."""
    if is_json_type(content_type) or looks_like_json(text):
        strict = is_json_type(content_type)
        groups = decode_json(text, prefix, "", budget, depth=depth + 1, strict=strict)
        if groups is not None:
            return groups
    elif content_type.startswith(_FORM_TYPE) or looks_like_form(text):
        return decode_form(text, f"{prefix}/form", budget, depth=depth + 1)
    path = f"{prefix}/text"
    if not text.strip() or not budget.take_field(path):
        return []
    return [Group(path, "", (Field(path, "", text),))]

"""Headers to groups: one group of custom headers, one per Cookie header.

Plumbing headers (sizes, caching, negotiation, the host) are skipped: they describe the
transfer, not the person. Values that hold JSON are parsed (``header:x-info/json:$.imei``).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.value import expand

PLUMBING: Final = frozenset(
    {
        "accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
        "cache-control", "connection", "content-encoding", "content-length", "content-type",
        "content-range", "date", "etag", "expect", "expires", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "keep-alive",
        "last-modified", "pragma", "priority", "proxy-connection", "range", "server", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    }
)  # fmt: skip
_COOKIE_HEADERS: Final = frozenset({"cookie", "set-cookie"})


def is_plumbing(name: str) -> bool:
    """Transfer mechanics and HTTP/2 pseudo-headers, never personal data."""
    return name in PLUMBING or name.startswith((":", "sec-", "access-control-"))


def decode_headers(headers: tuple[tuple[str, str], ...], budget: Budget) -> list[Group]:
    """The non-plumbing headers as one group at ``header:NAME``, cookies as their own groups."""
    fields: list[Field] = []
    cookie_groups: list[Group] = []
    for raw_name, value in headers:
        name = raw_name.strip().lower()
        if name in _COOKIE_HEADERS:
            cookie_groups.extend(_cookie_groups(name, value, budget))
        elif not is_plumbing(name) and value and budget.take_field(f"header:{name}"):
            fields.append(Field(f"header:{name}", name, value))
    groups = expand([Group("header", "", tuple(fields))], budget, depth=1)
    return [*[g for g in groups if g.fields or g.path != "header"], *cookie_groups]


def _cookie_groups(name: str, value: str, budget: Budget) -> list[Group]:
    """``a=1; b=2`` as fields ``header:cookie/a``; only the first pair of a Set-Cookie."""
    pairs = value.split(";")[:1] if name == "set-cookie" else value.split(";")
    fields: list[Field] = []
    for pair in pairs:
        cookie, sep, cookie_value = pair.strip().partition("=")
        path = f"header:{name}/{cookie}"
        text = unquote(cookie_value, errors="replace")
        if sep and text and budget.take_field(path):
            fields.append(Field(path, cookie.lower(), text))
    return expand([Group(f"header:{name}", name, tuple(fields))], budget, depth=1)

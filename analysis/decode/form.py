"""``name=value`` lists: form bodies and query strings (``&``), and ``{a=1|b=2}`` pairs.

Values are often JSON or base64 themselves (``data={"imei": ...}``); ``value.expand``
unwraps them and the path continues ``.../form:data/json:$...``.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_plus

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group

_FORM: Final = re.compile(r"[^=&\s]+=[^&\s]*(?:&+[^=&\s]+=[^&\s]*)*&*")
# UnionPay's customerInfo and similar: {phoneNo=13552535506|customerNm=...}, or a=1;b=2.
_PAIR_NAME: Final = re.compile(r"[A-Za-z_][\w.-]{0,40}")


def looks_like_form(text: str) -> bool:
    """``a=1&b=2`` with nothing else around it: a form body sent without a content type.

    A single name with an empty value (``eyJhIjoxfQ==``) is base64 padding, not a form.
    """
    stripped = text.strip()
    if _FORM.fullmatch(stripped) is None:
        return False
    return "&" in stripped.rstrip("&") or not stripped.endswith("=")


def decode_form(
    text: str, prefix: str, budget: Budget, *, depth: int, key: str = ""
) -> list[Group]:
    """The form's fields as one group at ``{prefix}:{name}``; ``key`` names the container.

    ``prefix`` is the container, e.g. ``body/form`` or ``url/query``.
    """
    if budget.too_deep(depth, prefix):
        return []
    fields: list[Field] = []
    for part in text.split("&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        name = unquote_plus(raw_name, errors="replace")
        value = unquote_plus(raw_value, errors="replace")
        path = f"{prefix}:{name}"
        if value and budget.take_field(path):
            fields.append(Field(path, name.lower(), value))
    return [Group(prefix, key, tuple(fields))]


def split_pairs(text: str) -> list[tuple[str, str]] | None:
    """``{a=1|b=2}`` or ``a=1;b=2`` (two pairs or more, nothing else) as pairs; else None."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    separator = "|" if "|" in inner else ";"
    parts = inner.split(separator)
    if len(parts) < 2 or "=" not in inner:
        return None
    pairs: list[tuple[str, str]] = []
    for part in parts:
        name, sep, value = part.strip().partition("=")
        if not sep or _PAIR_NAME.fullmatch(name) is None:
            return None
        pairs.append((name, value))
    return pairs


def decode_pairs(
    pairs: list[tuple[str, str]], prefix: str, key: str, budget: Budget, *, depth: int
) -> list[Group]:
    """Pairs from ``split_pairs`` as one group at ``{prefix}/pairs:{name}``."""
    path = f"{prefix}/pairs"
    if budget.too_deep(depth, path):
        return []
    fields = [
        Field(f"{path}:{name}", name.lower(), value)
        for name, value in pairs
        if value and budget.take_field(f"{path}:{name}")
    ]
    return [Group(path, key, tuple(fields))]

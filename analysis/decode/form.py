"""application/x-www-form-urlencoded bodies and URL query strings.

Both are ``name=value&...``; values are often JSON themselves (``data={"imei": ...}``), so
each value goes through ``decode_value`` and its path continues ``.../form:data/json:$...``.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_plus

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.json_ import scalar_fields

_FORM: Final = re.compile(r"[^=&\s]+=[^&\s]*(?:&+[^=&\s]+=[^&\s]*)*&*")


def looks_like_form(text: str) -> bool:
    """``a=1&b=2`` with nothing else around it: a form body sent without a content type."""
    return _FORM.fullmatch(text.strip()) is not None


def decode_form(text: str, prefix: str, budget: Budget, *, depth: int) -> list[Group]:
    """The form's fields as one group, at ``{prefix}:{name}``, then groups nested in values.

    ``prefix`` is the container, e.g. ``body/form`` or ``url/query``.
    """
    if budget.too_deep(depth, prefix):
        return []
    items: list[tuple[str, str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        name = unquote_plus(raw_name, errors="replace")
        value = unquote_plus(raw_value, errors="replace")
        items.append((f"{prefix}:{name}", name.lower(), value))
    fields, nested = scalar_fields(items, budget, depth=depth)
    return [Group(prefix, "", tuple(fields)), *nested]

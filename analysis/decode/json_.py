"""JSON documents, parsed into groups; JSON inside string values is unwrapped by ``value``.

Numbers are kept as the text the app sent ("48.1370", not 48.137): how many decimals a
coordinate has decides whether it is precise.
"""

from __future__ import annotations

import json
import re
from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.tree import walk

_OPENERS: Final = {"{": "}", "[": "]"}
_JSONP: Final = re.compile(r"\s*[A-Za-z_$][\w$.]{0,80}\s*\((.*)\)\s*;?\s*", re.DOTALL)


def looks_like_json(text: str) -> bool:
    """A JSON object or array: what is worth trying to parse."""
    stripped = text.strip()
    return len(stripped) >= 2 and _OPENERS.get(stripped[0]) == stripped[-1]


def jsonp_payload(text: str) -> str | None:
    """The JSON inside a JSONP response (``callback({...});``), if the text is one."""
    if not text.rstrip().endswith((")", ");")):
        return None
    match = _JSONP.fullmatch(text)
    if match is None or not looks_like_json(match.group(1)):
        return None
    return match.group(1)


def decode_json(
    text: str, prefix: str, key: str, budget: Budget, *, depth: int, strict: bool
) -> list[Group] | None:
    """Groups of the JSON document in ``text``; None when it is not JSON.

    ``strict`` (the content type promised JSON) reports a parse failure as unparsable_json.
    String values are left as they are; ``value.expand`` unwraps what they hold.
    """
    path = f"{prefix}/json:$"
    if budget.too_deep(depth, path):
        return None
    try:
        document = json.loads(
            text.lstrip("\ufeff"), parse_int=str, parse_float=str, parse_constant=str
        )
    except RecursionError:
        budget.problem("depth_limit", f"JSON nested too deeply to parse at {path}")
        return None
    except ValueError as exc:  # json.JSONDecodeError and friends
        if strict:
            budget.problem("unparsable_json", f"{prefix}: {exc}")
        return None
    return walk(document, path, key, budget, depth)

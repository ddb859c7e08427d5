"""JSON bodies and JSON inside string values, walked without recursion.

Numbers are kept as the text the app sent ("48.1370", not 48.137): how many decimals a
coordinate has decides whether it is precise. Strings that hold a JSON object or array (a
common SDK habit) are parsed too and their path continues: ``.../json:$.data/json:$.imei``.
"""

from __future__ import annotations

import json
from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group, child_path

_OPENERS: Final = {"{": "}", "[": "]"}


def looks_like_json(text: str) -> bool:
    """A JSON object or array: what is worth trying to parse."""
    stripped = text.strip()
    return len(stripped) >= 2 and _OPENERS.get(stripped[0]) == stripped[-1]


def decode_json(
    text: str, prefix: str, key: str, budget: Budget, *, depth: int, strict: bool
) -> list[Group] | None:
    """Groups of the JSON document in ``text``; None when it is not JSON.

    ``strict`` (the content type promised JSON) reports a parse failure as unparsable_json.
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
    return _walk(document, path, key, budget, depth)


def decode_value(path: str, key: str, text: str, budget: Budget, *, depth: int) -> list[Group]:
    """Groups a string value contributes: its parsed JSON, if it holds JSON, else nothing."""
    if looks_like_json(text):
        groups = decode_json(text, path, key, budget, depth=depth + 1, strict=False)
        if groups is not None:
            return groups
    return []


def scalar_fields(
    items: list[tuple[str, str, str]], budget: Budget, *, depth: int
) -> tuple[list[Field], list[Group]]:
    """(path, key, text) triples as fields, except values that turn out to be JSON."""
    fields: list[Field] = []
    nested: list[Group] = []
    for path, key, text in items:
        if not text or not budget.take_field(path):
            continue
        inner = decode_value(path, key, text, budget, depth=depth)
        if inner:
            nested.extend(inner)
        else:
            fields.append(Field(path, key, text))
    return fields, nested


def _walk(document: object, root: str, key: str, budget: Budget, depth: int) -> list[Group]:
    """Depth-first, document order; each container becomes one group of its scalars."""
    groups: list[Group] = []
    stack: list[tuple[object, str, str, int]] = [(document, root, key, depth)]
    while stack:
        node, path, name, level = stack.pop()
        if budget.too_deep(level, path):
            continue
        members = _members(node, path, name)
        scalars: list[tuple[str, str, str]] = []
        containers: list[tuple[object, str, str, int]] = []
        for child, child_path_, child_key in members:
            if isinstance(child, dict | list):
                containers.append((child, child_path_, child_key, level + 1))
            elif isinstance(child, str):  # bools and nulls carry no personal data
                scalars.append((child_path_, child_key, child))
        fields, nested = scalar_fields(scalars, budget, depth=level)
        groups.append(Group(path, name, tuple(fields)))
        groups.extend(nested)
        stack.extend(reversed(containers))
    return groups


def _members(node: object, path: str, name: str) -> list[tuple[object, str, str]]:
    """(value, path, key) of each member; a bare scalar document is its own only member."""
    if isinstance(node, dict):
        return [(v, child_path(path, str(k)), str(k).lower()) for k, v in node.items()]
    if isinstance(node, list):
        return [(v, f"{path}[{i}]", name) for i, v in enumerate(node)]
    return [(node, path, name)]

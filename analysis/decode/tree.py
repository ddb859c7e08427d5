"""A parsed document (dicts, lists, scalars) to groups of fields, walked without recursion.

JSON and msgpack both parse to Python containers; this walk turns either into one group per
container, in document order. Scalars become text: JSON numbers arrive as the text the app
sent, msgpack numbers are formatted here. Booleans and nulls carry no personal data and are
skipped; bytes (msgpack ``bin``) become fields with ``data`` set, to be sniffed later.
"""

from __future__ import annotations

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group, child_path


def walk(document: object, root: str, key: str, budget: Budget, depth: int) -> list[Group]:
    """Depth-first, document order; each container becomes one group of its scalars."""
    groups: list[Group] = []
    stack: list[tuple[object, str, str, int]] = [(document, root, key, depth)]
    while stack:
        node, path, name, level = stack.pop()
        if budget.too_deep(level, path):
            continue
        fields: list[Field] = []
        containers: list[tuple[object, str, str, int]] = []
        for child, child_path_, child_key in _members(node, path, name):
            if isinstance(child, dict | list | tuple):
                containers.append((child, child_path_, child_key, level + 1))
                continue
            field = _scalar(child, child_path_, child_key)
            if field is not None and budget.take_field(child_path_):
                fields.append(field)
        groups.append(Group(path, name, tuple(fields)))
        stack.extend(reversed(containers))
    return groups


def _scalar(value: object, path: str, key: str) -> Field | None:
    if isinstance(value, str):
        return Field(path, key, value) if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Field(path, key, repr(value))
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return Field(path, key, "", data) if data else None
    return None  # msgpack ext types and the like: nothing readable


def _members(node: object, path: str, name: str) -> list[tuple[object, str, str]]:
    """(value, path, key) of each member; a bare scalar document is its own only member."""
    if isinstance(node, dict):
        members: list[tuple[object, str, str]] = []
        for k, v in node.items():
            name = k if isinstance(k, str) else _name(k)
            members.append((v, child_path(path, name), name.lower()))
        return members
    if isinstance(node, list | tuple):
        return [(v, f"{path}[{i}]", name) for i, v in enumerate(node)]
    return [(node, path, name)]


def _name(key: object) -> str:
    if isinstance(key, bytes):
        return key.decode("utf-8", errors="replace")
    return str(key)

"""MessagePack bodies, unpacked with the library's size limits and walked like JSON."""

from __future__ import annotations

from typing import Final

import msgpack  # type: ignore[import-untyped]  # ships no py.typed

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.tree import walk

# fixmap, map16, map32: a sniffed buffer must start as a map, the way payloads do.
_MAP_FIRST_BYTES: Final = frozenset([*range(0x80, 0x90), 0xDE, 0xDF])


def looks_like_msgpack(data: bytes) -> bool:
    """Starts like a MessagePack map (what an SDK payload is), and is not tiny."""
    return len(data) >= 4 and data[0] in _MAP_FIRST_BYTES


def decode_msgpack(
    data: bytes, prefix: str, key: str, budget: Budget, *, depth: int, sniffed: bool
) -> list[Group] | None:
    """Groups at ``{prefix}/msgpack:$...``; None when ``data`` is not one whole document.

    A sniffed buffer must also unpack to a map with text keys.
    """
    path = f"{prefix}/msgpack:$"
    if budget.too_deep(depth, path):
        return None
    try:
        document = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            unicode_errors="replace",
            use_list=True,
        )
    except (ValueError, TypeError, OverflowError, RecursionError, msgpack.UnpackException) as exc:
        if not sniffed:
            budget.problem("unparsable_msgpack", f"{prefix}: {type(exc).__name__}")
        return None
    if sniffed and not (isinstance(document, dict) and all(isinstance(k, str) for k in document)):
        return None
    return walk(document, path, key, budget, depth)

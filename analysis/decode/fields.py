"""What decoders hand to detectors: text fields, grouped with their siblings.

A ``Group`` is the scalar members of one container: one JSON object or array, one query
string, one form body, the request headers, one cookie header. Detectors see a whole group at
a time, so a detector that needs two fields (a latitude and its longitude) can pair them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

_PLAIN_NAME: Final = re.compile(r"[^\W\d]\w*")


@dataclass(frozen=True, slots=True)
class Field:
    """One scalar value and where it was found."""

    path: str  # full location, e.g. "body/gzip/json:$.loc.lat" or "url/query:imei"
    key: str  # nearest key name, lowercased; "" when the value has none (plain text body)
    text: str
    data: bytes | None = None  # binary value (msgpack bin, protobuf bytes) still to be sniffed


@dataclass(frozen=True, slots=True)
class Group:
    """The scalar fields of one container, in document order."""

    path: str  # location of the container itself, e.g. "body/json:$.loc"
    key: str  # the container's own key, lowercased ("" at the top; a query string: the URL path)
    fields: tuple[Field, ...]
    # Only in a list of records built by the detector runner: one group per element, holding
    # the element's fields and those of everything nested in it.
    items: tuple[Group, ...] = ()


def child_path(path: str, name: str) -> str:
    """JSON-path-like child: ``$.a`` for plain names, ``$["a b"]`` for the rest."""
    if _PLAIN_NAME.fullmatch(name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"

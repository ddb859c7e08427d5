"""The record of what ``borderflow geo update`` installed: ``manifest.json`` in the geo folder.

It names each installed file's package, version, licence, attribution and sha256, so that
``geo info`` can show them and a second ``geo update`` can tell an intact install from a
damaged or outdated one without fetching anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from borderflow.geo.errors import GeoDatabaseError

MANIFEST = "manifest.json"
_FORMAT = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Installed:
    """One file ``geo update`` wrote."""

    file: str
    role: str  # location, registry or asn
    package: str
    version: str
    integrity: str  # the package tarball's sha512, as pinned
    licence: str
    attribution: str
    sha256: str  # of the installed file
    installed: str  # UTC, ISO 8601


def read(folder: Path) -> dict[str, Installed]:
    """The installed files by name; empty when there is no manifest."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return {}
        return {name: Installed(**entry) for name, entry in data["databases"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise GeoDatabaseError(
            f"{path}: unreadable manifest ({e}); run `borderflow geo update`"
        ) from e


def write(folder: Path, entries: dict[str, Installed]) -> None:
    """Replace the manifest atomically."""
    path = folder / MANIFEST
    tmp = path.with_name(MANIFEST + ".partial")
    data = {"format": _FORMAT, "databases": {k: asdict(v) for k, v in sorted(entries.items())}}
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def sha256(path: Path) -> str:
    """The file's sha256, hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def intact(folder: Path, entry: Installed) -> bool:
    """Whether the installed file is still there, byte for byte."""
    path = folder / entry.file
    try:
        return path.is_file() and sha256(path) == entry.sha256
    except OSError:
        return False

"""An app's declared data practices (``--declared FILE``), checked against the stores' vocabulary.

The file names one store and the data types the app declares there, spelt as the store prints
them ("Category / Data type", as in ``detectors/categories.py``). A misspelt name would silently
turn into "observed but not declared", so every name must be one the store uses: those that
``STORE_CATEGORIES`` maps findings to, or one of the store's other data types, which borderflow
does not detect but an app may rightly declare. The format is in ``docs/report.md``.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, cast

from borderflow.analysis.detectors.categories import STORE_CATEGORIES
from borderflow.analysis.errors import InputError

Store = Literal["apple", "google"]
STORES: Final = ("apple", "google")

# The stores' data types that no finding category maps to (Apple: "App privacy details on the
# App Store", Data types; Google: "Data safety section", Data types).
_OTHER_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "apple": (
        "Contact Info / Other User Contact Info",
        "Sensitive Info / Sensitive Info",
        "User Content / Gameplay Content",
        "Purchases / Purchase History",
        "Usage Data / Product Interaction",
        "Usage Data / Advertising Data",
        "Usage Data / Other Usage Data",
        "Diagnostics / Crash Data",
        "Diagnostics / Performance Data",
        "Diagnostics / Other Diagnostic Data",
        "Surroundings / Environment Scanning",
        "Body / Hands",
        "Body / Head",
    ),
    "google": (
        "Personal info / Race and ethnicity",
        "Personal info / Political or religious beliefs",
        "Personal info / Sexual orientation",
        "Financial info / Purchase history",
        "Messages / Emails",
        "Messages / SMS or MMS",
        "Photos and videos / Videos",
        "Audio files / Music files",
        "Audio files / Other audio files",
        "Files and docs / Files and docs",
        "Calendar / Calendar events",
        "App activity / App interactions",
        "App activity / Other actions",
        "App info and performance / Crash logs",
        "App info and performance / Diagnostics",
        "App info and performance / Other app performance data",
    ),
}


def store_names(store: Store) -> frozenset[str]:
    """Every data type name ``store`` uses: those findings map to, and its others."""
    mapped = {name for s in STORE_CATEGORIES.values() for name in getattr(s, store)}
    return frozenset(mapped | set(_OTHER_NAMES[store]))


@dataclass(frozen=True, slots=True)
class Declaration:
    """What an app declares in one store: the file it came from and the data types."""

    file: str
    store: Store
    collected: tuple[str, ...]  # sorted, without repeats


def load_declared(path: Path) -> Declaration:
    """Read a declared-practices file (TOML or JSON); ``InputError`` names the file and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read the declared practices ({why})") from e
    data: object
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise InputError(f"{path}: not valid TOML ({e})") from e
    try:
        return parse_declared(data, file=str(path))
    except ValueError as e:
        raise InputError(f"{path}: {e}") from e


def parse_declared(data: object, *, file: str) -> Declaration:
    """A declaration from parsed TOML or JSON; ``ValueError`` says which entry is wrong."""
    if not isinstance(data, dict):
        raise ValueError('expected a table with "store" and "collected"')
    unknown = sorted(set(data) - {"store", "collected"})
    if unknown:
        raise ValueError(f'unknown key "{unknown[0]}" (known: store, collected)')
    store = data.get("store")
    if store not in STORES:
        raise ValueError(f'store must be "apple" or "google", not {store!r}')
    collected = data.get("collected", [])
    if not isinstance(collected, list) or not all(isinstance(c, str) for c in collected):
        raise ValueError('"collected" must be a list of store data type names')
    known = {_spelling(name): name for name in store_names(cast(Store, store))}
    canonical = []
    for name in collected:
        if _spelling(name) not in known:
            close = difflib.get_close_matches(name, sorted(known.values()), n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ' (write "Category / Data type")'
            raise ValueError(f'unknown {store} data type "{name}"{hint}')
        canonical.append(known[_spelling(name)])
    return Declaration(file=file, store=cast(Store, store), collected=tuple(sorted(set(canonical))))


def _spelling(name: str) -> str:
    """``name`` without what the stores' own pages vary in: case, "&" or "and", spacing.

    Apple's developer page prints "Health & Fitness / Health", its App Store page "Health and
    fitness"; both mean the same data type, and a declaration copied from either is accepted.
    """
    words = name.replace("&", " and ").replace("/", " / ").lower().split()
    return " ".join(words)

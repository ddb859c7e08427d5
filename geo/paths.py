"""Where borderflow keeps its geolocation databases.

Library code takes the environment as an argument instead of reading ``os.environ`` itself, so
tests and callers decide what it sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

GEO_DIR_ENV = "BORDERFLOW_GEO_DIR"


def default_geo_dir(env: Mapping[str, str]) -> Path:
    """``$BORDERFLOW_GEO_DIR``, else ``$XDG_DATA_HOME/borderflow/geo``, else ``~/.local/share/...``."""
    if env.get(GEO_DIR_ENV):
        return Path(env[GEO_DIR_ENV]).expanduser()
    base = env.get("XDG_DATA_HOME")
    root = (
        Path(base).expanduser()
        if base
        else Path(env.get("HOME", "~")).expanduser() / ".local" / "share"
    )
    return root / "borderflow" / "geo"

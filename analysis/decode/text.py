"""Is this bytes string text? The test that keeps wrappers and sniffing from inventing data.

Random bytes are almost never valid UTF-8 free of control characters, so "decodes to
printable text" is what lets a base64 or hex value, a protobuf bytes field or an untyped
body be read as text without turning noise into fields.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls other than tab, newline and carriage return; DEL; the replacement character.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_MAX_CONTROL_SHARE: Final = 0.02


def printable_text(data: bytes, *, min_length: int = 1) -> str | None:
    """``data`` as text when it is strict UTF-8 with (almost) no control characters."""
    if len(data) < min_length:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    controls = len(_CONTROL.findall(text)) if not text.isascii() or not text.isprintable() else 0
    if controls > len(text) * _MAX_CONTROL_SHARE:
        return None
    return text

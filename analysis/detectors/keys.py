"""Reading key names as evidence: what a field is called says what it probably holds.

Keys arrive lowercased, so ``deviceId`` and ``device_id`` differ only in punctuation;
``normalized`` drops it, ``tokens`` splits on it.
"""

from __future__ import annotations

import re
from typing import Final

_SEPARATORS: Final = re.compile(r"[\W_]+")

# Keys whose values are times, counters or opaque ids: digit runs there are not personal data.
_TIME_OR_ID_PARTS: Final = ("time", "stamp", "date", "expire", "nonce", "order", "trade",
                            "trace", "serial", "seq", "txn", "transaction", "request", "session",
                            "sign", "version", "count", "amount", "price")  # fmt: skip
_TIME_OR_ID_TOKENS: Final = frozenset({"ts", "t", "id", "ids", "no", "sn", "tid", "rid", "mid",
                                       "uid", "pid", "cid", "num", "code", "v", "ver", "seq",
                                       "ms", "r", "rand", "random"})  # fmt: skip


def normalized(key: str) -> str:
    """``device_id``, ``device-id`` and ``deviceid`` all become ``deviceid``."""
    return _SEPARATORS.sub("", key)


def tokens(key: str) -> list[str]:
    """``x-user_lat`` becomes ``["x", "user", "lat"]``."""
    return [t for t in _SEPARATORS.split(key) if t]


def mentions(key: str, parts: tuple[str, ...]) -> bool:
    """True when the normalized key contains one of ``parts``."""
    flat = normalized(key)
    return any(part in flat for part in parts)


def is_time_or_id_key(key: str) -> bool:
    """Keys such as ts, timestamp, order_id, nonce, trace_id, seq."""
    words = tokens(key)
    return (
        key in _TIME_OR_ID_TOKENS
        or any(word in _TIME_OR_ID_TOKENS for word in words)
        or mentions(key, _TIME_OR_ID_PARTS)
    )

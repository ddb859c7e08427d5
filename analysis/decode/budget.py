"""Limits on the work one message may cost, and the problems met on the way.

A payload comes from an app under test, so it is untrusted: every decoder draws on one
per-message ``Budget`` instead of trusting sizes it reads from the payload.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

# Problems reported at most once per message: the first place the limit was hit says enough.
_ONCE: Final = frozenset(
    {
        "body_too_large",
        "decompression_limit",
        "depth_limit",
        "field_limit",
        "time_limit",
        "binary_body",
    }
)
_CLOCK_EVERY: Final = 256  # fields handed out between two looks at the clock


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """How much of one message the classifier looks at."""

    max_body: int = 8 * 1024 * 1024  # bytes of raw body looked at
    max_decoded: int = 32 * 1024 * 1024  # total bytes produced by decompression per message
    max_depth: int = 32  # nesting depth of decoders/JSON
    max_fields: int = 100_000
    max_seconds: float = 10.0  # wall time for decoding one message; a guard, never a target


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """Something that could not be decoded or was cut short; becomes a ``weird`` row.

    ``name`` is one of: decompression_limit, body_too_large, unparsable_json,
    unparsable_xml, unparsable_msgpack, unparsable_protobuf, unparsable_multipart,
    binary_body (bytes no decoder reads, scanned as text anyway), bad_content_encoding,
    depth_limit, field_limit, time_limit, detector_failed, decode_failed.
    """

    name: str
    addl: str  # short details


@dataclass(slots=True)
class Budget:
    """Per-message, mutable and never shared between threads: counts what decoding used."""

    limits: Limits
    problems: list[Problem] = field(default_factory=list)
    decoded: int = 0  # bytes produced by decompression so far
    fields: int = 0  # fields handed out so far
    deadline: float = field(default=0.0, repr=False)  # monotonic time when decoding must stop
    expired: bool = False  # the time limit was reached: no more fields are handed out

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.max_seconds

    @property
    def decoded_room(self) -> int:
        """Bytes decompression may still produce for this message."""
        return max(0, self.limits.max_decoded - self.decoded)

    def problem(self, name: str, addl: str) -> None:
        """Record a problem once: exact repeats, and repeats of a limit, are dropped."""
        if name in _ONCE and any(p.name == name for p in self.problems):
            return
        found = Problem(name=name, addl=addl)
        if found not in self.problems:
            self.problems.append(found)

    def take_field(self, path: str) -> bool:
        """Count one more field; False (and a field_limit problem) once the limit is reached."""
        if self.fields >= self.limits.max_fields:
            self.problem("field_limit", f"stopped at {self.limits.max_fields} fields, at {path}")
            return False
        if self.out_of_time(path):
            return False
        self.fields += 1
        return True

    def out_of_time(self, path: str) -> bool:
        """True (and a time_limit problem) once the message has used up ``max_seconds``.

        The clock is read every few hundred fields, so the check costs next to nothing.
        """
        due = not self.expired and self.fields % _CLOCK_EVERY == 0
        if due and time.monotonic() > self.deadline:
            self.expired = True
            self.problem("time_limit", f"stopped after {self.limits.max_seconds} s at {path}")
        return self.expired

    def too_deep(self, depth: int, path: str) -> bool:
        """True (and a depth_limit problem) when ``depth`` exceeds the nesting limit."""
        if depth > self.limits.max_depth:
            self.problem("depth_limit", f"deeper than {self.limits.max_depth} levels at {path}")
            return True
        return False

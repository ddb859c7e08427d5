"""What a detector is: a named function over one group of sibling fields.

Most detectors judge one field at a time and are written as ``(Field) -> Iterator[Hit]``
under ``@detector``; the decorator runs them over every field of the group. Detectors that
need siblings (a latitude and its longitude) take the whole ``Group`` under
``@group_detector``. Detectors of structure (a list of contacts) take a list of records under
``@records_detector``: a ``Group`` whose ``items`` are the list's elements. All become the
same ``Detector``, so the runner has one shape to run.

Classification runs on every request body, so a detector also says when it cannot fire:
``kinds`` (key kinds from ``keys.kinds`` it needs among the group's keys or the group's own
key) and ``pattern`` (something that must occur in one of the values; ``needs`` lists
characters of which the pattern needs at least one, a check that costs far less than the
pattern on a large value). The runner skips a group that offers neither; a detector that
names no gate sees every group. A gate must be generous: it may let through groups the
detector then ignores, never hold back one it would have fired on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.records import Category


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """One finding: the field it is reported at, the value and why."""

    field: Field  # for a pair, the first field of the pair (e.g. the latitude)
    value: str  # the matched value, unredacted
    confidence: float  # 0..1
    reason: str  # one sentence
    category: Category | None = None  # None: the detector's own; set when precision decides


type FindInField = Callable[[Field], Iterator[Hit]]
type FindInGroup = Callable[[Group], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class Detector:
    """A stable name, the category it finds, and payloads it must and must not fire on.

    ``examples`` and ``counterexamples`` are small payloads (JSON, a form, or plain text),
    decoded as a body would be; a test runs every detector of ``ALL`` over them.
    """

    name: str  # stable id, stored in finding.detector
    category: Category  # what it finds; a hit may narrow it (precise vs. coarse location)
    find: FindInGroup
    examples: tuple[str, ...]  # must be found
    counterexamples: tuple[str, ...]  # must not be found
    scope: Literal["group", "records"] = "group"  # records: runs on lists of records only
    kinds: frozenset[str] = frozenset()  # gate: one of these key kinds must be present
    pattern: re.Pattern[str] | None = None  # gate: or this must occur in a value
    needs: str = ""  # characters the pattern cannot match without (checked first)

    @property
    def gated(self) -> bool:
        """False when the detector must see every group."""
        return bool(self.kinds) or self.pattern is not None


def _gates(kinds: str, pattern: str | None) -> tuple[frozenset[str], re.Pattern[str] | None]:
    return frozenset(kinds.split()), None if pattern is None else re.compile(pattern)


def detector(
    category: Category,
    *,
    examples: tuple[str, ...],
    counterexamples: tuple[str, ...],
    kinds: str = "",
    pattern: str | None = None,
    needs: str = "",
) -> Callable[[FindInField], Detector]:
    """Make a per-field function a ``Detector`` named after the function.

    ``kinds`` (space-separated) and ``pattern`` are the gates described above.
    """
    gate_kinds, gate_pattern = _gates(kinds, pattern)

    def wrap(find: FindInField) -> Detector:
        def each_field(group: Group) -> Iterator[Hit]:
            for field in group.fields:
                yield from find(field)

        return Detector(
            find.__name__, category, each_field, examples, counterexamples, "group",
            gate_kinds, gate_pattern, needs,
        )  # fmt: skip

    return wrap


def group_detector(
    category: Category,
    *,
    examples: tuple[str, ...],
    counterexamples: tuple[str, ...],
    kinds: str = "",
    pattern: str | None = None,
    needs: str = "",
) -> Callable[[FindInGroup], Detector]:
    """Make a function over a group of sibling fields a ``Detector`` named after it."""
    gate_kinds, gate_pattern = _gates(kinds, pattern)

    def wrap(find: FindInGroup) -> Detector:
        return Detector(
            find.__name__, category, find, examples, counterexamples, "group",
            gate_kinds, gate_pattern, needs,
        )  # fmt: skip

    return wrap


def records_detector(
    category: Category, *, examples: tuple[str, ...], counterexamples: tuple[str, ...]
) -> Callable[[FindInGroup], Detector]:
    """Make a function over a list of records (``Group.items``) a ``Detector``."""

    def wrap(find: FindInGroup) -> Detector:
        return Detector(find.__name__, category, find, examples, counterexamples, "records")

    return wrap

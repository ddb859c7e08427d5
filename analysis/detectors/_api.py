"""What a detector is: a named function over one group of sibling fields.

Most detectors judge one field at a time and are written as ``(Field) -> Iterator[Hit]``
under ``@detector``; the decorator runs them over every field of the group. Detectors that
need siblings (a latitude and its longitude) take the whole ``Group`` under
``@group_detector``. Both become the same ``Detector``, so the runner has one shape to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

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


def detector(
    category: Category, *, examples: tuple[str, ...], counterexamples: tuple[str, ...]
) -> Callable[[FindInField], Detector]:
    """Make a per-field function a ``Detector`` named after the function."""

    def wrap(find: FindInField) -> Detector:
        def each_field(group: Group) -> Iterator[Hit]:
            for field in group.fields:
                yield from find(field)

        return Detector(find.__name__, category, each_field, examples, counterexamples)

    return wrap


def group_detector(
    category: Category, *, examples: tuple[str, ...], counterexamples: tuple[str, ...]
) -> Callable[[FindInGroup], Detector]:
    """Make a function over a group of sibling fields a ``Detector`` named after it."""

    def wrap(find: FindInGroup) -> Detector:
        return Detector(find.__name__, category, find, examples, counterexamples)

    return wrap

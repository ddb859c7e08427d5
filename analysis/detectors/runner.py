"""Running detectors over groups of fields, one failure never costing the others."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.value import decode_text
from borderflow.analysis.detectors._api import Detector, Hit
from borderflow.analysis.detectors.keys import kinds

logger = logging.getLogger(__name__)

_INDEX: Final = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which detectors a group can wake, worked out once per detector tuple."""

    detectors: tuple[Detector, ...]
    always: frozenset[int]  # positions of detectors without gates
    by_kind: dict[str, tuple[int, ...]]  # key kind -> positions gated on it
    # gated on a pattern, and on one of the characters it needs
    patterned: tuple[tuple[int, re.Pattern[str], frozenset[str]], ...]


_PLANS: dict[int, tuple[object, _Plan, tuple[Detector, ...]]] = {}


def _plans(detectors: Iterable[Detector]) -> tuple[_Plan, tuple[Detector, ...]]:
    """The group plan and the records detectors, remembered for a tuple such as ``ALL``
    (hashing every detector on every message would cost more than it saves)."""
    cached = _PLANS.get(id(detectors))
    if cached is not None and cached[0] is detectors:
        return cached[1], cached[2]
    chosen = tuple(detectors)
    plan = _plan(tuple(d for d in chosen if d.scope == "group"))
    per_list = tuple(d for d in chosen if d.scope == "records")
    if isinstance(detectors, tuple) and len(_PLANS) < 64:
        _PLANS[id(detectors)] = (detectors, plan, per_list)
    return plan, per_list


def _plan(detectors: tuple[Detector, ...]) -> _Plan:
    by_kind: dict[str, list[int]] = {}
    for position, found in enumerate(detectors):
        for kind in found.kinds:
            by_kind.setdefault(kind, []).append(position)
    return _Plan(
        detectors,
        frozenset(i for i, d in enumerate(detectors) if not d.kinds and d.pattern is None),
        {kind: tuple(positions) for kind, positions in by_kind.items()},
        tuple(
            (i, d.pattern, frozenset(d.needs))
            for i, d in enumerate(detectors)
            if d.pattern is not None
        ),
    )


def run(
    detectors: Iterable[Detector], groups: Iterable[Group], budget: Budget
) -> Iterator[tuple[Detector, Hit]]:
    """Every hit, group by group and in the detectors' order, then lists of records; a
    detector that raises is logged and reported as detector_failed, and the rest carry on."""
    per_group, per_list = _plans(detectors)
    every = list(groups)
    for group in every:
        yield from _run_on(per_group.detectors, _woken(per_group, group), group, budget)
    if per_list:
        everyone = tuple(range(len(per_list)))
        for records in record_lists(every):
            yield from _run_on(per_list, everyone, records, budget)


def _woken(plan: _Plan, group: Group) -> list[int]:
    """Positions of the detectors whose gates the group passes, in order."""
    woken = set(plan.always)
    for kind in group_kinds(group):
        woken.update(plan.by_kind.get(kind, ()))
    joined: str | None = None
    present: dict[frozenset[str], bool] = {}  # needs -> whether one of its characters occurs
    for position, pattern, needs in plan.patterned:
        if position in woken:
            continue
        if joined is None:
            joined = "\n".join(f.text for f in group.fields)
        if needs:
            if needs not in present:
                present[needs] = _has_any(joined, needs)
            if not present[needs]:
                continue
        if pattern.search(joined) is not None:
            woken.add(position)
    return sorted(woken)


def _has_any(text: str, chars: frozenset[str]) -> bool:
    """Whether one of ``chars`` occurs: set intersection for short text, and for long text
    ``str.__contains__`` per character (a memchr), far cheaper than a pattern scan."""
    if len(text) < 4096:
        return not chars.isdisjoint(text)
    return any(char in text for char in chars)


def _run_on(
    detectors: tuple[Detector, ...], positions: Iterable[int], group: Group, budget: Budget
) -> Iterator[tuple[Detector, Hit]]:
    for position in positions:
        found = detectors[position]
        try:
            hits = list(found.find(group))
        except Exception:  # a bug in one detector must not lose the payload
            logger.exception("detector %s failed on %s", found.name, group.path)
            budget.problem("detector_failed", found.name)
            continue
        for hit in hits:
            yield found, hit


def group_kinds(group: Group) -> frozenset[str]:
    """Key kinds of the group's own key and of its fields' keys, plus two markers: ``file``
    (an uploaded file part) and ``numbered`` (protobuf's number-only keys)."""
    found = set(kinds(group.key))
    for field in group.fields:
        found.update(kinds(field.key))
    if group.key.startswith("file:"):
        found.add("file")
    if group.fields and group.fields[0].key.isdigit():
        found.add("numbered")
    return frozenset(found)


def record_lists(groups: list[Group]) -> list[Group]:
    """Lists whose elements are containers, as groups whose ``items`` are the elements.

    An element is a path ending in ``[N]`` (JSON, msgpack, XML and protobuf all index
    repeated elements so); its item holds its own fields and those of everything nested
    inside it, so ``contacts[0].phones[1]`` counts for the contact ``contacts[0]``.
    """
    elements: dict[str, dict[str, tuple[str, list[Field]]]] = {}
    for group in groups:
        for match in _INDEX.finditer(group.path):
            prefix, parent = group.path[: match.end()], group.path[: match.start()]
            members = elements.setdefault(parent, {})
            members.setdefault(prefix, (group.key, []))[1].extend(group.fields)
    return [
        Group(parent, next(iter(members.values()))[0], (), tuple(
            Group(prefix, key, tuple(fields)) for prefix, (key, fields) in members.items()
        ))
        for parent, members in elements.items()
    ]  # fmt: skip


def example_groups(payload: str) -> list[Group]:
    """A detector example decoded as an untyped body would be (JSON, form or text)."""
    return decode_text(payload, "body", "", Budget(Limits()), depth=0)

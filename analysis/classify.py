"""First-pass classifier: which personal data one HTTP message carries, and where.

``classify`` is pure and never raises: the URL, headers and body are decoded into groups of
fields (``borderflow.analysis.decode``), every detector of ``detectors.ALL`` looks at every
group, and whatever could not be decoded comes back as a ``Problem`` instead of an exception.
Given a device ``profile`` (``detectors.profile.load_profile``), it also looks for the values
planted on the test device in every form apps send them; those findings have confidence 1.0.
It keeps no state between calls, so threads may share it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from borderflow.analysis.decode.body import decode_body
from borderflow.analysis.decode.budget import DEFAULT_LIMITS, Budget, Limits, Problem
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.headers import decode_headers
from borderflow.analysis.decode.url import decode_url
from borderflow.analysis.detectors import ALL
from borderflow.analysis.detectors.evidence import redact
from borderflow.analysis.detectors.known_search import compile_profile, known_hits
from borderflow.analysis.detectors.profile import Profile
from borderflow.analysis.detectors.runner import run
from borderflow.analysis.records import Category, Message

__all__ = [
    "DEFAULT_LIMITS",
    "Classification",
    "Detection",
    "Limits",
    "Problem",
    "Profile",
    "classify",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """One piece of personal data found in a message."""

    category: Category
    detector: str  # stable detector name, e.g. "email", "imei", "lat_lon_pair"
    location: str  # where in the decoded payload, e.g. "body/gzip/json:$.loc.lat"
    confidence: float  # 0..1
    reason: str  # one sentence: why it fired
    value: str  # the matched value, unredacted

    @property
    def evidence(self) -> str:
        """The value redacted so it can be stored: recognisable, not usable."""
        return redact(self.category, self.value)


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything found in one message, and what got in the way."""

    detections: tuple[Detection, ...]
    problems: tuple[Problem, ...]


def classify(
    message: Message, *, limits: Limits = DEFAULT_LIMITS, profile: Profile | None = None
) -> Classification:
    """Detections in ``message`` (URL and headers of requests, the body of both directions).

    Same message, same result in the same order. A response's URL is its request's, so it
    is only read for requests, where the data is sent. With a ``profile``, planted values
    found in any form are added as detections of detector ``profile``.
    """
    budget = Budget(limits)
    stages: list[tuple[str, Callable[[], list[Group]]]] = []
    if message.direction == "request" and message.url:
        url = message.url
        stages.append(("url", lambda: decode_url(url, budget)))
    stages.append(("headers", lambda: decode_headers(message.headers, budget)))
    stages.append(("body", lambda: decode_body(message.body, message.headers, budget)))
    groups: list[Group] = []
    for stage, decode in stages:
        try:
            groups.extend(decode())
        except Exception as exc:  # a decoder bug must not lose the rest of the message
            logger.exception("decoding the %s failed", stage)
            budget.problem("decode_failed", f"{stage}: {type(exc).__name__}")
    detections: dict[tuple[Category, str, str, str], Detection] = {}
    for found, hit in run(ALL, groups, budget):
        detection = Detection(
            category=hit.category or found.category,
            detector=found.name,
            location=_printable(hit.field.path),
            confidence=hit.confidence,
            reason=_printable(hit.reason),
            value=_printable(hit.value),
        )
        key = (detection.category, detection.detector, detection.location, detection.value)
        detections.setdefault(key, detection)
    _fold(detections)
    if profile is not None and (profile.values or profile.position is not None):
        for known in known_hits(compile_profile(profile), groups):
            detection = Detection(
                category=known.value.category,
                detector="profile",
                location=_printable(known.field.path),
                confidence=1.0,
                reason=_printable(f"Planted value {known.value.name} found as {known.transform}"),
                value=_printable(known.matched),
            )
            key = (detection.category, detection.detector, detection.location, detection.value)
            detections.setdefault(key, detection)
    return Classification(tuple(detections.values()), tuple(budget.problems))


_CONTACT_DETAILS: Final = frozenset(
    {
        Category.CONTACT_NAME,
        Category.CONTACT_PHONE,
        Category.CONTACT_EMAIL,
        Category.CONTACT_ADDRESS,
    }
)
_PLACE_DETAILS: Final = _CONTACT_DETAILS | {Category.LOCATION_PRECISE, Category.LOCATION_COARSE}
# Containers describing a business or a public place: their name, phone and position are
# the place's (a store list, a merchant, a POI), not the person's.
_PUBLIC_PLACE: Final = re.compile(
    r"[.$/\[](?:stores?|shop(?!per)|merchant|pois?|branch|restaurant|hotel|compan|atms?\b|venue"
    r"|station|office|hospital|outlet|seller|vendor|brand|poi_?list|cities|regions|countries"
    r"|places|landmarks|airports|districts)\w*",
    re.IGNORECASE,
)
_LAST_STEP: Final = re.compile(r"(?:\.[^.\[\]/]+|\[[^\]]*\])$")


def _fold(detections: dict[tuple[Category, str, str, str], Detection]) -> None:
    """Drop contact details that belong to someone else.

    Names and numbers inside an address book are other people's: the contacts_list finding
    covers them. Names, phones and positions inside a store, merchant or POI record are the
    place's.
    """
    books = tuple(d.location for d in detections.values() if d.category is Category.CONTACTS_LIST)
    for key, detection in list(detections.items()):
        if detection.category not in _PLACE_DETAILS:
            continue
        inside_book = detection.category in _CONTACT_DETAILS and any(
            detection.location.startswith(book)
            and detection.location[len(book) : len(book) + 1] in ("[", ".", "/")
            for book in books
        )
        container = _LAST_STEP.sub("", detection.location)
        if inside_book or _PUBLIC_PLACE.search(container):
            del detections[key]


def _printable(text: str) -> str:
    """Lone surrogates (from JSON escapes like "\\ud800") cannot be stored as UTF-8."""
    return text.encode("utf-8", errors="replace").decode("utf-8")

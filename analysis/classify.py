"""First-pass classifier: which personal data one HTTP message carries, and where.

``classify`` is pure and never raises: the URL, headers and body are decoded into groups of
fields (``borderflow.analysis.decode``), every detector of ``detectors.ALL`` looks at every
group, and whatever could not be decoded comes back as a ``Problem`` instead of an exception.
It keeps no state between calls, so threads may share it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from borderflow.analysis.decode.body import decode_body
from borderflow.analysis.decode.budget import DEFAULT_LIMITS, Budget, Limits, Problem
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.decode.headers import decode_headers
from borderflow.analysis.decode.url import decode_url
from borderflow.analysis.detectors import ALL
from borderflow.analysis.detectors.evidence import redact
from borderflow.analysis.detectors.runner import run
from borderflow.analysis.records import Category, Message

__all__ = ["DEFAULT_LIMITS", "Classification", "Detection", "Limits", "Problem", "classify"]

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


def classify(message: Message, *, limits: Limits = DEFAULT_LIMITS) -> Classification:
    """Detections in ``message`` (URL and headers of requests, the body of both directions).

    Same message, same result in the same order. A response's URL is its request's, so it
    is only read for requests, where the data is sent.
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
    return Classification(tuple(detections.values()), tuple(budget.problems))


def _printable(text: str) -> str:
    """Lone surrogates (from JSON escapes like "\\ud800") cannot be stored as UTF-8."""
    return text.encode("utf-8", errors="replace").decode("utf-8")

"""Running detectors over groups of fields, one failure never costing the others."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from borderflow.analysis.decode.body import decode_text
from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Group
from borderflow.analysis.detectors._api import Detector, Hit

logger = logging.getLogger(__name__)


def run(
    detectors: Iterable[Detector], groups: Iterable[Group], budget: Budget
) -> Iterator[tuple[Detector, Hit]]:
    """Every hit, group by group and in the detectors' order; a detector that raises is
    logged and reported as detector_failed, and the rest carry on."""
    chosen = tuple(detectors)
    for group in groups:
        for found in chosen:
            try:
                hits = list(found.find(group))
            except Exception:  # a bug in one detector must not lose the payload
                logger.exception("detector %s failed on %s", found.name, group.path)
                budget.problem("detector_failed", found.name)
                continue
            for hit in hits:
                yield found, hit


def example_groups(payload: str) -> list[Group]:
    """A detector example decoded as an untyped body would be (JSON, form or text)."""
    return decode_text(payload, "body", "", Budget(Limits()), depth=0)

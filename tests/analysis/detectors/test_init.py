"""Every detector in ALL finds its examples and none of its counterexamples."""

import pytest

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.detectors import ALL
from borderflow.analysis.detectors.runner import example_groups, run

EXAMPLES = [(d, e) for d in ALL for e in d.examples]
COUNTEREXAMPLES = [(d, c) for d in ALL for c in d.counterexamples]


def _hits(found, payload):
    return list(run((found,), example_groups(payload), Budget(Limits())))


@pytest.mark.parametrize(("found", "payload"), EXAMPLES, ids=lambda x: getattr(x, "name", x))
def test_detector_finds_its_examples(found, payload):
    assert _hits(found, payload), f"{found.name} missed {payload!r}"


@pytest.mark.parametrize(("found", "payload"), COUNTEREXAMPLES, ids=lambda x: getattr(x, "name", x))
def test_detector_ignores_its_counterexamples(found, payload):
    assert not _hits(found, payload), f"{found.name} fired on {payload!r}"


def test_every_detector_has_examples_and_counterexamples():
    for found in ALL:
        assert found.examples, found.name
        assert found.counterexamples, found.name


def test_detector_names_are_unique():
    names = [d.name for d in ALL]
    assert len(names) == len(set(names))

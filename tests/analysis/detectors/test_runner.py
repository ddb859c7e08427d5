from collections.abc import Iterator

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors import Hit, detector
from borderflow.analysis.detectors.contacts import email
from borderflow.analysis.detectors.runner import example_groups, run
from borderflow.analysis.records import Category


@detector(Category.CREDENTIALS, examples=(), counterexamples=())
def broken(field: Field) -> Iterator[Hit]:
    raise ZeroDivisionError(field.text)


def test_failing_detector_is_a_problem_and_the_others_still_run():
    budget = Budget(Limits())
    group = Group("body/text", "", (Field("body/text", "", "j@example.com"),))
    hits = list(run((broken, email), [group], budget))
    assert [(d.name, h.value) for d, h in hits] == [("email", "j@example.com")]
    assert [(p.name, p.addl) for p in budget.problems] == [("detector_failed", "broken")]


def test_examples_are_decoded_like_an_untyped_body():
    assert example_groups('{"a": "1"}')[0].path == "body/json:$"
    assert example_groups("a=1")[0].path == "body/form"
    assert example_groups("words")[0].path == "body/text"

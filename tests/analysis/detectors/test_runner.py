from collections.abc import Iterator

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors import Hit, detector
from borderflow.analysis.detectors.contacts import email
from borderflow.analysis.detectors.runner import example_groups, record_lists, run
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


def test_record_lists_gather_each_elements_nested_fields():
    groups = example_groups(
        '{"contacts": [{"name": "A B", "phones": ["+1 650 253 0000"]}, {"name": "C D"}], "x": "1"}'
    )
    (records,) = record_lists(groups)
    assert records.path == "body/json:$.contacts"
    assert records.key == "contacts"
    assert [(item.path, [f.text for f in item.fields]) for item in records.items] == [
        ("body/json:$.contacts[0]", ["A B", "+1 650 253 0000"]),
        ("body/json:$.contacts[1]", ["C D"]),
    ]


def test_gated_detector_skips_groups_without_its_kinds_or_pattern():
    seen: list[str] = []

    @detector(Category.CREDENTIALS, examples=(), counterexamples=(), kinds="password", pattern="@")
    def spy(field: Field) -> Iterator[Hit]:
        seen.append(field.text)
        return iter(())

    groups = [
        Group("a", "", (Field("a:x", "x", "plain"),)),
        Group("b", "", (Field("b:pwd", "pwd", "secret"),)),
        Group("c", "", (Field("c:x", "x", "j@example.com"),)),
    ]
    list(run((spy,), groups, Budget(Limits())))
    assert seen == ["secret", "j@example.com"]


def test_needs_skips_the_pattern_when_none_of_its_characters_occur():
    seen: list[str] = []

    @detector(
        Category.CREDENTIALS, examples=(), counterexamples=(), pattern=r"\d{3}", needs="0123456789"
    )
    def digits(field: Field) -> Iterator[Hit]:
        seen.append(field.text)
        return iter(())

    groups = [
        Group("a", "", (Field("a:x", "x", "no digits"),)),
        Group("b", "", (Field("b:x", "x", "123"),)),
    ]
    list(run((digits,), groups, Budget(Limits())))
    assert seen == ["123"]

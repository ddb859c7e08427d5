from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors import Detector, group_detector
from borderflow.analysis.detectors.contacts import email
from borderflow.analysis.records import Category


def test_field_detector_runs_over_every_field_of_a_group():
    group = Group("$", "", (Field("$.a", "a", "a@example.com"), Field("$.b", "b", "b@example.com")))
    assert [h.field.path for h in email.find(group)] == ["$.a", "$.b"]


def test_decorators_name_detectors_after_the_function():
    @group_detector(Category.CONTACTS_LIST, examples=("x",), counterexamples=())
    def whole_group(group):
        return iter(())

    assert isinstance(whole_group, Detector)
    assert whole_group.name == "whole_group"
    assert whole_group.category is Category.CONTACTS_LIST
    assert email.name == "email"

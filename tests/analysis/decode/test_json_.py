import json

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field
from borderflow.analysis.decode.json_ import decode_json, jsonp_payload, looks_like_json


def _fields(text, limits=None, strict=True):
    budget = Budget(limits or Limits())
    groups = decode_json(text, "body", "", budget, depth=1, strict=strict)
    fields = [f for g in groups or [] for f in g.fields]
    return groups, fields, budget


def test_object_members_become_fields_with_paths_and_keys():
    _, fields, _ = _fields('{"a": {"Lat": 48.10, "n": 3}, "b": [1, "x"]}')
    assert fields == [
        Field("body/json:$.a.Lat", "lat", "48.10"),
        Field("body/json:$.a.n", "n", "3"),
        Field("body/json:$.b[0]", "b", "1"),
        Field("body/json:$.b[1]", "b", "x"),
    ]


def test_siblings_share_one_group():
    groups, _, _ = _fields('{"loc": {"lat": "1.5", "lng": "2.5"}, "x": "y"}')
    assert groups is not None
    by_path = {g.path: g for g in groups}
    assert [f.key for f in by_path["body/json:$.loc"].fields] == ["lat", "lng"]
    assert by_path["body/json:$.loc"].key == "loc"


def test_numbers_keep_the_digits_the_app_sent():
    _, fields, _ = _fields('{"lat": 48.1370, "big": 123456789012345678901234567890}')
    assert [f.text for f in fields] == ["48.1370", "123456789012345678901234567890"]


def test_keys_that_are_not_names_are_quoted():
    _, fields, _ = _fields('{"a b": "1", "手机": "2"}')
    assert [f.path for f in fields] == ['body/json:$["a b"]', "body/json:$.手机"]


def test_json_inside_a_string_is_left_as_a_string_for_expand():
    inner = json.dumps({"user": {"email": "j@example.com"}})
    _, fields, _ = _fields(json.dumps({"data": inner}))
    assert fields == [Field("body/json:$.data", "data", inner)]


def test_jsonp_payload_is_found():
    assert jsonp_payload('cb({"a": 1});') == '{"a": 1}'
    assert jsonp_payload("jQuery123_456([1,2])") == "[1,2]"
    assert jsonp_payload("hello(world)") is None


def test_nulls_booleans_and_empty_strings_are_not_fields():
    _, fields, _ = _fields('{"a": null, "b": true, "c": ""}')
    assert fields == []


def test_bare_scalar_document_is_one_field():
    _, fields, _ = _fields('"hello"')
    assert fields == [Field("body/json:$", "", "hello")]


def test_invalid_json_is_unparsable_only_when_promised():
    groups, _, budget = _fields("{oops", strict=True)
    assert groups is None
    assert [p.name for p in budget.problems] == ["unparsable_json"]
    groups, _, budget = _fields("{oops", strict=False)
    assert groups is None
    assert budget.problems == []


def test_ten_thousand_deep_json_is_a_depth_problem_not_a_recursion_error():
    groups, _, budget = _fields("[" * 10_000 + "]" * 10_000)
    assert groups is None
    assert [p.name for p in budget.problems] == ["depth_limit"]


def test_nesting_beyond_max_depth_is_cut_and_reported():
    deep = '{"a": ' * 50 + '"x"' + "}" * 50
    groups, fields, budget = _fields(deep, Limits(max_depth=10))
    assert groups is not None
    assert fields == []
    assert [p.name for p in budget.problems] == ["depth_limit"]


def test_field_limit_stops_counting_and_is_reported_once():
    text = json.dumps({f"k{i}": "v" for i in range(50)})
    _, fields, budget = _fields(text, Limits(max_fields=10))
    assert len(fields) == 10
    assert [p.name for p in budget.problems] == ["field_limit"]


def test_looks_like_json_needs_matching_brackets():
    assert looks_like_json(' {"a": 1} ')
    assert looks_like_json("[1]")
    assert not looks_like_json("{")
    assert not looks_like_json("[1}")
    assert not looks_like_json("a=1")

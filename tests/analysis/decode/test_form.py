import json
from urllib.parse import quote

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field
from borderflow.analysis.decode.form import decode_form, looks_like_form, split_pairs
from borderflow.analysis.decode.value import expand


def test_pairs_become_one_group_of_fields():
    groups = decode_form("Imei=1&b=x+y&c=%E6%89%8B", "body/form", Budget(Limits()), depth=1)
    assert groups[0].fields == (
        Field("body/form:Imei", "imei", "1"),
        Field("body/form:b", "b", "x y"),
        Field("body/form:c", "c", "手"),
    )


def test_values_are_left_for_expand_which_parses_json_and_continues_the_path():
    data = quote(json.dumps({"user": {"email": "j@example.com"}}))
    budget = Budget(Limits())
    groups = expand(decode_form(f"data={data}&v=1", "body/form", budget, depth=1), budget, depth=1)
    fields = [f for g in groups for f in g.fields]
    assert Field("body/form:data/json:$.user.email", "email", "j@example.com") in fields
    assert Field("body/form:v", "v", "1") in fields


def test_invalid_percent_escapes_do_not_raise():
    groups = decode_form("a=%ff%fe&%zz=1&=&&b", "url/query", Budget(Limits()), depth=1)
    assert [f.path for f in groups[0].fields] == ["url/query:a", "url/query:%zz"]


def test_looks_like_form():
    assert looks_like_form("a=1&b=2")
    assert looks_like_form("data=%7B%7D\n")
    assert not looks_like_form("hello world")
    assert not looks_like_form("a = 1")


def test_pairs_in_braces_or_with_semicolons_are_split():
    assert split_pairs("{phoneNo=13552535506|customerNm=张三}") == [
        ("phoneNo", "13552535506"),
        ("customerNm", "张三"),
    ]
    assert split_pairs("a=1;b=x=y") == [("a", "1"), ("b", "x=y")]
    assert split_pairs("a=1") is None
    assert split_pairs("hello world|x=1") is None

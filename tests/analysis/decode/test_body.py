import gzip
import json

from hypothesis import given
from hypothesis import strategies as st

from borderflow.analysis.decode.body import decode_body, is_json_type
from borderflow.analysis.decode.budget import Budget, Limits


def _paths(body, headers=(), limits=None):
    budget = Budget(limits or Limits())
    groups = decode_body(body, headers, budget)
    return [f.path for g in groups for f in g.fields], budget


def test_gzip_json_body_paths_name_each_step():
    body = gzip.compress(json.dumps({"loc": {"lat": 1.5}}).encode())
    headers = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    paths, budget = _paths(body, headers)
    assert paths == ["body/gzip/json:$.loc.lat"]
    assert budget.problems == []


def test_untyped_body_is_sniffed_as_json_form_or_text():
    assert _paths(b'{"a": "b"}')[0] == ["body/json:$.a"]
    assert _paths(b"a=b&c=d")[0] == ["body/form:a", "body/form:c"]
    assert _paths(b"just some words")[0] == ["body/text"]


def test_unparsable_json_is_reported_and_still_scanned_as_text():
    paths, budget = _paths(b'{"email": "j@example.com"', (("content-type", "application/json"),))
    assert paths == ["body/text"]
    assert [p.name for p in budget.problems] == ["unparsable_json"]


def test_body_over_max_body_is_cut_and_reported():
    paths, budget = _paths(b"x" * 100, limits=Limits(max_body=10))
    assert paths == ["body/text"]
    assert budget.problems[0].name == "body_too_large"


def test_images_are_not_scanned():
    assert _paths(b"\x89PNG...", (("Content-Type", "image/png"),))[0] == []


def test_invalid_utf8_is_replaced_not_raised():
    budget = Budget(Limits())
    groups = decode_body(b'{"a": "caf\xe9 \xff"}', (), budget)
    assert groups[0].fields[0].text == "caf\ufffd \ufffd"


def test_json_media_types():
    assert is_json_type("application/json; charset=utf-8")
    assert is_json_type("application/vnd.api+json")
    assert not is_json_type("text/plain")


@given(st.binary(max_size=2048), st.sampled_from(["", "gzip", "br", "zstd", "deflate, gzip"]))
def test_binary_noise_never_raises(body, coding):
    decode_body(body, (("content-encoding", coding),), Budget(Limits()))

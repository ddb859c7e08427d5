import base64
import gzip
import json

import msgpack  # type: ignore[import-untyped]

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.value import decode_bytes, decode_text, expand


def _fields(groups):
    return [(f.path, f.key, f.text) for g in groups for f in g.fields]


def _expand(text, key="data", limits=None):
    budget = Budget(limits or Limits())
    groups = expand(
        [Group("body/form", "", (Field(f"body/form:{key}", key, text),))], budget, depth=1
    )
    return _fields(groups), budget


def test_json_in_a_value_replaces_the_field_and_continues_the_path():
    fields, _ = _expand(json.dumps({"user": {"email": "j@example.com"}}))
    assert fields == [("body/form:data/json:$.user.email", "email", "j@example.com")]


def test_base64_of_json_is_decoded_and_the_wrapper_field_kept():
    blob = base64.b64encode(json.dumps({"lat": "31.2"}).encode()).decode()
    fields, _ = _expand(blob)
    assert fields == [
        ("body/form:data", "data", blob),
        ("body/form:data/base64/json:$.lat", "lat", "31.2"),
    ]


def test_compression_inside_base64_is_undone():
    blob = base64.b64encode(gzip.compress(b'{"imei": "490154203237518"}')).decode()
    fields, _ = _expand(blob)
    assert ("body/form:data/base64/gzip/json:$.imei", "imei", "490154203237518") in fields


def test_base64url_hex_and_jwt_wrappers():
    url = base64.urlsafe_b64encode(b'{"k": "~~~~value>>>"}').decode().rstrip("=")
    assert ("body/form:data/base64url/json:$.k", "k", "~~~~value>>>") in _expand(url)[0]
    hexed = b'{"a": "b"}'.hex()
    assert ("body/form:data/hex/json:$.a", "a", "b") in _expand(hexed)[0]
    claims = base64.urlsafe_b64encode(b'{"sub": "2088102104794936"}').decode().rstrip("=")
    token = f"Bearer eyJhbGciOiJIUzI1NiJ9.{claims}.c2ln"
    fields, _ = _expand(token, key="authorization")
    assert ("body/form:authorization", "authorization", token) in fields
    assert ("body/form:authorization/jwt/json:$.sub", "sub", "2088102104794936") in fields


def test_digests_ids_and_numbers_are_not_unwrapped():
    for value in (
        "d41d8cd98f00b204e9800998ecf8427e",
        "38400000-8cf0-11bd-b23e-10b96e40000d",
        "XwKZc2Hq3BADAKnVmQKfD1x0",
        "20231115000012345678",
    ):
        assert _expand(value)[0] == [("body/form:data", "data", value)]


def test_pairs_and_forms_and_urls_inside_values():
    fields, _ = _expand("{phoneNo=13552535506|customerNm=张三}")
    assert ("body/form:data/pairs:phoneNo", "phoneno", "13552535506") in fields
    fields, _ = _expand("a=1&mobile=13812345678")
    assert ("body/form:data/form:mobile", "mobile", "13812345678") in fields
    fields, _ = _expand("https://www.baidu.com/s?wd=%E5%8C%BB%E9%99%A2")
    assert ("body/form:data/query:wd", "wd", "医院") in fields
    assert ("body/form:data", "data", "https://www.baidu.com/s?wd=%E5%8C%BB%E9%99%A2") in fields


def test_unwrapping_stops_at_the_depth_limit():
    text = '{"a": "1"}'
    for _ in range(10):
        text = base64.b64encode(text.encode()).decode()
    fields, budget = _expand(text, limits=Limits(max_depth=6))
    assert [p.name for p in budget.problems] == ["depth_limit"]
    assert not any(path.endswith("json:$.a") for path, _, _ in fields)


def test_untyped_bytes_are_sniffed():
    budget = Budget(Limits())
    packed = msgpack.packb({"imei": "490154203237518", "n": 1})
    assert _fields(decode_bytes(packed, "body", "", budget, depth=0)) == [
        ("body/msgpack:$.imei", "imei", "490154203237518"),
        ("body/msgpack:$.n", "n", "1"),
    ]
    text = decode_bytes(b"plain words here", "body", "application/octet-stream", budget, depth=0)
    assert _fields(text) == [("body/text", "", "plain words here")]


def test_sniffed_noise_is_not_made_into_fields():
    assert decode_bytes(bytes(range(256)), "x", "", Budget(Limits()), depth=0, sniffed=True) is None


def test_xml_and_jsonp_text():
    budget = Budget(Limits())
    groups = decode_text("<xml><openid>o1</openid></xml>", "body", "", budget, depth=0)
    assert _fields(groups) == [("body/xml:/xml/openid", "openid", "o1")]
    groups = decode_text('cb({"q": "x"});', "body", "", budget, depth=0)
    assert _fields(groups) == [("body/json:$.q", "q", "x")]

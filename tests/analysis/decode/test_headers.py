from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.headers import decode_headers


def _fields(headers):
    return [
        (f.path, f.key, f.text) for g in decode_headers(headers, Budget(Limits())) for f in g.fields
    ]


def test_plumbing_headers_are_skipped_and_custom_ones_kept():
    fields = _fields(
        (
            ("Host", "a.example"),
            ("Content-Length", "12"),
            ("Accept-Encoding", "gzip"),
            ("User-Agent", "okhttp/4"),
            (":authority", "a.example"),
            ("X-Device-Id", "860123456789014"),
        )
    )
    assert fields == [("header:x-device-id", "x-device-id", "860123456789014")]


def test_cookies_are_fields_of_their_own():
    fields = _fields((("Cookie", "uid=7; mobile=138%2012; flag"),))
    assert fields == [
        ("header:cookie/uid", "uid", "7"),
        ("header:cookie/mobile", "mobile", "138 12"),
    ]


def test_only_the_first_pair_of_set_cookie_is_a_field():
    assert _fields((("Set-Cookie", "sid=abc; Path=/; HttpOnly"),)) == [
        ("header:set-cookie/sid", "sid", "abc")
    ]


def test_json_in_a_header_is_parsed():
    fields = _fields((("X-Info", '{"imei": "1"}'),))
    assert fields == [("header:x-info/json:$.imei", "imei", "1")]

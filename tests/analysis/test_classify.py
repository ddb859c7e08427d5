import gzip
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from borderflow.analysis.classify import Classification, Detection, Limits, Problem, classify
from borderflow.analysis.records import Category, Message

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
SDK_PAYLOAD = {
    "app": "com.example.wallet",
    "ts": 1700000000000,
    "dev": {"imei": "490154203237518", "model": "SM-G991B"},
    "loc": {"lat": 31.230416, "lng": 121.473701},
    "user": {"mobile": "13812345678", "email": "jane.doe@example.com"},
    "order_no": "202311150000012345",
}


def _request(*, url=None, headers=(), body=b""):
    return Message(direction="request", method="POST", url=url, headers=headers, body=body)


def _found(result):
    return {(d.category, d.location) for d in result.detections}


def test_form_post_with_urlencoded_json_data_finds_imei_location_and_phone():
    body = f"data={quote(json.dumps(SDK_PAYLOAD))}&sign=abc".encode()
    headers = (("Content-Type", "application/x-www-form-urlencoded"),)
    result = classify(_request(url="https://sdk.example.cn/v2/collect", headers=headers, body=body))
    assert _found(result) == {
        (Category.IDENTIFIERS_DEVICE, "body/form:data/json:$.dev.imei"),
        (Category.LOCATION_PRECISE, "body/form:data/json:$.loc.lat"),
        (Category.CONTACT_PHONE, "body/form:data/json:$.user.mobile"),
        (Category.CONTACT_EMAIL, "body/form:data/json:$.user.email"),
    }
    assert result.problems == ()


def test_gzip_json_body_is_decoded_and_located():
    body = gzip.compress(json.dumps(SDK_PAYLOAD).encode())
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    result = classify(_request(headers=headers, body=body))
    assert (Category.LOCATION_PRECISE, "body/gzip/json:$.loc.lat") in _found(result)
    assert (Category.IDENTIFIERS_DEVICE, "body/gzip/json:$.dev.imei") in _found(result)


def test_query_string_gaid_and_custom_headers_and_cookies_are_read():
    result = classify(
        _request(
            url=f"https://ads.example.com/v1/req?gaid={GAID}&rid={GAID}&t=1700000000000",
            headers=(
                ("Host", "ads.example.com"),
                ("X-Device-Id", "860123456789014"),
                ("Cookie", "sid=abc; phone=%2B8613812345678"),
            ),
        )
    )
    assert _found(result) == {
        (Category.IDENTIFIERS_ADVERTISING, "url/query:gaid"),
        (Category.IDENTIFIERS_DEVICE, "header:x-device-id"),
        (Category.CONTACT_PHONE, "header:cookie/phone"),
    }


def test_response_url_is_not_read_but_its_body_is():
    message = Message(
        direction="response",
        method=None,
        url=f"https://a.example/x?gaid={GAID}",
        headers=(("content-type", "application/json"),),
        body=b'{"email": "jane@example.com"}',
    )
    assert _found(classify(message)) == {(Category.CONTACT_EMAIL, "body/json:$.email")}


def test_same_value_at_the_same_place_is_reported_once():
    body = b"a=jane@example.com jane@example.com"
    result = classify(_request(body=body))
    assert [d.detector for d in result.detections] == ["email"]


def test_detection_fields_and_redacted_evidence():
    result = classify(_request(body=b'{"card_no": "4111111111111111", "imei": "490154203237518"}'))
    by_detector = {d.detector: d for d in result.detections}
    card = by_detector["payment_card"]
    assert card == Detection(
        category=Category.FINANCIAL_CARD,
        detector="payment_card",
        location="body/json:$.card_no",
        confidence=card.confidence,
        reason="Luhn-valid 16-digit Visa number under key 'card_no'",
        value="4111111111111111",
    )
    for detection in result.detections:
        assert detection.value not in detection.evidence
        assert 0 <= detection.confidence <= 1


def test_result_is_the_same_for_the_same_message():
    body = f"data={quote(json.dumps(SDK_PAYLOAD))}".encode()
    message = _request(url=f"https://x.example/?gaid={GAID}", body=body)
    assert classify(message) == classify(message)


def test_concurrent_calls_give_the_sequential_results():
    messages = [
        _request(
            url=f"https://x.example/?gaid={GAID}&n={i}", body=f"mobile=1381234{i:04d}".encode()
        )
        for i in range(40)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(classify, messages)) == [classify(m) for m in messages]


def test_gzip_bomb_body_stops_at_the_decoded_limit():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()
    result = classify(
        _request(headers=(("Content-Encoding", "gzip"),), body=bomb),
        limits=Limits(max_decoded=1024 * 1024),
    )
    assert [p.name for p in result.problems] == ["decompression_limit"]


def test_malformed_bodies_become_problems():
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    result = classify(_request(headers=headers, body=b"\x1f\x8bnot really gzip"))
    assert [p.name for p in result.problems] == ["bad_content_encoding", "unparsable_json"]


def test_limits_are_reported_as_problems():
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    result = classify(_request(headers=(("content-type", "application/json"),), body=deep))
    assert result.problems[0].name == "depth_limit"
    result = classify(_request(body=b"x" * 100), limits=Limits(max_body=10))
    assert result.problems == (
        Problem(name="body_too_large", addl="100 bytes; looked at the first 10"),
    )


def test_lone_surrogates_in_json_are_made_storable():
    result = classify(_request(body=b'{"email": "\\ud800 jane@example.com"}'))
    (detection,) = result.detections
    detection.location.encode("utf-8")
    assert detection.value == "jane@example.com"


def test_failing_decoder_is_a_problem_not_an_exception(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("borderflow.analysis.classify.decode_headers", explode)
    result = classify(_request(body=b'{"email": "jane@example.com"}'))
    assert [d.detector for d in result.detections] == ["email"]
    assert result.problems == (Problem(name="decode_failed", addl="headers: RuntimeError"),)


@pytest.mark.parametrize("url", ["", "http://[::1", "::::", "https://a.example/%zz?%zz=%"])
def test_odd_urls_do_not_raise(url):
    assert isinstance(classify(_request(url=url)), Classification)


@given(
    body=st.binary(max_size=4096),
    url=st.text(max_size=200),
    headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=60)), max_size=5),
    direction=st.sampled_from(["request", "response"]),
)
def test_random_input_never_raises(body, url, headers, direction):
    message = Message(direction=direction, method="GET", url=url, headers=tuple(headers), body=body)
    result = classify(message)
    assert {p.name for p in result.problems}.isdisjoint({"decode_failed", "detector_failed"})

import base64
import gzip
import json
import random
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from borderflow.analysis.classify import Classification, Detection, Limits, Problem, classify
from borderflow.analysis.detectors.profile import KnownValue, Profile
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


def _bomb(size: int) -> bytes:
    """About ``size`` bytes of gzip members, each inflating to 10 MB of zeros."""
    member = gzip.compress(bytes(10 * 1024 * 1024), compresslevel=9, mtime=0)
    return member * (size // len(member) + 1)


def _peak_memory(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(60)
def test_ten_megabyte_gzip_bomb_ends_in_a_problem_with_bounded_memory():
    """10 MB of gzip members would inflate to about 10 GB; decoding stops at the limits."""
    bomb = _bomb(10 * 1024 * 1024)
    assert len(bomb) >= 10 * 1024 * 1024
    headers = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    result, peak = _peak_memory(lambda: classify(_request(headers=headers, body=bomb)))
    names = {p.name for p in result.problems}
    assert {"body_too_large", "decompression_limit"} <= names
    assert peak < 400 * 1024 * 1024


@pytest.mark.timeout(60)
def test_gzip_bomb_inside_base64_is_bounded_too():
    blob = base64.b64encode(_bomb(64 * 1024)).decode()
    body = json.dumps({"payload": blob}).encode()
    result = classify(_request(body=body), limits=Limits(max_decoded=4 * 1024 * 1024))
    assert "decompression_limit" in {p.name for p in result.problems}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (("[" * 10_000 + "]" * 10_000).encode(), ""),
        (
            json.dumps(
                {"d": base64.b64encode(("[" * 10_000 + "]" * 10_000).encode()).decode()}
            ).encode(),
            "",
        ),
        (("<a>" * 10_000 + "</a>" * 10_000).encode(), "text/xml"),
        (b"\x91" * 10_000 + b"\x01", "application/msgpack"),
    ],
    ids=["json", "json-in-base64", "xml", "msgpack"],
)
def test_ten_thousand_deep_documents_end_in_a_problem(body, content_type):
    headers = (("Content-Type", content_type),) if content_type else ()
    result = classify(_request(headers=headers, body=body))
    assert result.problems, result
    assert {p.name for p in result.problems} <= {"depth_limit", "unparsable_msgpack"}


def test_truncated_protobuf_is_a_problem_and_its_text_still_scanned():
    message = b"\x0a\x14jane.doe@example.com\x12\x10\x09\x00\x00"
    headers = (("Content-Type", "application/x-protobuf"),)
    result = classify(_request(headers=headers, body=message))
    assert [p.name for p in result.problems] == ["unparsable_protobuf"]
    assert [d.value for d in result.detections] == ["jane.doe@example.com"]


def test_invalid_utf8_is_read_around():
    body = b'{"email": "jane@example.com", "note": "caf\xe9 \xff\xfe"}'
    result = classify(_request(headers=(("Content-Type", "application/json"),), body=body))
    assert [d.value for d in result.detections] == ["jane@example.com"]
    assert result.problems == ()


@pytest.mark.timeout(60)
def test_a_megabyte_of_binary_noise_is_bounded():
    noise = random.Random(7).randbytes(1024 * 1024)
    for content_type in (
        "",
        "application/octet-stream",
        "application/x-protobuf",
        "application/json",
    ):
        headers = (("Content-Type", content_type),) if content_type else ()
        result, peak = _peak_memory(lambda h=headers: classify(_request(headers=h, body=noise)))
        assert result.problems, content_type  # a weird row says what could not be read
        assert peak < 200 * 1024 * 1024


def test_time_limit_stops_decoding_and_is_reported():
    body = json.dumps({f"k{i}": "v" for i in range(5000)}).encode()
    result = classify(_request(body=body), limits=Limits(max_seconds=0.0))
    assert [p.name for p in result.problems] == ["time_limit"]


def test_profile_findings_come_with_the_detectors():
    profile = Profile((KnownValue("device.imei", Category.IDENTIFIERS_DEVICE, "490154203237518"),))
    body = json.dumps({"imei": "490154203237518"}).encode()
    result = classify(_request(body=body), profile=profile)
    assert [(d.detector, d.confidence) for d in result.detections] == [
        ("imei", 0.9),
        ("profile", 1.0),
    ]


def test_names_and_numbers_in_an_address_book_are_reported_once_as_the_book():
    book = [{"name": "张伟", "phone": "13900001111"}, {"name": "李娜", "phone": "13900002222"}]
    result = classify(
        _request(body=json.dumps({"mobile": "13812345678", "contacts": book}).encode())
    )
    assert sorted((d.category, d.location) for d in result.detections) == [
        (Category.CONTACT_PHONE, "body/json:$.mobile"),
        (Category.CONTACTS_LIST, "body/json:$.contacts"),
    ]


def test_a_stores_phone_and_position_are_not_the_persons():
    stores = [{"name": "Central Store", "phone": "+852 2123 4567", "lat": 22.2819, "lng": 114.1582}]
    result = classify(_request(body=json.dumps({"stores": stores}).encode()))
    assert result.detections == ()

import base64

import pytest

from borderflow.analysis.decode.wrappers import jwt_payload, unwrap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7b2261223a2031207d", ("hex", b'{"a": 1 }')),
        (base64.b64encode(b'{"imei": 1}').decode(), ("base64", b'{"imei": 1}')),
        ("eyJhIjoxMjM0NTY3fQ", ("base64", b'{"a":1234567}')),
        ("eyJhIjoiPz8_Pz8ifQ", ("base64url", b'{"a":"?????"}')),
        ("ZXhh\nbXBsZSB0ZXh0", ("base64", b"example text")),
    ],
)
def test_wrappers_are_recognised(text, expected):
    assert unwrap(text) == expected


@pytest.mark.parametrize("text", ["short", "1234567890123", "has spaces in it", "abc==x"])
def test_other_text_is_not_a_wrapper(text):
    assert unwrap(text) is None


def test_jwt_payload_with_or_without_bearer():
    token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
    assert jwt_payload(token) == b'{"sub":"1"}'
    assert jwt_payload("Bearer " + token) == b'{"sub":"1"}'
    assert jwt_payload("a.b.c") is None

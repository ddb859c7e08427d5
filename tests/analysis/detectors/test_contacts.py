import pytest

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.contacts import email, is_phone_key, parse_phone, phone


def _find(found, field):
    return list(found.find(Group("body/json:$", "", (field,))))


def _values(found, key, text):
    return [hit.value for hit in _find(found, Field("body/json:$.x", key, text))]


@pytest.mark.parametrize(
    "text",
    ["icon@2x.png", "retina@3x.jpeg", "lodash@4.17.21", "react-native@0.72.4", "a..b@example.com"],
)
def test_asset_names_and_versions_are_not_emails(text):
    assert _values(email, "", text) == []


def test_email_is_found_inside_text():
    assert _values(email, "", "mail jane.doe+x@mail.example.co.uk, thanks") == [
        "jane.doe+x@mail.example.co.uk"
    ]


def test_email_under_a_mail_key_is_more_confident():
    field = Field("p", "user_email", "j@example.com")
    (hit,) = _find(email, field)
    assert hit.confidence > 0.9
    assert "user_email" in hit.reason


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("ts", "1700000000000"),
        ("timestamp", "1700000000"),
        ("order_no", "13812345678"),
        ("nonce", "13912345678"),
        ("trace_id", "+8613812345678x"),
        ("mobile", "1700000000000"),
        ("phone", "12345"),
        ("hotel", "13812345678"),
    ],
)
def test_timestamps_order_numbers_and_nonces_are_not_phones(key, text):
    assert _values(phone, key, text) == []


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("mobile", "13812345678"),
        ("phonenumber", "+86 138-1234-5678"),
        ("tel", "(650) 253-0000"),
        ("手机号", "15012345678"),
        ("shouji", "8613812345678"),
        ("msisdn", "+447911123456"),
    ],
)
def test_numbers_under_phone_keys_are_phones(key, text):
    assert _values(phone, key, text) == [text]


def test_e164_number_is_found_without_a_key():
    assert _values(phone, "", "ring +44 7911 123456 now") == ["+44 7911 123456"]


def test_invalid_e164_number_is_not_a_phone():
    assert _values(phone, "", "id +0000000000 and +1 000 000 0000") == []


def test_phone_keys():
    assert is_phone_key("user_mobile")
    assert is_phone_key("tel")
    assert is_phone_key("电话")
    assert not is_phone_key("telemetry")
    assert not is_phone_key("hotel")


def test_chinese_mobile_parses_as_cn():
    number = parse_phone("13812345678")
    assert number is not None
    assert number.country_code == 86

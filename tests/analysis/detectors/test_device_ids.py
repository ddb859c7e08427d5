import pytest

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.device_ids import advertising_id, imei, is_advertising_key

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def _hits(found, key, text):
    return list(found.find(Group("body/json:$", "", (Field("body/json:$.x", key, text),))))


@pytest.mark.parametrize("key", ["imei", "imei1", "device_id", "deviceid", "meid", "x-device-id"])
def test_luhn_valid_fifteen_digits_under_imei_keys_are_imeis(key):
    (hit,) = _hits(imei, key, "490154203237518")
    assert hit.confidence == 0.9
    assert key in hit.reason


def test_unnamed_imei_is_found_with_low_confidence():
    (hit,) = _hits(imei, "", "490154203237518")
    assert hit.confidence < 0.5


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("ts", "490154203237518"),
        ("time", "860123456789014"),
        ("create_time_ms", "860123456789014"),
        ("order_id", "860123456789014"),
        ("", "123456789012344"),  # Luhn-valid, no IMEI prefix, no key
        ("imei", "490154203237519"),  # Luhn fails
        ("imei", "0000000000000000"),
        ("imei", "4901542032375180"),  # 16 digits
    ],
)
def test_fifteen_digit_lookalikes_are_not_imeis(key, text):
    assert _hits(imei, key, text) == []


@pytest.mark.parametrize(
    "key", ["gaid", "adid", "advertising_id", "idfa", "oaid", "aaid", "google_ad_id", "gps_adid"]
)
def test_uuids_under_advertising_keys_are_advertising_ids(key):
    (hit,) = _hits(advertising_id, key, GAID)
    assert hit.value == GAID


@pytest.mark.parametrize("key", ["request_id", "trace_id", "uuid", "session", "upload_id", ""])
def test_uuid_request_ids_under_other_keys_are_not_advertising_ids(key):
    assert _hits(advertising_id, key, GAID) == []


def test_all_zero_id_of_limited_ad_tracking_is_not_personal_data():
    assert _hits(advertising_id, "idfa", "00000000-0000-0000-0000-000000000000") == []


def test_hex_oaid_only_under_an_oaid_key():
    hex64 = "ab" * 32
    assert [h.value for h in _hits(advertising_id, "oaid", hex64)] == [hex64]
    assert _hits(advertising_id, "gaid", hex64) == []


def test_advertising_keys():
    assert is_advertising_key("googleAdId".lower())
    assert not is_advertising_key("uploadid")
    assert not is_advertising_key("idfv")

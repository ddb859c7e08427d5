import pytest

from borderflow.analysis.detectors.keys import is_time_or_id_key, normalized, tokens


def test_normalized_and_tokens():
    assert normalized("x-device_id") == "xdeviceid"
    assert tokens("x-user_lat") == ("x", "user", "lat")


@pytest.mark.parametrize(
    "key", ["ts", "timestamp", "order_id", "orderno", "nonce", "trace_id", "seq", "_t"]
)
def test_time_and_id_keys(key):
    assert is_time_or_id_key(key)


@pytest.mark.parametrize("key", ["imei", "mobile", "card_number", "lat", ""])
def test_other_keys_are_not_time_or_id_keys(key):
    assert not is_time_or_id_key(key)

import pytest

from borderflow.analysis.detectors.government_ids import (
    cn_resident_id_valid,
    hk_id_valid,
    ssn_valid,
    tw_id_valid,
)


@pytest.mark.parametrize("text", ["11010519491231002X", "440306199003071232", "11010519491231002x"])
def test_valid_chinese_resident_ids(text):
    assert cn_resident_id_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "110105194912310021",  # wrong check character
        "990105194912310029",  # no province 99
        "110105194913310021",  # month 13
        "202311150000012345",  # an order number that starts with a date
    ],
)
def test_lookalikes_are_not_resident_ids(text):
    assert not cn_resident_id_valid(text)


def test_hong_kong_taiwan_and_us_numbers():
    assert hk_id_valid("A", "123456", "3")
    assert not hk_id_valid("A", "123456", "4")
    assert tw_id_valid("A", "123456789")
    assert not tw_id_valid("A", "123456788")
    assert ssn_valid("078", "05", "1120")
    assert not ssn_valid("666", "05", "1120")
    assert not ssn_valid("912", "05", "1120")

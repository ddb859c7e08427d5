from decimal import Decimal

import pytest

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.location import axis, coordinates, lat_lon_pair
from borderflow.analysis.records import Category


def _hits(**fields):
    group = Group(
        "body/json:$.loc",
        "loc",
        tuple(Field(f"body/json:$.loc.{k}", k, v) for k, v in fields.items()),
    )
    return list(lat_lon_pair.find(group))


def test_sibling_lat_lng_with_six_decimals_is_precise():
    (hit,) = _hits(lat="48.137154", lng="11.576124")
    assert hit.category is Category.LOCATION_PRECISE
    assert hit.value == "48.137154,11.576124"
    assert hit.field.path == "body/json:$.loc.lat"


def test_fewer_than_three_decimals_is_coarse():
    (hit,) = _hits(latitude="48.14", longitude="11.58")
    assert hit.category is Category.LOCATION_COARSE


def test_integers_scaled_by_1e6_or_1e7_are_accepted():
    assert _hits(lat="48137154", lng="11576124")[0].value == "48.137154,11.576124"
    assert _hits(lat="481371540", lng="115761240")[0].value == "48.1371540,11.5761240"


def test_pairs_are_matched_by_their_prefix():
    hits = _hits(
        home_lat="48.137154", work_lat="52.520008", work_lng="13.404954", home_lng="11.576124"
    )
    assert sorted(h.value for h in hits) == ["48.137154,11.576124", "52.520008,13.404954"]


def test_chinese_and_pinyin_key_names_are_understood():
    assert _hits(纬度="31.230416", 经度="121.473701")
    assert _hits(weidu="31.230416", jingdu="121.473701")


@pytest.mark.parametrize(
    "fields",
    [
        {"lat": "0", "lng": "0"},
        {"lat": "0.000000", "lng": "0.000000"},
        {"lat": "91.5", "lng": "11.5"},
        {"lat": "48.1", "lng": "181.5"},
        {"lat": "48.137154"},
        {"lat": "north", "lng": "east"},
        {"flat": "48.137154", "belong": "11.576124"},
    ],
)
def test_out_of_range_lone_or_unnamed_values_are_not_locations(fields):
    assert _hits(**fields) == []


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("location", "48.137154,11.576124", "48.137154,11.576124"),
        ("gps", "48.137154, 11.576124", "48.137154,11.576124"),
        ("location", "116.481488,39.990464", "39.990464,116.481488"),  # AMap writes lng,lat
        ("lnglat", "11.576124,48.137154", "48.137154,11.576124"),
    ],
)
def test_pair_in_one_string_under_a_location_key(key, text, value):
    hits = list(lat_lon_pair.find(Group("$", "", (Field(f"$.{key}", key, text),))))
    assert [h.value for h in hits] == [value]


def test_pair_string_under_other_keys_is_ignored():
    assert list(lat_lon_pair.find(Group("$", "", (Field("$.v", "version", "1.2,3.4"),)))) == []


def test_axis_reads_key_names():
    assert axis("user_lat") == ("lat", "user")
    assert axis("gpslongitude") == ("lng", "gps")
    assert axis("format") is None


def test_coordinates_reject_the_null_island():
    assert coordinates("0.0", "0.0") is None
    assert coordinates("-33.86", "151.21") == (Decimal("-33.86"), Decimal("151.21"), 2)

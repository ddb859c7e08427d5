"""Device profiles: the TOML format, its errors, and ``borderflow classify --profile``."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from borderflow.analysis.cli import cli
from borderflow.analysis.detectors.profile import (
    KnownValue,
    Position,
    load_profile,
    parse_profile,
)
from borderflow.analysis.errors import InputError
from borderflow.analysis.records import Category
from tests.conftest import REPO

EXAMPLE = REPO / "docs" / "profile.example.toml"


def test_the_documented_example_loads():
    profile = load_profile(EXAMPLE)
    names = {v.name for v in profile.values}
    assert {"device.imei", "person.phone", "wifi.bssid", "contacts[1].email"} <= names
    assert (
        KnownValue("wechat_openid", Category.IDENTIFIERS_USER, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        in profile.values
    )
    assert profile.position == Position(31.230416, 121.473701)
    imeis = [v.value for v in profile.values if v.name == "device.imei"]
    assert imeis == ["490154203237518", "490154203237526"]


def test_sections_map_to_categories():
    profile = parse_profile(
        {
            "device": {"advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d"},
            "contacts": [{"phone": "13900001111"}],
            "values": [{"category": "health_fitness", "value": "8421 steps", "name": "s"}],
        }
    )
    assert [(v.name, v.category) for v in profile.values] == [
        ("device.advertising_id", Category.IDENTIFIERS_ADVERTISING),
        ("contacts[0].phone", Category.CONTACTS_LIST),
        ("s", Category.HEALTH_FITNESS),
    ]
    assert profile.position is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"gadget": {}}, r"unknown section \[gadget\]"),
        ({"device": {"shoe_size": "44"}}, "unknown key 'shoe_size'"),
        ({"device": {"imei": "12"}}, "too short"),
        ({"device": {"imei": 1.5}}, "must be a string"),
        ({"location": {"latitude": 91, "longitude": 0}}, "out of range"),
        ({"location": {"latitude": "x"}}, "numeric latitude"),
        ({"values": [{"value": "abcdef"}]}, "needs category and value"),
        ({"values": [{"category": "nope", "value": "abcdef"}]}, "unknown category"),
    ],
)
def test_bad_profiles_say_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        parse_profile(data)


def test_a_broken_file_is_one_input_error_naming_it(tmp_path: Path):
    path = tmp_path / "p.toml"
    path.write_text("[device\nimei = 1", encoding="utf-8")
    with pytest.raises(InputError, match=r"p\.toml: not valid TOML"):
        load_profile(path)
    with pytest.raises(InputError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")


def test_classify_command_reports_planted_values():
    line = json.dumps(
        {"id": 7, "direction": "request", "method": "POST", "url": "https://t.example/",
         "headers": {}, "body": "h=" + "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"}
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["classify", "--profile", str(EXAMPLE)], input=line + "\n")
    assert result.exit_code == 0, result.output
    (profile_hit,) = [
        f for f in json.loads(result.output)["findings"] if f["detector"] == "profile"
    ]
    assert profile_hit["confidence"] == 1.0
    assert "person.email found as SHA-256 (hex)" in profile_hit["reason"]


def test_classify_command_rejects_a_bad_profile_in_one_line(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[gadget]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "--profile", str(bad)], input="")
    assert result.exit_code == 1
    assert "bad.toml: unknown section [gadget]" in result.output

"""Declared vs observed: the declared-practices file, and what the report makes of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borderflow.analysis import report, store
from borderflow.analysis.detectors.categories import STORE_CATEGORIES
from borderflow.analysis.errors import InputError
from borderflow.analysis.report_declared import load_declared, store_names
from tests.conftest import REPO

EXAMPLE = REPO / "docs" / "declared.example.toml"


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_the_documented_example_loads() -> None:
    d = load_declared(EXAMPLE)
    assert d.store == "google"
    assert "Location / Approximate location" in d.collected
    assert list(d.collected) == sorted(d.collected)


def test_json_and_toml_say_the_same(tmp_path: Path) -> None:
    names = ["Contact Info / Name", "Identifiers / Device ID"]
    toml = write(tmp_path, "d.toml", f'store = "apple"\ncollected = {json.dumps(names)}\n')
    as_json = write(tmp_path, "d.json", json.dumps({"store": "apple", "collected": names}))
    assert load_declared(toml).collected == load_declared(as_json).collected


def test_every_mapped_store_name_is_accepted() -> None:
    for s in STORE_CATEGORIES.values():
        assert set(s.apple) <= store_names("apple")
        assert set(s.google) <= store_names("google")


def test_the_stores_other_spellings_of_a_name_are_accepted_as_the_canonical_one(
    tmp_path: Path,
) -> None:
    """Apple's App Store page writes "Health and fitness", its developer page "Health & Fitness"."""
    names = ["health and fitness / health", "Health & Fitness/Fitness", "CONTACT INFO / NAME"]
    d = load_declared(write(tmp_path, "d.json", json.dumps({"store": "apple", "collected": names})))
    assert d.collected == (
        "Contact Info / Name",
        "Health & Fitness / Fitness",
        "Health & Fitness / Health",
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            'store = "google"\ncollected = ["Location / Precise locaton"]',
            'did you mean "Location / Precise location"',
        ),
        (
            'store = "google"\ncollected = ["Contact Info / Name"]',
            'unknown google data type "Contact Info / Name"',
        ),
        ('store = "amazon"\ncollected = []', 'store must be "apple" or "google"'),
        ('store = "apple"\ncolected = []', 'unknown key "colected"'),
        ('store = "apple"\ncollected = "Contact Info / Name"', "must be a list"),
        ("store = [", "not valid TOML"),
    ],
)
def test_a_bad_declared_file_is_one_line_naming_the_file(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = write(tmp_path, "declared.toml", content)
    with pytest.raises(InputError) as err:
        load_declared(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert needle in message
    assert "\n" not in message


def test_a_missing_declared_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.toml: cannot read"):
        load_declared(tmp_path / "missing.toml")


def test_observed_but_undeclared_and_declared_but_unseen(
    tmp_path: Path, synthetic_db: Path
) -> None:
    path = write(
        tmp_path,
        "d.toml",
        'store = "google"\ncollected = ["Location / Precise location", '
        '"Personal info / Email address", "Calendar / Calendar events"]\n',
    )
    db = store.open_db(synthetic_db)
    declared = report.build(db, declared=load_declared(path))["declared"]
    assert declared is not None
    assert declared["store"] == "google"
    assert declared["file"] == str(path)
    undeclared = {u["category"]: u for u in declared["undeclared"]}
    assert set(undeclared) == {"identifiers.device", "contact.name", "identifiers.user"}
    assert undeclared["identifiers.device"]["store_categories"] == [
        "Device or other IDs / Device or other IDs"
    ]
    assert undeclared["identifiers.device"]["hosts"] == ["mystery.example", "us-owned.example"]
    assert declared["not_observed"] == ["Calendar / Calendar events"]


def test_without_a_declared_file_the_report_has_no_declared_section(synthetic_db: Path) -> None:
    assert report.build(store.open_db(synthetic_db))["declared"] is None

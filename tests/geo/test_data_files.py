"""The curated operator and domain tables: a source on every row, no non-redistributable
source, flags kept, parents known."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources

import pytest

from borderflow.geo import operators

DATA = resources.files("borderflow.geo") / "data"
NON_REDISTRIBUTABLE = ("disconnectme/", "duckduckgo/", "duckduckgo-android-tds")


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DATA / name).read_text(encoding="utf-8"))))


@pytest.mark.parametrize("name", ["operators.csv", "domains.csv", "parents.csv"])
def test_every_row_names_its_source_and_licence(name: str) -> None:
    for r in rows(name):
        assert r["source"].strip(), r
        assert r["licence"].strip(), r


@pytest.mark.parametrize("name", ["operators.csv", "domains.csv", "parents.csv"])
def test_no_row_rests_on_a_non_commercial_share_alike_source(name: str) -> None:
    """DuckDuckGo Tracker Radar and Disconnect are CC BY-NC-SA: not shipped in MIT code."""
    for r in rows(name):
        assert not any(s in r["source"] for s in NON_REDISTRIBUTABLE), r


def test_flags_from_the_research_are_kept_not_dropped() -> None:
    assert "LENOVO" in (operators.by_asn()[137787].flag or "")
    assert operators.by_domain()["appsflyer.com"].flag
    assert operators.by_asn()[13335].flag  # Cloudflare's HQ rests on its RIR country only
    assert operators.by_asn()[45102].flag is None


def test_every_parent_named_is_in_the_parents_table() -> None:
    parents = operators.parents()
    for r in rows("operators.csv") + rows("domains.csv"):
        assert not r["parent"] or r["parent"] in parents, r


def test_countries_are_iso_codes() -> None:
    for r in rows("parents.csv"):
        assert re.fullmatch("[A-Z]{2}", r["hq_country"]), r
    for r in rows("domains.csv"):
        assert re.fullmatch("[A-Z]{2}", r["operator_country"]), r


def test_alibaba_and_tencent_networks_belong_to_chinese_parents() -> None:
    for asn in (45102, 37963, 134963, 132203, 45090):
        op = operators.by_asn()[asn]
        assert op.parent_country == "CN", asn
    assert operators.by_asn()[45102].parent == "Alibaba Group"
    assert operators.by_asn()[132203].parent == "Tencent Holdings"
    assert operators.by_asn()[15169].parent_country == "US"

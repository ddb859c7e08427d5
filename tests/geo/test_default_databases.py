"""The acceptance check on the real default databases (``borderflow geo update``).

Runs when the pinned databases are installed in the user's geo folder (``make test`` installs
them first); skips, saying so, where they are not.
"""

from __future__ import annotations

import os

import pytest

from borderflow.geo import manifest
from borderflow.geo.attribution import Attributor
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.jurisdictions import is_cross_border
from borderflow.geo.paths import default_geo_dir
from borderflow.geo.update import pinned


@pytest.fixture(scope="module")
def attributor() -> Attributor:
    folder = default_geo_dir(os.environ)
    entries = manifest.read(folder) if folder.is_dir() else {}
    wanted = {f.output: p for p in pinned() for f in p.files}
    missing = [
        name
        for name, p in wanted.items()
        if name not in entries
        or entries[name].version != p.version
        or not manifest.intact(folder, entries[name])
    ]
    if missing:
        pytest.skip(
            f"default databases not installed in {folder} ({', '.join(missing)}): "
            "run `borderflow geo update` (make test does)"
        )
    return Attributor(GeoDatabases.open(folder))


def law_ids(fields: dict[str, object], home: str) -> tuple[bool, set[str]]:
    cross, laws = is_cross_border(fields, home)
    return cross, {law.id for law in laws}


def test_alibaba_in_frankfurt_is_cross_border_for_the_eu_under_chinese_law(
    attributor: Attributor,
) -> None:
    f = attributor.describe("8.209.64.1")
    assert f.country == "DE"
    assert f.asn == 45102
    assert f.operator is not None
    assert "Alibaba" in f.operator
    assert (f.operator_parent, f.operator_hq_country) == ("Alibaba Group", "CN")
    cross, laws = law_ids(f.fields(), "EU")
    assert cross
    assert {"cn-nil-2017", "cn-dsl-2021", "cn-pipl-2021"} <= laws


def test_a_tencent_cloud_address_is_tencents_under_chinese_law(attributor: Attributor) -> None:
    f = attributor.describe("119.28.1.1")
    assert f.country == "HK"
    assert f.asn == 132203
    assert (f.operator_parent, f.operator_hq_country) == ("Tencent Holdings", "CN")
    cross, laws = law_ids(f.fields(), "EU")
    assert cross
    assert {"cn-nil-2017", "hk-nsl-2020"} <= laws


def test_googles_resolver_is_googles_under_us_law(attributor: Attributor) -> None:
    f = attributor.describe("8.8.8.8")
    assert (f.country, f.asn) == ("US", 15169)
    assert (f.operator, f.operator_parent, f.operator_hq_country) == ("Google", "Alphabet", "US")
    cross, laws = law_ids(f.fields(), "EU")
    assert cross
    assert {"us-cloud-act", "us-fisa-702"} <= laws
    assert law_ids(f.fields(), "US") == (False, set())


def test_private_and_shared_addresses_get_no_country_from_the_real_databases(
    attributor: Attributor,
) -> None:
    for address in ("10.0.0.1", "100.64.0.1", "127.0.0.1", "::1"):
        f = attributor.describe(address)
        assert f.country is None
        assert f.registered_country is None
        assert f.asn is None

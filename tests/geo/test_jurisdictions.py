"""Cross-border for any home, from stored destination facts; the laws that reach; adequacy."""

from __future__ import annotations

import pytest

from borderflow.geo.errors import GeoError
from borderflow.geo.jurisdictions import Rules, is_cross_border

ALIBABA_IN_FRANKFURT = {"country": "DE", "operator_country": None, "operator_hq_country": "CN"}


def ids(laws: tuple[object, ...]) -> list[str]:
    return [law.id for law in laws]  # type: ignore[attr-defined]


def test_a_server_in_the_eu_run_by_a_chinese_parent_is_cross_border_with_chinas_laws() -> None:
    cross, laws = is_cross_border(ALIBABA_IN_FRANKFURT, "EU")
    assert cross
    assert {"cn-nil-2017", "cn-dsl-2021", "cn-pipl-2021"} <= set(ids(laws))
    assert all(law.jurisdiction == "CN" for law in laws)
    nil = Rules.load().law("cn-nil-2017")
    assert nil is not None
    assert "Arts. 7 and 14" in nil.citation


def test_a_server_and_operator_inside_home_is_not_cross_border() -> None:
    assert is_cross_border({"country": "DE", "operator_hq_country": "NL"}, "EU") == (False, ())


def test_location_outside_home_alone_makes_it_cross_border() -> None:
    cross, laws = is_cross_border({"country": "US", "operator_hq_country": "DE"}, "EU")
    assert cross
    assert "us-cloud-act" in ids(laws)


def test_the_hosting_networks_parent_counts_too() -> None:
    fields = {"country": "DE", "operator_hq_country": "DE", "host_hq_country": "US"}
    cross, laws = is_cross_border(fields, "EU")
    assert cross
    assert "us-fisa-702" in ids(laws)


def test_the_registry_country_never_decides() -> None:
    assert is_cross_border({"country": "DE", "registered_country": "US"}, "EU") == (False, ())


def test_unknown_facts_cannot_make_a_destination_cross_border() -> None:
    assert is_cross_border({}, "EU") == (False, ())


@pytest.mark.parametrize(
    ("home", "fields", "cross"),
    [
        ("EEA", {"country": "NO"}, False),
        ("EU", {"country": "NO"}, True),
        ("GB", {"country": "GB", "operator_hq_country": "GB"}, False),
        ("UK", {"country": "DE"}, True),
        ("US", {"country": "US", "operator_hq_country": "US"}, False),
        ("CH", {"country": "DE"}, True),
        ("EU", {"country": "RE"}, False),
    ],
)
def test_any_home_can_decide(home: str, fields: dict[str, str], cross: bool) -> None:
    assert is_cross_border(fields, home)[0] is cross


def test_eu_law_reaches_eu_servers_for_a_home_outside_the_eu() -> None:
    cross, laws = is_cross_border({"country": "DE"}, "GB")
    assert cross
    assert ids(laws) == ["eu-e-evidence"]


def test_laws_that_do_not_reach_foreign_data_are_not_listed() -> None:
    _, laws = is_cross_border({"country": "US"}, "EU")
    assert "us-eo-14086" not in ids(laws)  # a safeguard, not a power
    assert "us-doj-bulk-data" not in ids(laws)  # restricts data leaving the US
    _, hk = is_cross_border({"country": "HK"}, "EU")
    assert "hk-pdpo-s33" not in ids(hk)  # never brought into operation
    assert "hk-nsl-2020" in ids(hk)


def test_uncertain_laws_keep_their_flag() -> None:
    fisa = Rules.load().law("us-fisa-702")
    assert fisa is not None
    assert fisa.flag
    assert "sunset" in fisa.flag


def test_a_bad_home_is_a_one_line_error() -> None:
    with pytest.raises(GeoError, match="--home Europe"):
        Rules.load().home("Europe")


def test_flagged_group_members_are_inside_home_with_their_flag() -> None:
    home = Rules.load().home("EU")
    assert "AX" in home.countries
    assert "AX" in home.flags
    assert "DE" in home.countries
    assert "DE" not in home.flags


def test_adequacy_says_what_it_covers() -> None:
    rules = Rules.load()
    eu = rules.home("EU")
    us = rules.adequacy("US", eu)
    assert us is not None
    assert "Data Privacy Framework" in us.instrument
    assert "DPF" in us.scope
    assert us.flag
    assert rules.adequacy("CN", eu) is None
    jp = rules.adequacy("JP", eu)
    assert jp is not None
    assert "APPI" in jp.scope
    uk = rules.home("GB")
    assert rules.adequacy("DE", uk) is not None
    uk_us = rules.adequacy("US", uk)
    assert uk_us is not None
    assert "UK Extension" in uk_us.instrument
    assert rules.adequacy("BR", uk) is None
    assert rules.adequacy("DE", rules.home("CH")) is None


def test_every_law_has_a_citation_a_source_and_a_known_kind() -> None:
    rules = Rules.load()
    assert len(rules.laws) >= 30
    for law in rules.laws:
        assert law.citation
        assert law.source
        assert law.effect
        assert law.kind in {
            "access",
            "transfer",
            "localisation",
            "safeguard",
            "outbound",
            "not_in_force",
        }

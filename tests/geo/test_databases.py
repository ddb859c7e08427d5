"""Every supported database layout answers for IPv4 and IPv6; special addresses never get a
country; missing, corrupt and unknown databases are one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from borderflow.geo.attribution import Attributor
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.errors import GeoDatabaseError
from borderflow.geo.schemas import Facts, Role, Schema
from tests.geo.conftest import V4_ADDR, V4_NET, V6_ADDR, V6_NET, WriteMmdb


def maxmind_geo(country: str, registered: str | None, city: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "country": {"iso_code": country, "names": {"en": country, "de": country}},
    }
    if registered:
        record["registered_country"] = {"iso_code": registered, "names": {"en": registered}}
    if city:
        record["city"] = {"geoname_id": 1, "names": {"de": city + " (de)", "en": city}}
        record["location"] = {"latitude": 50.11, "longitude": 8.68}
    return record


def asn_record(asn: int, org: str) -> dict[str, Any]:
    return {"autonomous_system_number": asn, "autonomous_system_organization": org}


# (file name, database_type, IPv4 record, IPv6 record, expected IPv4 facts, expected IPv6 facts)
LAYOUTS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], Facts, Facts]] = {
    "geolite2-country": (
        "GeoLite2-Country.mmdb",
        "GeoLite2-Country",
        maxmind_geo("DE", "SG", None),
        maxmind_geo("DE", "DE", None),
        Facts(country="DE", registered_country="SG"),
        Facts(country="DE", registered_country="DE"),
    ),
    "geoip2-city": (
        "GeoIP2-City.mmdb",
        "GeoIP2-City",
        maxmind_geo("DE", "SG", "Frankfurt am Main"),
        maxmind_geo("DE", "DE", "Falkenstein"),
        Facts(country="DE", city="Frankfurt am Main", registered_country="SG"),
        Facts(country="DE", city="Falkenstein", registered_country="DE"),
    ),
    "geolite2-asn": (
        "GeoLite2-ASN.mmdb",
        "GeoLite2-ASN",
        asn_record(45102, "Alibaba (US) Technology Co., Ltd."),
        asn_record(24940, "Hetzner Online GmbH"),
        Facts(asn=45102, as_org="Alibaba (US) Technology Co., Ltd."),
        Facts(asn=24940, as_org="Hetzner Online GmbH"),
    ),
    "dbip-country-lite": (
        "dbip-country-lite-2026-06.mmdb",
        "DBIP-Country-Lite",
        {"country": {"iso_code": "DE", "is_in_european_union": True, "names": {"en": "Germany"}}},
        {"country": {"iso_code": "DE", "is_in_european_union": True, "names": {"en": "Germany"}}},
        Facts(country="DE"),
        Facts(country="DE"),
    ),
    "dbip-city-lite": (
        "dbip-city-lite-2026-06.mmdb",
        "DBIP-City-Lite",
        maxmind_geo("DE", None, "Frankfurt am Main"),
        maxmind_geo("DE", None, "Falkenstein"),
        Facts(country="DE", city="Frankfurt am Main"),
        Facts(country="DE", city="Falkenstein"),
    ),
    "dbip-asn-lite": (
        "dbip-asn-lite-2026-06.mmdb",
        "DBIP-ASN-Lite (compat=GeoLite2-ASN)",
        asn_record(45102, "Alibaba (US) Technology Co., Ltd."),
        asn_record(24940, "Hetzner Online GmbH"),
        Facts(asn=45102, as_org="Alibaba (US) Technology Co., Ltd."),
        Facts(asn=24940, as_org="Hetzner Online GmbH"),
    ),
    "ipinfo-lite": (
        "ipinfo_lite.mmdb",
        "ipinfo ipinfo_lite.mmdb",
        {
            "asn": "AS45102",
            "as_name": "Alibaba (US) Technology Co., Ltd.",
            "as_domain": "alibabagroup.com",
            "country": "Germany",
            "country_code": "DE",
            "continent": "Europe",
            "continent_code": "EU",
        },
        {"asn": "AS24940", "as_name": "Hetzner Online GmbH", "country_code": "DE"},
        Facts(country="DE", asn=45102, as_org="Alibaba (US) Technology Co., Ltd."),
        Facts(country="DE", asn=24940, as_org="Hetzner Online GmbH"),
    ),
    "ipinfo-country-asn": (
        "country_asn.mmdb",
        "ipinfo country_asn.mmdb",
        {"country": "DE", "country_name": "Germany", "asn": "AS45102", "as_name": "Alibaba"},
        {"country": "DE", "country_name": "Germany", "asn": "AS24940", "as_name": "Hetzner"},
        Facts(country="DE", asn=45102, as_org="Alibaba"),
        Facts(country="DE", asn=24940, as_org="Hetzner"),
    ),
    "ip-location-db-country": (
        "dbip-country.mmdb",
        "country ipvAll",
        {"country_code": "DE"},
        {"country_code": "DE"},
        Facts(country="DE"),
        Facts(country="DE"),
    ),
    "ip-location-db-registry": (
        "geo-whois-asn-country.mmdb",
        "country ipvAll",
        {"country_code": "SG"},
        {"country_code": "DE"},
        Facts(registered_country="SG"),
        Facts(registered_country="DE"),
    ),
    "ip-location-db-city": (
        "dbip-city.mmdb",
        "city ipvAll",
        {"country_code": "DE", "state1": "Hesse", "city": "Frankfurt am Main", "latitude": 50.1},
        {"country_code": "DE", "state1": "Saxony", "city": "Falkenstein", "latitude": 50.4},
        Facts(country="DE", city="Frankfurt am Main"),
        Facts(country="DE", city="Falkenstein"),
    ),
    "ip-location-db-asn": (
        "asn.mmdb",
        "asn ipvAll",
        asn_record(45102, "Alibaba (US) Technology Co., Ltd."),
        asn_record(24940, "Hetzner Online GmbH"),
        Facts(asn=45102, as_org="Alibaba (US) Technology Co., Ltd."),
        Facts(asn=24940, as_org="Hetzner Online GmbH"),
    ),
}

EXPECTED_SCHEMA = {
    "geolite2-country": Schema.MAXMIND_COUNTRY,
    "geoip2-city": Schema.MAXMIND_CITY,
    "geolite2-asn": Schema.MAXMIND_ASN,
    "dbip-country-lite": Schema.MAXMIND_COUNTRY,
    "dbip-city-lite": Schema.MAXMIND_CITY,
    "dbip-asn-lite": Schema.MAXMIND_ASN,
    "ipinfo-lite": Schema.IPINFO_LITE,
    "ipinfo-country-asn": Schema.IPINFO_COUNTRY_ASN,
    "ip-location-db-country": Schema.LOCATION_DB_COUNTRY,
    "ip-location-db-registry": Schema.LOCATION_DB_COUNTRY,
    "ip-location-db-city": Schema.LOCATION_DB_CITY,
    "ip-location-db-asn": Schema.MAXMIND_ASN,
}


def open_layout(mmdb: WriteMmdb, layout: str) -> GeoDatabases:
    name, database_type, v4, v6, _, _ = LAYOUTS[layout]
    path = mmdb(name, database_type, [(V4_NET, v4), (V6_NET, v6)])
    return GeoDatabases.open(path.parent)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_answers_for_ipv4_and_ipv6(mmdb: WriteMmdb, layout: str) -> None:
    *_, expected_v4, expected_v6 = LAYOUTS[layout]
    dbs = open_layout(mmdb, layout)
    assert [i.schema for i in dbs.infos] == [EXPECTED_SCHEMA[layout]]
    assert dbs.lookup(V4_ADDR) == expected_v4
    assert dbs.lookup(V6_ADDR) == expected_v6
    assert dbs.lookup("1.1.1.1") == Facts()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ipv4_only_files_answer_ipv4_and_skip_ipv6(mmdb: WriteMmdb, layout: str) -> None:
    name, database_type, v4, _, expected_v4, _ = LAYOUTS[layout]
    path = mmdb(name, database_type, [(V4_NET, v4)], ip_version=4)
    dbs = GeoDatabases.open(path.parent)
    assert dbs.infos[0].ip_version == 4
    assert dbs.lookup(V4_ADDR) == expected_v4
    assert dbs.lookup(V6_ADDR) == Facts()


def test_ipinfo_lite_is_recognised_by_its_records_whatever_its_database_type(
    mmdb: WriteMmdb,
) -> None:
    _, _, v4, v6, expected, _ = LAYOUTS["ipinfo-lite"]
    path = mmdb("lite.mmdb", "some-vendor", [(V4_NET, v4), (V6_NET, v6)])
    dbs = GeoDatabases.open(path.parent)
    assert dbs.infos[0].schema is Schema.IPINFO_LITE
    assert dbs.lookup(V4_ADDR) == expected


def test_files_share_the_work_and_separate_ipv4_ipv6_halves_are_both_asked(
    mmdb: WriteMmdb,
) -> None:
    mmdb("dbip-country-ipv4.mmdb", "country ipv4", [(V4_NET, {"country_code": "DE"})], 4)
    mmdb("dbip-country-ipv6.mmdb", "country ipv6", [(V6_NET, {"country_code": "FI"})])
    mmdb("geo-whois-asn-country.mmdb", "country ipvAll", [(V4_NET, {"country_code": "SG"})])
    path = mmdb("asn.mmdb", "asn ipvAll", [(V4_NET, asn_record(45102, "Alibaba"))])
    dbs = GeoDatabases.open(path.parent)
    assert dbs.lookup(V4_ADDR) == Facts(
        country="DE", registered_country="SG", asn=45102, as_org="Alibaba"
    )
    assert dbs.lookup(V6_ADDR) == Facts(country="FI")
    assert {r for i in dbs.infos for r in i.roles} == {Role.LOCATION, Role.REGISTRY, Role.ASN}


def test_the_users_city_database_is_asked_before_a_country_database(mmdb: WriteMmdb) -> None:
    mmdb("dbip-country.mmdb", "country ipvAll", [(V4_NET, {"country_code": "NL"})])
    path = mmdb(
        "GeoLite2-City.mmdb", "GeoLite2-City", [(V4_NET, maxmind_geo("DE", "SG", "Frankfurt"))]
    )
    dbs = GeoDatabases.open(path.parent)
    assert dbs.lookup(V4_ADDR) == Facts(country="DE", city="Frankfurt", registered_country="SG")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("100.64.1.1", "cgnat"),
        ("fd00::1", "private"),
        ("169.254.1.1", "link_local"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_special_addresses_are_answered_as_such_never_as_a_country(
    mmdb: WriteMmdb, address: str, kind: str
) -> None:
    world = maxmind_geo("US", "US", "Anywhere")
    everywhere = ["::/1", "8000::/1", "0.0.0.0/1", "128.0.0.0/1"]
    path = mmdb("GeoLite2-City.mmdb", "GeoLite2-City", [(net, world) for net in everywhere])
    facts = Attributor(GeoDatabases.open(path.parent)).describe(address, "api.google.com")
    assert facts.address_kind == kind
    assert facts.country is None
    assert facts.registered_country is None
    assert facts.operator is None
    assert facts.laws == ()
    assert facts.domain == "google.com"


def test_a_missing_folder_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "nope"
    with pytest.raises(GeoDatabaseError) as err:
        GeoDatabases.open(folder)
    assert str(folder) in str(err.value)
    assert "geo update" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a database" * 100, b"\xab\xcd\xefMaxMind.com" + b"\x00" * 40],
    ids=["empty", "text", "bad-metadata"],
)
def test_a_corrupt_database_is_a_one_line_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    path.write_bytes(content)
    with pytest.raises(GeoDatabaseError) as err:
        GeoDatabases.open(tmp_path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_a_truncated_database_is_a_one_line_error(mmdb: WriteMmdb) -> None:
    path = mmdb("GeoLite2-City.mmdb", "GeoLite2-City", [(V4_NET, maxmind_geo("DE", "SG", "F"))])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] + data[-200:])
    with pytest.raises(GeoDatabaseError) as err:
        GeoDatabases.open(path.parent).lookup(V4_ADDR)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_a_database_of_unknown_layout_is_refused_with_its_type(mmdb: WriteMmdb) -> None:
    path = mmdb("weird.mmdb", "Acme-Weather", [(V4_NET, {"temperature": 21})])
    with pytest.raises(GeoDatabaseError, match="Acme-Weather") as err:
        GeoDatabases.open(path.parent)
    assert str(path) in str(err.value)


def test_an_empty_folder_has_no_databases(tmp_path: Path) -> None:
    dbs = GeoDatabases.open(tmp_path)
    assert dbs.infos == ()
    assert dbs.lookup(V4_ADDR) == Facts()


def test_licences_ask_for_attribution_by_publisher(mmdb: WriteMmdb) -> None:
    mmdb("dbip-country-lite.mmdb", "DBIP-Country-Lite", [(V4_NET, {"country": {"iso_code": "DE"}})])
    path = mmdb("GeoLite2-ASN.mmdb", "GeoLite2-ASN", [(V4_NET, asn_record(1, "x"))])
    lines = GeoDatabases.open(path.parent).attributions()
    assert any("DB-IP" in line for line in lines)
    assert any("GeoLite2 data created by MaxMind" in line for line in lines)

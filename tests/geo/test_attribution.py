"""Who decides the operator: the network, or the hostname when the network is a cloud or CDN."""

from __future__ import annotations

import pytest

from borderflow.geo.attribution import Attributor
from borderflow.geo.databases import GeoDatabases
from tests.geo.conftest import write_mmdb

NETWORKS = {
    "43.0.0.0/16": (45090, "Shenzhen Tencent Computer Systems Company Limited", "CN"),
    "52.0.0.0/16": (16509, "Amazon.com, Inc.", "DE"),
    "8.209.64.0/18": (45102, "Alibaba (US) Technology Co., Ltd.", "DE"),
    "198.51.0.0/16": (64500, "Small Hoster", "FR"),
}


@pytest.fixture(scope="module")
def attributor(tmp_path_factory: pytest.TempPathFactory) -> Attributor:
    folder = tmp_path_factory.mktemp("geo")
    write_mmdb(
        folder / "asn.mmdb",
        "asn ipvAll",
        [
            (net, {"autonomous_system_number": a, "autonomous_system_organization": o})
            for net, (a, o, _) in NETWORKS.items()
        ],
    )
    write_mmdb(
        folder / "dbip-country.mmdb",
        "country ipvAll",
        [(net, {"country_code": c}) for net, (_, _, c) in NETWORKS.items()],
    )
    return Attributor(GeoDatabases.open(folder))


def test_a_first_party_network_decides(attributor: Attributor) -> None:
    f = attributor.describe("43.0.0.1", "weixin.qq.com")
    assert (f.operator_parent, f.attributed_by, f.host_operator) == (
        "Tencent Holdings",
        "asn",
        None,
    )
    assert f.domain == "qq.com"


def test_on_a_cloud_the_hostname_decides_and_the_cloud_is_kept_as_host(
    attributor: Attributor,
) -> None:
    f = attributor.describe("52.0.0.7", "graph.facebook.com")
    assert f.operator == "Meta (Facebook)"
    assert f.operator_parent == "Meta Platforms"
    assert f.attributed_by == "domain"
    assert f.host_operator == "Amazon Web Services / CloudFront"
    assert f.host_hq_country == "US"
    assert f.country == "DE"


def test_a_chinese_service_on_alibaba_cloud_in_germany_reaches_chinese_law(
    attributor: Attributor,
) -> None:
    f = attributor.describe("8.209.64.1", "api.qq.com")
    assert (f.operator_parent, f.operator_hq_country, f.attributed_by) == (
        "Tencent Holdings",
        "CN",
        "domain",
    )
    assert f.host_operator == "Alibaba Cloud (international regions)"
    assert "cn-nil-2017" in f.laws


def test_on_its_own_groups_cloud_the_hostnames_owner_operates_and_the_cloud_hosts(
    attributor: Attributor,
) -> None:
    f = attributor.describe("8.209.64.1", "g.alicdn.com")
    assert (f.operator, f.attributed_by, f.host_operator) == (
        "Alibaba Group",
        "domain",
        "Alibaba Cloud (international regions)",
    )


def test_an_unknown_network_leaves_it_to_the_hostname(attributor: Attributor) -> None:
    f = attributor.describe("198.51.0.9", "app-measurement.com")
    assert (f.operator, f.attributed_by) == ("Firebase", "domain")
    assert f.asn == 64500
    assert f.as_org == "Small Hoster"
    assert set(f.laws) >= {"us-cloud-act"}


def test_nothing_known_means_no_operator(attributor: Attributor) -> None:
    f = attributor.describe("198.51.0.9", "www.example.org")
    assert f.operator is None
    assert f.attributed_by is None
    assert f.laws == ("eu-e-evidence",)  # FR: only EU-wide law on file


def test_without_databases_the_hostname_still_attributes() -> None:
    f = Attributor(None).describe("203.0.114.5", "mapi.alipayobjects.com")
    assert f.country is None
    assert (f.operator, f.operator_parent, f.attributed_by) == ("Alipay", "Ant Group", "domain")
    assert f.operator_flag  # the research flags the Alibaba/Ant Group attribution


def test_ipv4_mapped_addresses_are_looked_up_as_ipv4(attributor: Attributor) -> None:
    f = attributor.describe("::ffff:8.209.64.1")
    assert f.address == "8.209.64.1"
    assert f.asn == 45102
    assert f.country == "DE"


def test_laws_cover_every_jurisdiction_involved(attributor: Attributor) -> None:
    f = attributor.describe("52.0.0.7", "graph.facebook.com")
    assert "us-cloud-act" in f.laws
    assert not any(law.startswith("cn-") for law in f.laws)

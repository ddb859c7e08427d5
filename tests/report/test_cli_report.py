"""``borderflow report`` and ``borderflow diff``: formats, output files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.conftest import KA, KB
from tests.test_cli import assert_one_line_error, run


def test_report_json_to_stdout_is_the_documented_format(demo_db: Path) -> None:
    result = run("report", "--db", str(demo_db), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "borderflow-report/1"
    assert data["scope"]["database"] == "demo.db"
    assert data["headline"]["connections"] == 10


def test_report_format_follows_the_output_suffix(synthetic_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    result = run("report", "--db", str(synthetic_db), "-o", str(out), "--capture", KA)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Cross-border data-flow report")
    assert result.stdout == ""
    as_json = tmp_path / "r.json"
    assert run("report", "--db", str(synthetic_db), "-o", str(as_json)).exit_code == 0
    assert json.loads(as_json.read_text(encoding="utf-8"))["scope"]["captures"][1]["id"] == KB


def test_report_home_and_declared_reach_the_markdown(synthetic_db: Path, tmp_path: Path) -> None:
    declared = tmp_path / "d.json"
    declared.write_text(json.dumps({"store": "apple", "collected": ["Contact Info / Name"]}))
    result = run(
        "report",
        "--db",
        str(synthetic_db),
        "--home",
        "GB",
        "--declared",
        str(declared),
        "--format",
        "md",
    )
    assert result.exit_code == 0, result.output
    assert "judged from home GB (United Kingdom)" in result.stdout
    assert "## Declared vs observed (Apple App Privacy)" in result.stdout
    assert (
        "| location.precise | Location / Precise Location | 3 | track.cn.example |" in result.stdout
    )


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--db", "{tmp}/missing.db"], ["missing.db: no such database"]),
        (["--capture", "KNOPE"], ["--capture KNOPE: no such capture"]),
        (["--home", "Atlantis"], ["--home Atlantis: not EU, EEA, GB"]),
        (["--declared", "{tmp}/nope.toml"], ["nope.toml: cannot read the declared practices"]),
        (["--declared", "{tmp}/bad.toml"], ["bad.toml: unknown apple data type"]),
        (["--db", "{tmp}/not-a-db.db"], ["not-a-db.db: not a borderflow database"]),
    ],
)
def test_report_errors_are_one_line(
    synthetic_db: Path, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    (tmp_path / "bad.toml").write_text('store = "apple"\ncollected = ["Location / Precise"]\n')
    (tmp_path / "not-a-db.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    expanded = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--db" not in expanded:
        expanded += ["--db", str(synthetic_db)]
    assert_one_line_error(run("report", "--format", "json", *expanded), *needles)


def test_report_does_not_create_a_missing_database(tmp_path: Path) -> None:
    run("report", "--db", str(tmp_path / "missing.db"), "--format", "json")
    assert not (tmp_path / "missing.db").exists()


def test_diff_prints_the_changes_as_text_markdown_or_json(synthetic_db: Path) -> None:
    text = run("diff", KA, KB, "--db", str(synthetic_db))
    assert text.exit_code == 0, text.output
    assert "Categories newly sent:\n  identifiers.user" in text.stdout
    md = run("diff", KA, KB, "--db", str(synthetic_db), "--format", "md")
    assert md.stdout.startswith("# What changed between two captures")
    data = json.loads(run("diff", KA, KB, "--db", str(synthetic_db), "--format", "json").stdout)
    assert data["format"] == "borderflow-diff/1"
    assert (data["a"]["id"], data["b"]["id"]) == (KA, KB)


def test_diff_errors_are_one_line(synthetic_db: Path, tmp_path: Path) -> None:
    assert_one_line_error(run("diff", KA, "KZZ", "--db", str(synthetic_db)), "KZZ: no such capture")
    assert_one_line_error(
        run("diff", KA, KB, "--db", str(synthetic_db), "--home", "XX1"), "--home XX1"
    )
    assert_one_line_error(
        run("diff", KA, KB, "--db", str(tmp_path / "none.db")), "none.db: no such database"
    )

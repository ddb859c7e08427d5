"""The command line: outputs, filters, and one-line errors (exit 1, no traceback) on bad input."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from borderflow.analysis.cli import cli

HAR = "mitmproxy/test/mitmproxy/data/flows/successful_log.har"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def replayed(shared_captures: Path, tmp_path: Path) -> Path:
    db = tmp_path / "t.db"
    result = run("replay", str(shared_captures / HAR), "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help(command: str) -> None:
    group = cli
    assert isinstance(group, click.Group)
    assert group.commands[command].help, f"{command} is missing its help"
    assert run(command, "--help").exit_code == 0


def test_classify_prints_one_line_per_message_with_findings() -> None:
    lines = [
        {
            "id": "a",
            "direction": "request",
            "method": "POST",
            "url": "https://x.test/c",
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"email": "jane.doe@example.com"}),
        },
        {
            "id": "b",
            "direction": "request",
            "method": "GET",
            "url": "https://x.test/?q=1",
            "headers": [],
            "body": "",
        },
    ]
    result = run("classify", "-", input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    (email,) = [f for f in out[0]["findings"] if f["category"] == "contact.email"]
    assert "jane.doe@example.com" not in email["evidence"]
    assert "value" not in email
    assert set(email) == {"category", "detector", "location", "confidence", "reason", "evidence"}
    assert out[1]["findings"] == []


def test_classify_show_values_adds_the_matched_value() -> None:
    body = base64.b64encode(b"email=jane.doe%40example.com").decode()
    line = {
        "id": 1,
        "direction": "request",
        "method": "POST",
        "url": "https://x.test/",
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "body": body,
        "body_encoding": "base64",
    }
    result = run("classify", "--show-values", input=json.dumps(line) + "\n")
    assert result.exit_code == 0, result.output
    (found,) = [
        f for f in json.loads(result.output)["findings"] if f["category"] == "contact.email"
    ]
    assert found["value"] == "jane.doe@example.com"


def test_classify_reports_a_malformed_line_by_number_and_goes_on() -> None:
    good = json.dumps({"id": "ok", "body": "mail me: jane.doe@example.com"})
    result = CliRunner().invoke(cli, ["classify"], input=f"{good}\n{{not json\n{good}\n")
    assert result.exit_code == 1
    assert "line 2" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["ok", "ok"]


def test_replay_of_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mitm"
    assert_one_line_error(
        run("replay", str(missing), "--db", str(tmp_path / "t.db")), str(missing), "no such file"
    )


def test_replay_of_a_corrupt_flow_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mitm"
    bad.write_bytes(b"12345:garbage that is not a tnetstring" * 10)
    assert_one_line_error(run("replay", str(bad), "--db", str(tmp_path / "t.db")), str(bad))


def test_replay_with_a_profile_attributes_the_planted_values_it_finds(tmp_path: Path) -> None:
    """The demo's SDKs send the test phone's IMEI: with the profile, each is a finding of
    detector ``profile`` (it was planted), besides what the pattern detectors say."""
    demo = Path(__file__).parent.parent / "captures" / "demo.mitm"
    profile = tmp_path / "pixel7.toml"
    profile.write_text('[device]\nimei = "490154203237518"\n', encoding="utf-8")
    db = tmp_path / "t.db"
    assert run("replay", str(demo), "--db", str(db), "--profile", str(profile)).exit_code == 0
    found = json.loads(run("findings", "--db", str(db), "--json").output)
    planted = {(f["host"], f["location"]) for f in found if f["detector"] == "profile"}
    assert planted == {
        ("mobilegw.alipay.com", "body/form:requestData/json:$[0].imei"),
        ("ulogs.umeng.com", "body/gzip/json:$.header.imei"),
        ("android.bugly.qq.com", "body/json:$.deviceId"),
    }
    assert all(f["category"] == "identifiers.device" for f in found if f["detector"] == "profile")


@pytest.mark.parametrize("command", ["replay", "proxy"])
def test_a_missing_profile_is_a_one_line_error_before_anything_runs(
    tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "pixel7.toml"
    db = tmp_path / "t.db"
    args = [str(tmp_path / "nothing.mitm")] if command == "replay" else []
    result = run(command, *args, "--db", str(db), "--profile", str(missing))
    assert_one_line_error(result, str(missing), "cannot read the profile")


def test_replay_into_a_missing_folder_is_a_one_line_error(
    shared_captures: Path, tmp_path: Path
) -> None:
    db = tmp_path / "no" / "such" / "t.db"
    assert_one_line_error(run("replay", str(shared_captures / HAR), "--db", str(db)), str(db))


@pytest.mark.parametrize("command", ["flows", "findings", "summary"])
def test_query_on_a_missing_database_is_a_one_line_error(tmp_path: Path, command: str) -> None:
    db = tmp_path / "missing.db"
    assert_one_line_error(run(command, "--db", str(db)), str(db), "no such database")
    assert not db.exists(), "a query must not create the database"


def test_query_on_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    db.write_text("hello " * 1000)
    assert_one_line_error(run("flows", "--db", str(db)), str(db))


def test_replay_prints_what_it_wrote_and_a_second_run_changes_nothing(
    shared_captures: Path, tmp_path: Path
) -> None:
    db = tmp_path / "t.db"
    first = run("replay", str(shared_captures / HAR), "--db", str(db))
    assert first.exit_code == 0
    assert "rows" in first.output
    second = run("replay", str(shared_captures / HAR), "--db", str(db))
    assert second.exit_code == 0
    assert "already in" in second.output


def test_flows_json_lists_every_connection(replayed: Path) -> None:
    result = run("flows", "--db", str(replayed), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["server_name"] for r in rows} == {"example.com", "httpbin.org"}
    assert all(r["requests"] == 1 for r in rows)


def test_flows_host_filter_keeps_only_that_host(replayed: Path) -> None:
    rows = json.loads(run("flows", "--db", str(replayed), "--json", "--host", "httpbin.org").output)
    assert [r["server_name"] for r in rows] == ["httpbin.org"]


def test_flows_csv_has_a_header_and_a_row_per_connection(replayed: Path) -> None:
    result = run("flows", "--db", str(replayed), "--csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 2
    assert "server_name" in rows[0]


def test_flows_nl_prints_one_json_object_per_line(replayed: Path) -> None:
    lines = run("flows", "--db", str(replayed), "--nl").output.splitlines()
    assert len(lines) == 2
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_flows_table_is_the_default(replayed: Path) -> None:
    result = run("flows", "--db", str(replayed))
    assert result.exit_code == 0
    assert "httpbin.org" in result.output


def test_findings_category_filter_matches_a_prefix(replayed: Path) -> None:
    every = json.loads(run("findings", "--db", str(replayed), "--json").output)
    contact = json.loads(
        run("findings", "--db", str(replayed), "--json", "--category", "contact").output
    )
    assert all(r["category"].startswith("contact.") for r in contact)
    assert len(contact) == sum(r["category"].startswith("contact.") for r in every)


def test_summary_json_counts_connections_and_requests(replayed: Path) -> None:
    data = json.loads(run("summary", "--db", str(replayed), "--json").output)
    assert data["connections"] == 2
    assert data["requests"] == 2
    assert len(data["captures"]) == 1


def test_summary_for_people_names_the_database(replayed: Path) -> None:
    result = run("summary", "--db", str(replayed))
    assert result.exit_code == 0
    assert str(replayed) in result.output.replace("\n", "")


def test_proxy_refuses_a_database_in_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "x.db"
    assert_one_line_error(run("proxy", "--db", str(db), "--listen-port", "0"), str(db))

"""report_diff.compare: what changed between two captures, in the report's terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderflow.analysis import report, report_diff, store
from tests.report.conftest import KA, KB


@pytest.fixture
def changes(synthetic_db: Path) -> report_diff.Diff:
    return report_diff.compare(store.open_db(synthetic_db), KA, KB, database_name="s.db")


def test_categories_newly_sent_no_longer_sent_and_changed(changes: report_diff.Diff) -> None:
    status = {c["category"]: c for c in changes["categories"]}
    assert status["identifiers.user"]["status"] == "new"
    assert status["identifiers.user"]["hosts_added"] == ["track.cn.example"]
    assert status["contact.name"]["status"] == "gone"
    assert status["identifiers.device"]["status"] == "gone"
    precise = status["location.precise"]
    assert (precise["status"], precise["findings_a"], precise["findings_b"]) == ("changed", 2, 1)
    assert precise["hosts_added"] == precise["hosts_removed"] == []


def test_a_category_moved_abroad_shows_its_hosts_and_cross_border_change(
    changes: report_diff.Diff,
) -> None:
    email = next(c for c in changes["categories"] if c["category"] == "contact.email")
    assert email["hosts_added"] == ["newsdk.example"]
    assert email["hosts_removed"] == ["shop.eu.example"]
    assert (email["cross_border_a"], email["cross_border_b"]) == (False, True)


def test_destinations_new_and_gone_with_country_and_operator(changes: report_diff.Diff) -> None:
    by_host = {d["host"]: d for d in changes["destinations"]}
    assert "track.cn.example" not in by_host  # in both, unchanged
    new = by_host["newsdk.example"]
    assert new["status"] == "new"
    assert new["a"] is None
    assert new["b"] is not None
    assert (new["b"]["countries"], new["b"]["operators"]) == (["US"], ["Amazon"])
    assert by_host["pinned.example"]["status"] == "gone"
    assert by_host["192.0.2.1"]["status"] == "gone"  # a connection without a name


def test_jurisdictions_and_totals(changes: report_diff.Diff) -> None:
    countries = {j["country"]: j["status"] for j in changes["jurisdictions"]}
    assert countries == {"CN": "same", "GB": "gone", "US": "same"}  # CN: 2 findings in each
    assert changes["totals_a"]["connections"] == 7
    assert changes["totals_b"]["cross_border_findings"] == 3


def test_text_and_markdown_name_the_changes(changes: report_diff.Diff) -> None:
    text = report_diff.render_text(changes)
    assert "  identifiers.user (1) to track.cn.example" in text
    assert "  new newsdk.example: US, Amazon, cross-border" in text
    assert "no longer to shop.eu.example" in text
    md = report_diff.render_md(changes)
    assert "## Categories newly sent" in md
    assert "- identifiers.user (1) to track.cn.example" in md


def test_a_capture_against_itself_changes_nothing(synthetic_db: Path) -> None:
    same = report_diff.compare(store.open_db(synthetic_db), KA, KA)
    assert same["destinations"] == []
    assert {c["status"] for c in same["categories"]} == {"same"}


def test_an_unknown_capture_id_is_refused(synthetic_db: Path) -> None:
    with pytest.raises(report.ReportError, match="KZZ: no such capture"):
        report_diff.compare(store.open_db(synthetic_db), KA, "KZZ")

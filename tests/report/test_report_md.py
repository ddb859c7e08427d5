"""report_md: the Markdown report shows the report's facts, and nothing from traffic can
break out of its table cell or become markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from borderflow.analysis import report, report_md, store
from borderflow.analysis.records import Record
from tests.report.conftest import KA, capture, conn, dest, finding, http, write_db

HOSTILE = (
    "a|b `code` <script>alert(1)</script> [x](javascript:alert(1)) https://evil.example"
    " @admin #1 $x$\n| forged | row |"
)


def hostile_records() -> list[Record]:
    return [
        capture(KA, 1000.0),
        conn("C1", KA, 1001, "203.0.113.5", "evil|`x`<script>.example"),
        dest("203.0.113.5", "evil|`x`<script>.example", country="CN", operator=HOSTILE),
        http("C1", 1001, "evil|`x`<script>.example", uri="/p?q=" + HOSTILE),
        finding(
            "C1",
            1001.5,
            "contact.email",
            location="header:x-" + HOSTILE,
            evidence="<img src=x onerror=alert(1)>|`",
            reason=HOSTILE,
        ),
    ]


@pytest.fixture
def hostile_md(tmp_path: Path) -> str:
    db = store.open_db(write_db(tmp_path / "h.db", hostile_records()))
    return report_md.render(report.build(db, database_name="h.db"))


def unescaped(char: str, line: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(char), line))


def test_hostile_strings_cannot_add_html(hostile_md: str) -> None:
    assert "<script" not in hostile_md
    assert "<img" not in hostile_md
    assert "&lt;script&gt;" in hostile_md


def test_hostile_strings_cannot_open_code_spans_links_or_mentions(hostile_md: str) -> None:
    assert unescaped("`", hostile_md) == 0
    assert unescaped("[", hostile_md) == 0
    assert unescaped("@", hostile_md) == 0
    assert unescaped("$", hostile_md) == 0
    assert "\\[x\\](javascript" in hostile_md
    assert "https://" not in hostile_md  # a URL from traffic is not made a link


def test_hostile_strings_stay_in_their_table_cell(hostile_md: str) -> None:
    tables: list[list[str]] = [[]]
    for line in hostile_md.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    assert any("forged" in line for t in tables for line in t)
    for table in tables:
        if table:
            widths = {unescaped("|", line) for line in table}
            assert len(widths) == 1, table
    assert not any(line.startswith("| forged") for line in hostile_md.splitlines())


def test_text_escapes_each_kind_of_markup() -> None:
    assert report_md.text("a|b") == "a\\|b"
    assert report_md.text("x\ny\r\tz") == "x y z"
    assert report_md.text("*bold* _it_ ~s~") == "\\*bold\\* \\_it\\_ \\~s\\~"
    assert report_md.text("<b>&") == "&lt;b&gt;&amp;"
    assert report_md.text(None) == ""


def test_markdown_carries_headline_categories_and_not_inspected(synthetic_db: Path) -> None:
    db = store.open_db(synthetic_db)
    md = report_md.render(report.build(db, database_name="s.db"))
    assert md.startswith("# Cross-border data-flow report\n")
    assert "- **9** pieces of personal data sent, in **5** categories" in md
    assert "\n1 finding in 1 connection, " in md  # not "1 findings in 1 connections"
    assert "### location.precise" in md
    assert "| track.cn.example | 203.0.113.5 | CN | Tencent Cloud → Tencent Holdings (CN) |" in md
    assert (
        "| pinned\\_tls | pinned.example | 203.0.113.9 | US | Amazon | **yes** | 1 | 517 | 0 |"
        in md
    )
    assert "| us-cloud-act | US |" in md
    assert "## Laws that reach these destinations" in md

"""The HTML report of the demo capture in headless Chromium: no console error, no request but
the file itself, the diagram and the tables there; the screenshot is kept as an artifact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from borderflow.analysis import report, store
from borderflow.analysis.data.countries import COUNTRIES
from borderflow.analysis.replay import replay_file
from borderflow.analysis.report_html import render
from tests.conftest import REPO
from tests.report.chromium import Chromium, chromium_path

ARTIFACTS = REPO / "tests" / "artifacts"
PROBLEMS = {"Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):  # CI installs it (.ci/run): a skip there would hide that
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def test_demo_report_opens_in_chromium_without_errors_or_requests(
    chromium: str, tmp_path: Path
) -> None:
    # The demo as `make demo` replays it: with the installed geolocation data when there is
    # some (`make test` installs it), so the map has its markers.
    demo_db = tmp_path / "demo.db"
    replay_file(REPO / "captures" / "demo.mitm", demo_db, app="com.example.wallet")
    db = store.open_db(demo_db)
    try:
        built = report.build(db, database_name="demo.db")
    finally:
        db.close()
    page = tmp_path / "demo-report.html"
    page.write_text(render(built), encoding="utf-8")
    url = page.as_uri()

    with Chromium(chromium, width=1200, height=1000) as browser:
        browser.open(url)
        counts = browser.evaluate(
            "JSON.stringify({svg: document.querySelectorAll('svg').length,"
            " flows: document.querySelectorAll('#flows svg path').length,"
            " markers: document.querySelectorAll('#map svg circle').length,"
            " tables: document.querySelectorAll('table').length,"
            " rows: document.querySelectorAll('tbody tr').length,"
            " resources: performance.getEntriesByType('resource').length})"
        )
        shot = browser.screenshot(ARTIFACTS / "demo-report.png", full_page=True)
        events = list(browser.events)

    requests = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    assert requests == [url], f"the page asked for more than itself: {requests}"
    problems = [e for e in events if e["method"] in PROBLEMS]
    assert problems == [], problems
    found = json.loads(counts)
    assert found["svg"] == 2
    assert found["flows"] > 0
    located = [g for g in built["geography"] if g["country"] in COUNTRIES]
    assert found["markers"] == 2 * len(located)  # a disc and its centre dot per country
    assert found["tables"] >= 8
    assert found["rows"] > 10
    assert found["resources"] == 0
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")

"""The HTML report: structure, escaping of everything from traffic, no external reference,
the same bytes every time."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from borderflow.analysis import report, store
from borderflow.analysis.report_html import anchor, render
from tests.report.fixtures import HOSTILE, empty_report, sample_report

# Elements that run script, fetch, embed or navigate; none may appear anywhere in the page.
FORBIDDEN = {
    *("script", "img", "iframe", "frame", "object", "embed", "applet", "base", "form"),
    *("input", "button", "textarea", "video", "audio", "source", "track", "picture"),
    *("foreignobject", "image", "use", "animate", "set", "portal", "noscript", "template"),
}
URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction", "data", "poster", "srcset"}
URL_ATTRS |= {"background", "cite", "longdesc", "ping", "manifest", "codebase"}


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def ids(self) -> set[str]:
        return {a["id"] or "" for _, a in self.tags if a.get("id")}


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def sample_html() -> str:
    return render(sample_report())


def test_report_has_every_section_the_issue_asks_for(sample_html: str) -> None:
    page = parse(sample_html)
    ids = page.ids()
    for section in (
        *("headline", "flows", "map", "categories", "not-inspected", "declared"),
        *("connections", "laws", "scope"),
    ):
        assert section in ids, section
    tags = [t for t, _ in page.tags]
    assert tags.count("svg") == 2  # the flow diagram and the map
    assert tags.count("table") >= 8
    text = " ".join(page.text)
    assert "not seen does not mean not sent" in text.lower()
    assert "Alibaba Group" in text
    assert "Germany (DE)" in text
    assert "4901...(15 digits)" in text
    assert "body/form:requestData/json:$[0].imei" in text
    assert "663903b646c68f841a49c92e9b1d0ee245bee8b1d2f5019f1d8ed45c831b058d" in text


def test_hostile_strings_from_traffic_are_shown_as_text_and_never_become_markup(
    sample_html: str,
) -> None:
    page = parse(sample_html)
    for tag, attrs in page.tags:
        assert tag not in FORBIDDEN, tag
        for name in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in {"style", "srcdoc"}, (tag, name)
        if tag == "meta":
            assert (attrs.get("http-equiv") or "").lower() != "refresh"
    text = "".join(page.text)
    for payload in HOSTILE:
        assert payload in text, payload  # visible to the reader, literally
    # Nothing left the style element, and nothing reached it.
    assert len(page.styles) == 1
    assert "alert" not in page.styles[0]
    assert sample_html.count("<style>") == 1
    assert sample_html.count("</style>") == 1


def test_links_stay_inside_the_page_and_point_at_something(sample_html: str) -> None:
    page = parse(sample_html)
    ids = page.ids()
    links = 0
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name not in URL_ATTRS:
                continue
            assert value is not None
            if tag == "link":  # the favicon, so that no browser asks for /favicon.ico
                assert attrs.get("rel") == "icon"
                assert value == "data:,"
                continue
            assert name == "href", (tag, name, value)
            assert value.startswith("#"), (tag, name, value)
            assert value[1:] in ids, value
            assert re.fullmatch(r"#[A-Za-z0-9_-]+", value), value
            links += 1
    assert links > 10
    # Every connection cited as evidence has its row, the hostile uid included.
    for c in sample_report()["categories"]:
        for v in c["evidence"]:
            assert anchor("conn", v["uid"]) in ids


def test_no_external_reference_of_any_kind(sample_html: str) -> None:
    page = parse(sample_html)
    css = page.styles[0]
    assert "@import" not in css
    assert "url(" not in css.replace("url(data:", "")
    assert "@font-face" not in css
    for _, attrs in page.tags:
        for name, value in attrs.items():
            if name == "xmlns":  # SVG's namespace name: an identifier, never fetched
                assert value == "http://www.w3.org/2000/svg"
                continue
            if value and name in URL_ATTRS:
                assert not re.match(r"\s*(https?:|//|ftp:|file:|javascript:)", value, re.I)
    # The same on the raw markup, inside tags only (traffic text is escaped, so has no "<").
    tags = re.findall(r"<[^>]*>", sample_html)
    fetching = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:|//)""", re.I)
    assert [t for t in tags if fetching.search(t)] == []
    csp = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp
    assert "default-src 'none'" in (csp[0]["content"] or "")


def test_rendering_is_deterministic() -> None:
    first = render(sample_report())
    assert render(copy.deepcopy(sample_report())) == first
    assert render(sample_report()) == first


def test_an_empty_report_says_so_in_every_section() -> None:
    html = render(empty_report())
    page = parse(html)
    text = " ".join(page.text)
    assert "Every connection was decrypted" in text
    assert "No declaration was given" in text
    assert "nothing to draw" in text
    assert [t for t, _ in page.tags].count("svg") == 0


def test_not_inspected_connections_are_stated_plainly(sample_html: str) -> None:
    text = " ".join(parse(sample_html).text)
    assert "3 connections could not be read" in text
    assert "certificate pinning" in text
    assert "mdap.alipay.com" in text


def test_the_demo_database_renders(demo_db: Path) -> None:
    db = store.open_db(demo_db)
    try:
        built = report.build(db, database_name="demo.db")
    finally:
        db.close()
    html = render(built)
    page = parse(html)
    assert {"headline", "flows", "map", "categories", "connections"} <= page.ids()
    assert [t for t, _ in page.tags].count("svg") == 2
    for c in built["categories"]:
        for v in c["evidence"]:
            assert anchor("conn", v["uid"]) in page.ids()
    text = " ".join(page.text)
    assert "mobilegw.alipay.com" in text
    assert "tcp.example-pay.test" in text  # the opaque connection, under not inspected

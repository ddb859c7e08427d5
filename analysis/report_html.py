"""The report as one self-contained HTML file, for people who read it and attach it to complaints.

Everything is in the file: inline CSS, the flow diagram and the map as inline SVG computed
here, no script, no font, no image and no link to anything outside the page; a Content
Security Policy in the page forbids fetching anything at all, so even a mistake here could not
make the page reach the network. It prints: every section starts on a new page, nothing is
hidden, table rows are not split and links are their own text (connection uids, law ids).

Every string taken from the database is hostile: traffic put hosts, URIs, evidence and reasons
there, and anyone can write a database. ``e()`` escapes it for text and for quoted attributes
alike, anchors are derived by ``anchor()`` (a fixed alphabet), and nothing from the database
ever goes into a URL, a script, a style or an event attribute.

Deterministic: the same report gives the same bytes (no clock, every list in the model's order
or sorted with a full tie-break).
"""

from __future__ import annotations

import datetime
import hashlib
import html
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from borderflow.analysis.data.countries import COUNTRIES, country_name
from borderflow.analysis.report_model import (
    Category,
    CategoryDestination,
    Declared,
    Evidence,
    FlowLink,
    LawInfo,
    NotInspected,
    Report,
    Where,
    noun,
)

# What each reason for not reading a connection means, in words a reader can cite.
WHY = {
    "pinned_tls": "the app rejected the interception certificate (certificate pinning or an"
    " untrusted CA): only the server name, address and byte counts are known",
    "passed_through": "forwarded without inspection because the host had rejected interception"
    " before (pinning), so the app kept working",
    "no_key_log": "a captured TLS connection without the keys to decrypt it",
    "not_tls": "an opaque protocol (not TLS or HTTP) whose content could not be decoded",
    "server_tls_failed": "the TLS handshake with the server failed",
    "connect_failed": "the connection to the server failed",
    "incomplete": "the connection ended before its content could be read",
}
JURISDICTION_NAMES = {"EU": "European Union", "EEA": "European Economic Area"}

_ANCHOR_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_NODES = 14  # per column of the flow diagram; the rest is drawn as one "others" node

CSS = """
:root { --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --soft: #f6f8fa;
  --cross: #b42318; --cross-soft: #fdecea; --home: #47607a; --home-soft: #a9bccf; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
header.report { border-bottom: 3px solid var(--ink); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 24px 0 6px; }
p { margin: 6px 0 10px; max-width: 80ch; }
.sub { color: var(--muted); margin: 0; }
nav.toc { font-size: 13px; color: var(--muted); margin: 10px 0 0; }
nav.toc a { color: var(--muted); margin-right: 14px; }
a { color: #0b57a4; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
  monospace; font-size: 12.5px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--rule); }
th { background: var(--soft); font-weight: 600; border-bottom: 1px solid #8c959f; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
.when, a.mono { white-space: nowrap; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr));
  gap: 10px; margin: 14px 0 18px; }
.figure { border: 1px solid var(--rule); border-radius: 4px; padding: 6px 10px; }
.figure .n { display: block; font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.figure .l { display: block; font-size: 12.5px; color: var(--muted); }
.figure.cross { border-color: var(--cross); background: var(--cross-soft); }
.figure.cross .n { color: var(--cross); }
.lead { font-size: 16px; max-width: 90ch; }
.badge { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 0 6px;
  border-radius: 3px; border: 1px solid var(--rule); color: var(--muted); white-space: nowrap; }
.badge.cross { color: var(--cross); border-color: var(--cross); background: var(--cross-soft); }
.notice { border-left: 4px solid var(--cross); background: var(--cross-soft); padding: 8px 12px;
  margin: 12px 0; max-width: 90ch; }
.note { color: var(--muted); font-size: 13px; }
.flag { color: #7a4d00; font-size: 12px; }
.legend { font-size: 12.5px; color: var(--muted); margin: 4px 0 8px; }
.swatch { display: inline-block; width: 22px; height: 10px; vertical-align: middle;
  margin: 0 4px 0 12px; }
.swatch.cross { background: var(--cross); }
.swatch.home { background: var(--home-soft); }
.swatch.inside { background: var(--home); }
figure { margin: 8px 0 16px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12.5px; color: var(--muted); }
section.category { border-top: 1px solid var(--rule); margin-top: 18px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; font-size: 13.5px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
:target { outline: 2px solid #0b57a4; outline-offset: 2px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--rule); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  section.part { break-before: page; }
  section.part.first { break-before: auto; }
  h2, h3 { break-after: avoid; }
  tr, .figure, figure, dl.facts, .notice { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  :target { outline: none; }
  .when { white-space: normal; }
}
"""


def e(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attribute values."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def anchor(prefix: str, value: str) -> str:
    """An id for ``value``: itself when it is a plain identifier, a digest otherwise."""
    if _ANCHOR_SAFE.fullmatch(value):
        return f"{prefix}-{value}"
    return f"{prefix}-x{hashlib.sha256(value.encode()).hexdigest()[:16]}"


def when(ts: float | None) -> str:
    if ts is None:
        return ""
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def num(n: int | float) -> str:
    return f"{n:,}"


def findings(n: int) -> str:
    return f"{n:,} {noun(n, 'finding')}"


def seen(first: float, last: float) -> str:
    """First and last seen as one table cell."""
    if when(first) == when(last):
        return f'<span class="when">{e(when(first))}</span>'
    return f'<span class="when">{e(when(first))}</span> to<br><span class="when">{e(when(last))}</span>'


def country(code: str | None) -> str:
    """A located-in country as text: "Germany (DE)", or "unknown"."""
    if code is None:
        return "unknown"
    if code in JURISDICTION_NAMES:
        return f"{JURISDICTION_NAMES[code]} ({code})"
    name = country_name(code)
    return name if name == code else f"{name} ({code})"


def _cross(flag: bool) -> str:
    return '<span class="badge cross">cross-border</span>' if flag else "no"


def _table(
    head: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Iterable[int] = ()
) -> str:
    """A table from already-escaped cells; ``numeric`` columns are right-aligned."""
    nums = set(numeric)
    cls = [' class="num"' if i in nums else "" for i in range(len(head))]
    out = ["<table><thead><tr>"]
    out += [f"<th{cls[i]}>{h}</th>" for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td{cls[i]}>{c}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _law_links(ids: Iterable[str], known: set[str]) -> str:
    links = [f'<a href="#{anchor("law", i)}">{e(i)}</a>' if i in known else e(i) for i in ids]
    return ", ".join(links) or "none recorded"


def _operator_text(w: Where) -> str:
    """Who operates a destination, with its parent, headquarters and what is uncertain."""
    parts: list[str] = []
    if w["operator"]:
        parts.append(e(w["operator"]))
        if w["operator_parent"] and w["operator_parent"] != w["operator"]:
            parts.append(f"part of {e(w['operator_parent'])}")
        if w["operator_hq_country"]:
            parts.append(f"headquartered in {e(country(w['operator_hq_country']))}")
    else:
        parts.append("unknown")
    text = ", ".join(parts)
    if w["asn"] is not None or w["as_org"]:
        network = f"AS{w['asn']} " if w["asn"] is not None else ""
        text += f'<br><span class="note">network {e(network)}{e(w["as_org"])}'
        if w["attributed_by"]:
            text += f"; decided by {e(w['attributed_by'])}"
        text += "</span>"
    if w["operator_flag"]:
        text += f'<br><span class="flag">unverified: {e(w["operator_flag"])}</span>'
    return text


def _why_cross(w: Where) -> str:
    if not w["cross_border"]:
        return "no"
    places = "; ".join(f"{e(p['what'])} {e(country(p['country']))}" for p in w["outside"])
    return f'<span class="badge cross">cross-border</span><br>{places}'


def _destination_name(host: str | None, resp_h: str) -> str:
    name = f"<code>{e(host)}</code><br>" if host else '<span class="note">(no name)</span><br>'
    return name + f'<code class="note">{e(resp_h)}</code>'


# ----------------------------------------------------------------------------------------------
# Sections


def _header(report: Report) -> str:
    scope = report["scope"]
    apps = sorted({c["app"] for c in scope["captures"] if c["app"]})
    app = scope["app"] or (", ".join(apps) if apps else "every app in the database")
    first, last = scope["first_seen"], scope["last_seen"]
    period = f"{when(first)} to {when(last)}" if first is not None and last is not None else ""
    return (
        '<header class="report">'
        "<h1>Cross-border data-flow report</h1>"
        f'<p class="sub">App: <strong>{e(app)}</strong> · judged from '
        f"<strong>{e(scope['home_name'])} ({e(scope['home'])})</strong> · "
        + (f"traffic recorded {e(period)}" if period else "no traffic")
        + "</p>"
        '<nav class="toc">'
        '<a href="#headline">Headline</a><a href="#flows">Flow diagram</a>'
        '<a href="#map">Map</a><a href="#categories">Personal data</a>'
        '<a href="#not-inspected">Not inspected</a><a href="#declared">Declared vs observed</a>'
        '<a href="#connections">Connections</a><a href="#laws">Laws</a>'
        '<a href="#scope">Scope</a></nav></header>'
    )


def _headline(report: Report, laws: set[str]) -> str:
    h = report["headline"]
    home = report["scope"]["home_name"]
    figures = [
        (h["connections"], "connections", False),
        (h["decrypted"], "decrypted and read", False),
        (h["not_inspected"], "could not be inspected", h["not_inspected"] > 0),
        (h["destinations"], "destinations (server and name)", False),
        (h["requests"], "requests", False),
        (h["findings"], "pieces of personal data sent", False),
        (h["categories"], "categories of personal data", False),
        (h["cross_border_findings"], f"sent outside the {home}", h["cross_border_findings"] > 0),
        (h["cross_border_destinations"], "cross-border destinations", False),
    ]
    out = ['<section class="part first" id="headline"><h2>Headline</h2>']
    countries = ", ".join(e(country(j["country"])) for j in h["by_jurisdiction"])
    lead = (
        f"The app sent <strong>{num(h['findings'])}</strong> "
        f"{noun(h['findings'], 'piece', 'pieces')} of personal data in "
        f"<strong>{num(h['categories'])}</strong> {noun(h['categories'], 'category', 'categories')}"
        f" over {num(h['connections'])} {noun(h['connections'], 'connection')} to "
        f"{num(h['destinations'])} {noun(h['destinations'], 'destination')}. "
    )
    if h["cross_border_findings"]:
        lead += (
            f"<strong>{num(h['cross_border_findings'])}</strong> of them went to servers "
            f"outside the jurisdiction of the {e(home)} (by location, operator or parent "
            f"company): {countries}."
        )
    else:
        lead += f"None of them went to a server known to lie outside the {e(home)}."
    out.append(f'<p class="lead">{lead}</p>')
    out.append('<div class="figures">')
    for n, label, alarm in figures:
        cls = "figure cross" if alarm else "figure"
        out.append(
            f'<div class="{cls}"><span class="n">{num(n)}</span><span class="l">{e(label)}</span></div>'
        )
    out.append("</div>")
    if h["not_inspected"]:
        out.append(
            f'<p class="notice"><strong>{num(h["not_inspected"])} of {num(h["connections"])}'
            " connections could not be inspected.</strong> Their content is unknown: personal"
            " data may have been sent in them. Not seen does not mean not sent"
            ' (<a href="#not-inspected">what could not be inspected</a>).</p>'
        )
    out.append(_flows(report))
    out.append(f"<h3>Personal data sent outside the {e(home)}, per jurisdiction</h3>")
    if h["by_jurisdiction"]:
        out.append(
            '<p class="note">A finding counts once for every country whose law reaches its'
            " destination (where the server is, where its operator or parent is based).</p>"
        )
        out.append(
            _table(
                ["jurisdiction", "findings", "categories", "laws that reach it"],
                (
                    [
                        e(country(j["country"])),
                        num(j["findings"]),
                        e(", ".join(j["categories"])),
                        _law_links(j["laws"], laws),
                    ]
                    for j in h["by_jurisdiction"]
                ),
                numeric=[1],
            )
        )
    else:
        out.append("<p>None.</p>")
    out.append("<h3>Personal data sent, per operator</h3>")
    out.append(
        _table(
            ["operator (parent company)", "headquarters", "findings", "categories", "cross-border"],
            (
                [
                    e(o["operator"]),
                    e(country(o["hq_country"])),
                    num(o["findings"]),
                    e(", ".join(o["categories"])),
                    _cross(o["cross_border"]),
                ]
                for o in h["by_operator"]
            ),
            numeric=[2],
        )
        if h["by_operator"]
        else "<p>No personal data was found in requests.</p>"
    )
    out.append("</section>")
    return "".join(out)


def _categories(report: Report, laws: set[str]) -> str:
    out = ['<section class="part" id="categories"><h2>Personal data sent, per category</h2>']
    if not report["categories"]:
        out.append("<p>No personal data was found in the requests that could be read.</p>")
    for c in report["categories"]:
        out.append(_category(c, laws))
    out.append("</section>")
    return "".join(out)


def _category(c: Category, laws: set[str]) -> str:
    cid = anchor("cat", c["category"].replace(".", "_"))
    badge = ' <span class="badge cross">cross-border</span>' if c["cross_border"] else ""
    store = c["store"]
    out = [
        f'<section class="category" id="{cid}"><h3><code>{e(c["category"])}</code>{badge}</h3>',
        '<dl class="facts">',
        f"<dt>found</dt><dd>{num(c['findings'])} {noun(c['findings'], 'time')} in "
        f"{num(c['connections'])} {noun(c['connections'], 'connection')}</dd>",
        f"<dt>first seen</dt><dd>{e(when(c['first_seen']))}</dd>",
        f"<dt>last seen</dt><dd>{e(when(c['last_seen']))}</dd>",
        f"<dt>Apple App Privacy</dt><dd>{e('; '.join(store['apple']) or '—')}</dd>",
        f"<dt>Google Play Data safety</dt><dd>{e('; '.join(store['google']) or '—')}</dd>",
        "</dl>",
        "<h4>Where it went</h4>",
        _table(
            [
                *("destination", "located in", "operated by", "cross-border"),
                *("laws that reach it", "findings", "seen"),
            ],
            (_category_destination(d, laws) for d in c["destinations"]),
            numeric=[5],
        ),
        "<h4>Evidence</h4>",
    ]
    shown = len(c["evidence"])
    if c["evidence_total"] > shown:
        out.append(
            f'<p class="note">The first {num(shown)} of {num(c["evidence_total"])} findings,'
            " oldest first; <code>borderflow findings --category "
            f"{e(c['category'])}</code> lists them all.</p>"
        )
    out.append(
        _table(
            ["seen", "connection", "request", "where in the payload", "evidence", "why"],
            (_evidence_row(v) for v in c["evidence"]),
        )
    )
    out.append("</section>")
    return "".join(out)


def _category_destination(d: CategoryDestination, laws: set[str]) -> list[str]:
    located = e(country(d["country"]))
    if d["city"]:
        located += f"<br>{e(d['city'])}"
    return [
        _destination_name(d["host"], d["resp_h"]),
        located,
        _operator_text(d),
        _why_cross(d),
        _law_links(d["laws"], laws),
        num(d["findings"]),
        seen(d["first_seen"], d["last_seen"]),
    ]


def _conn_link(uid: str) -> str:
    return f'<a class="mono" href="#{anchor("conn", uid)}">{e(uid)}</a>'


def _evidence_row(v: Evidence) -> list[str]:
    request = " ".join(x for x in (v["method"], v["host"]) if x)
    request_html = f"<code>{e(request)}</code>"
    if v["uri"]:
        request_html += f"<br><code>{e(v['uri'])}</code>"
    return [
        seen(v["ts"], v["ts"]),
        _conn_link(v["uid"]) + f'<br><span class="note">request {num(v["trans_depth"])}</span>',
        request_html,
        f"<code>{e(v['location'])}</code>",
        f"<code>{e(v['evidence'])}</code>",
        f"{e(v['reason'])}<br>"
        f'<span class="note">{e(v["detector"])}, confidence {v["confidence"]:.2f}</span>',
    ]


# ----------------------------------------------------------------------------------------------
# The flow diagram: category -> located-in country -> operator


@dataclass
class _Node:
    key: str
    label: str
    value: int
    title: str
    y: float = 0.0
    h: float = 0.0
    out_used: float = 0.0
    in_used: float = 0.0


def _top(values: dict[str, int], limit: int) -> tuple[list[str], set[str]]:
    """The ``limit`` biggest keys (ties by name), and the keys folded into "others"."""
    ordered = sorted(values, key=lambda k: (-values[k], k))
    if len(ordered) <= limit:
        return ordered, set()
    return ordered[: limit - 1], set(ordered[limit - 1 :])


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def flow_svg(flows: Sequence[FlowLink]) -> str:
    """A Sankey-style diagram as inline SVG: widths proportional to findings, cross-border
    links in the cross-border colour (a link is split in two where only part of it crosses)."""
    if not flows:
        return ""
    others = "\x00others"
    cat_total: dict[str, int] = defaultdict(int)
    cty_total: dict[str, int] = defaultdict(int)
    op_total: dict[str, int] = defaultdict(int)
    op_hq: dict[str, str | None] = {}
    for f in flows:
        cat_total[f["category"]] += f["findings"]
        cty_total[f["country"] or ""] += f["findings"]
        op_total[f["operator"]] += f["findings"]
        op_hq.setdefault(f["operator"], f["operator_hq_country"])
    cats, cat_rest = _top(cat_total, MAX_NODES)
    ctys, cty_rest = _top(cty_total, MAX_NODES)
    ops, op_rest = _top(op_total, MAX_NODES)

    def fold(key: str, rest: set[str]) -> str:
        return others if key in rest else key

    left: dict[tuple[str, str, bool], int] = defaultdict(int)
    right: dict[tuple[str, str, bool], int] = defaultdict(int)
    for f in flows:
        cat = fold(f["category"], cat_rest)
        cty = fold(f["country"] or "", cty_rest)
        op = fold(f["operator"], op_rest)
        left[cat, cty, f["cross_border"]] += f["findings"]
        right[cty, op, f["cross_border"]] += f["findings"]

    def nodes(keys: list[str], rest: set[str], totals: dict[str, int], kind: str) -> list[_Node]:
        out: list[_Node] = []
        for k in keys:
            if kind == "cat":
                label = k
            elif kind == "cty":
                label = country(k or None)
            else:
                hq = op_hq.get(k)
                name = "operator unknown" if k == "unknown" else k
                label = f"{name} ({hq})" if hq else name
            out.append(_Node(k, label, totals[k], label))
        if rest:
            value = sum(totals[k] for k in rest)
            names = ", ".join(sorted(country(k or None) if kind == "cty" else k for k in rest))
            out.append(_Node(others, f"{len(rest)} others", value, names))
        return out

    columns = [
        nodes(cats, cat_rest, cat_total, "cat"),
        nodes(ctys, cty_rest, cty_total, "cty"),
        nodes(ops, op_rest, op_total, "op"),
    ]
    total = sum(cat_total.values())
    gap = 10.0
    tallest = max(len(c) for c in columns)
    scale = min(22.0, max(4.0, 460.0 / max(total, 1)))
    height = max(total * scale + gap * (tallest - 1), 120.0)
    width, top = 1100.0, 34.0
    xs = (250.0, 540.0, 830.0)
    bar = 12.0
    for col in columns:
        used = sum(n.value for n in col) * scale + gap * (len(col) - 1)
        y = top + (height - used) / 2
        for n in col:
            n.y, n.h = y, n.value * scale
            y += n.h + gap
    by_key = [{n.key: n for n in col} for col in columns]

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height + top + 16:.0f}"'
        ' role="img" aria-labelledby="flows-title" font-size="13" font-family="inherit">',
        '<title id="flows-title">Personal data per category, to the country the server is'
        " located in, to the company that operates it</title>",
    ]
    for x, head in zip(
        xs, ("data category", "server located in", "operated by (headquarters)"), strict=True
    ):
        svg.append(
            f'<text x="{x + bar / 2:.1f}" y="16" text-anchor="middle" font-weight="600"'
            f' fill="#57606a">{head}</text>'
        )

    def band(
        src: _Node, dst: _Node, x0: float, x1: float, value: int, crossing: bool, title: str
    ) -> str:
        w = value * scale
        y0 = src.y + src.out_used + w / 2
        y1 = dst.y + dst.in_used + w / 2
        src.out_used += w
        dst.in_used += w
        mid = (x0 + x1) / 2
        colour = "#b42318" if crossing else "#a9bccf"
        opacity = "0.55" if crossing else "0.7"
        return (
            f'<path d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"'
            f' fill="none" stroke="{colour}" stroke-opacity="{opacity}"'
            f' stroke-width="{max(w, 1.0):.1f}"><title>{e(title)}</title></path>'
        )

    # Bands in node order, so they stack without crossing inside a node.
    order = [{n.key: i for i, n in enumerate(col)} for col in columns]
    for (a, b, crossing), value in sorted(
        left.items(), key=lambda kv: (order[0][kv[0][0]], order[1][kv[0][1]], kv[0][2])
    ):
        src, dst = by_key[0][a], by_key[1][b]
        title = f"{src.label} → {dst.label}: {findings(value)}" + (
            ", cross-border" if crossing else ""
        )
        svg.append(band(src, dst, xs[0] + bar, xs[1], value, crossing, title))
    for (a, b, crossing), value in sorted(
        right.items(), key=lambda kv: (order[1][kv[0][0]], order[2][kv[0][1]], kv[0][2])
    ):
        src, dst = by_key[1][a], by_key[2][b]
        title = f"{src.label} → {dst.label}: {findings(value)}" + (
            ", cross-border" if crossing else ""
        )
        svg.append(band(src, dst, xs[1] + bar, xs[2], value, crossing, title))

    for i, col in enumerate(columns):
        x = xs[i]
        for n in col:
            svg.append(
                f'<rect x="{x:.1f}" y="{n.y:.1f}" width="{bar:.0f}" height="{max(n.h, 1.0):.1f}"'
                f' fill="#1b1f24"><title>{e(n.title)}: {e(findings(n.value))}</title></rect>'
            )
            cy = n.y + n.h / 2 + 4.5
            label = f"{_clip(n.label, 34)}  {n.value}"
            if i == 0:
                svg.append(
                    f'<text x="{x - 6:.1f}" y="{cy:.1f}" text-anchor="end">{e(label)}</text>'
                )
            else:
                svg.append(
                    f'<text x="{x + bar + 6:.1f}" y="{cy:.1f}" stroke="#fff" stroke-width="4"'
                    f' paint-order="stroke" stroke-linejoin="round">{e(label)}</text>'
                )
    svg.append("</svg>")
    return "".join(svg)


def _flows(report: Report) -> str:
    out = ['<div id="flows"><h3>Where personal data went</h3>']
    if not report["flows"]:
        out.append("<p>No personal data was found in requests, so there is nothing to draw.</p>")
        return "".join([*out, "</div>"])
    out.append(
        "<p>Each band is personal data found in requests, from its category (left) to the"
        " country the server is located in (middle) to the company that operates the server"
        " (right: its parent company where known, with the country of its headquarters). Band"
        " widths are proportional to the number of findings.</p>"
        '<p class="legend"><span class="swatch cross"></span>cross-border (located, operated or'
        f" owned outside the {e(report['scope']['home_name'])})"
        '<span class="swatch home"></span>not cross-border</p>'
        f"<figure>{flow_svg(report['flows'])}</figure>"
    )
    return "".join([*out, "</div>"])


# ----------------------------------------------------------------------------------------------
# The map: equirectangular, graticule, one marker per located-in country

MAP_W, MAP_H = 1000.0, 440.0
LAT_TOP, LAT_BOTTOM = 80.0, -60.0
# Where the continents' names go on the map (no coastlines: orientation only).
CONTINENTS = (
    ("NORTH AMERICA", 58.0, -105.0),
    ("SOUTH AMERICA", -22.0, -60.0),
    ("EUROPE", 66.0, 15.0),
    ("AFRICA", 2.0, 20.0),
    ("ASIA", 62.0, 90.0),
    ("OCEANIA", -32.0, 135.0),
)


def _project(lat: float, lon: float) -> tuple[float, float]:
    x = (lon + 180.0) / 360.0 * MAP_W
    y = (LAT_TOP - lat) / (LAT_TOP - LAT_BOTTOM) * MAP_H
    return x, y


def map_svg(report: Report) -> str:
    """Markers at approximate country centroids, area proportional to findings."""
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_W:.0f} {MAP_H:.0f}"'
        ' role="img" aria-labelledby="map-title" font-size="12" font-family="inherit">',
        '<title id="map-title">Countries the servers are located in (equirectangular'
        " projection, markers at approximate country centres)</title>",
        f'<rect x="0" y="0" width="{MAP_W:.0f}" height="{MAP_H:.0f}" fill="#f6f8fa"'
        ' stroke="#d0d7de"/>',
    ]
    for lon in range(-150, 181, 30):
        x, _ = _project(0, lon)
        svg.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{MAP_H:.0f}" stroke="#d0d7de"'
            ' stroke-width="0.8"/>'
        )
    for lat in range(-60, 81, 20):
        _, y = _project(lat, 0)
        strong = ' stroke="#8c959f"' if lat == 0 else ' stroke="#d0d7de"'
        svg.append(
            f'<line x1="0" y1="{y:.1f}" x2="{MAP_W:.0f}" y2="{y:.1f}"{strong} stroke-width="0.8"/>'
        )
        svg.append(f'<text x="4" y="{y - 3:.1f}" fill="#8c959f" font-size="10">{lat}°</text>')
    for lon in range(-120, 181, 60):
        x, _ = _project(0, lon)
        svg.append(
            f'<text x="{x + 3:.1f}" y="{MAP_H - 5:.0f}" fill="#8c959f" font-size="10">{lon}°</text>'
        )
    for name, c_lat, c_lon in CONTINENTS:
        x, y = _project(c_lat, c_lon)
        svg.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#afb8c1" font-size="13"'
            f' letter-spacing="2">{name}</text>'
        )
    placed = [
        (g, COUNTRIES[g["country"]]) for g in report["geography"] if g["country"] in COUNTRIES
    ]
    most = max((g["findings"] for g, _ in placed), default=0)
    boxes: list[tuple[float, float, float, float]] = []
    # Big markers first, so small ones stay visible on top.
    for g, c in sorted(placed, key=lambda gc: (-gc[0]["findings"], gc[0]["country"] or "")):
        x, y = _project(c.lat, c.lon)
        r = 5.0 + 19.0 * math.sqrt(g["findings"] / most) if most else 5.0
        colour = "#b42318" if g["cross_border"] else "#47607a"
        title = (
            f"{country(g['country'])}: {findings(g['findings'])} in {g['connections']}"
            f" {noun(g['connections'], 'connection')}"
            + (", outside home" if g["cross_border"] else "")
        )
        svg.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.35"'
            f' stroke="{colour}" stroke-width="1.5"><title>{e(title)}</title></circle>'
        )
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>')
        label = f"{country_name(g['country'])} · {findings(g['findings'])}"
        lw, lh = 6.6 * len(label) + 6, 15.0
        lx, ly = x + r + 4, y - lh / 2
        if lx + lw > MAP_W:
            lx = x - r - 4 - lw
        while any(
            lx < bx + bw and bx < lx + lw and ly < by + bh and by < ly + lh
            for bx, by, bw, bh in boxes
        ):
            ly += lh + 1
        boxes.append((lx, ly, lw, lh))
        if abs(ly + lh / 2 - y) > 1:
            edge = lx if lx > x else lx + lw
            svg.append(
                f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{edge:.1f}" y2="{ly + lh / 2:.1f}"'
                f' stroke="{colour}" stroke-width="0.8"/>'
            )
        svg.append(
            f'<text x="{lx + 3:.1f}" y="{ly + 11.5:.1f}" fill="{"#8f1c13" if g["cross_border"] else "#1b1f24"}"'
            ' stroke="#fff" stroke-width="3.5" paint-order="stroke" stroke-linejoin="round">'
            f"{e(label)}</text>"
        )
    svg.append("</svg>")
    return "".join(svg)


def _map(report: Report) -> str:
    home = report["scope"]["home_name"]
    out = ['<section class="part" id="map"><h2>Where the servers are located</h2>']
    geography = report["geography"]
    if not geography:
        out.append("<p>No connection was recorded.</p>")
        return "".join([*out, "</section>"])
    out.append(
        "<p>One marker per country the servers are located in (geolocation of their"
        " addresses), at the country's approximate centre; its area is proportional to the"
        " personal data found in requests to it. Where a server is located is not who controls"
        " it: an EU location can still be operated by a company under another country's law"
        ' (see <a href="#flows">the flow diagram</a> and the destinations of each category).</p>'
        f'<p class="legend"><span class="swatch cross"></span>located outside the {e(home)}'
        f'<span class="swatch inside"></span>located inside</p>'
        f"<figure>{map_svg(report)}</figure>"
    )
    unmapped = [g for g in geography if g["country"] not in COUNTRIES]
    if unmapped:
        out.append(
            f'<p class="note">Not on the map: {num(sum(g["connections"] for g in unmapped))}'
            " connections to servers whose location is unknown or not a country"
            " (private, loopback and unlisted addresses).</p>"
        )
    out.append(
        _table(
            [
                *("located in", "located outside home", "connections", "findings"),
                *("bytes sent", "bytes received"),
            ],
            (
                [
                    e(country(g["country"])),
                    _cross(g["cross_border"]),
                    num(g["connections"]),
                    num(g["findings"]),
                    num(g["orig_bytes"]),
                    num(g["resp_bytes"]),
                ]
                for g in geography
            ),
            numeric=[2, 3, 4, 5],
        )
    )
    return "".join([*out, "</section>"])


# ----------------------------------------------------------------------------------------------


def _not_inspected(report: Report) -> str:
    rows: list[NotInspected] = report["not_inspected"]
    out = ['<section class="part" id="not-inspected"><h2>What could not be inspected</h2>']
    if not rows:
        out.append("<p>Every connection was decrypted and its content read.</p>")
        return "".join([*out, "</section>"])
    total = sum(r["connections"] for r in rows)
    sent = sum(r["orig_bytes"] for r in rows)
    out.append(
        f'<p class="notice"><strong>{num(total)} {noun(total, "connection")} could not be read.'
        f"</strong> What"
        f" they carried is unknown; {num(sent)} bytes were sent in them. Personal data in them"
        " would not appear among the findings above: <strong>not seen does not mean not"
        " sent.</strong></p>"
    )
    reasons = sorted({r["why"] for r in rows})
    out.append(
        '<dl class="facts">'
        + "".join(
            f"<dt><code>{e(w)}</code></dt><dd>{e(WHY.get(w, 'recorded reason'))}</dd>"
            for w in reasons
        )
        + "</dl>"
    )
    out.append(
        _table(
            [
                *("why", "destination", "located in", "operated by", "cross-border"),
                *("connections", "bytes sent", "bytes received", "seen"),
            ],
            (
                [
                    f"<code>{e(r['why'])}</code>",
                    _destination_name(r["host"], r["resp_h"]),
                    e(country(r["country"])),
                    e(r["operator"] or "unknown"),
                    _cross(r["cross_border"]),
                    num(r["connections"]),
                    num(r["orig_bytes"]),
                    num(r["resp_bytes"]),
                    seen(r["first_seen"], r["last_seen"]),
                ]
                for r in rows
            ),
            numeric=[5, 6, 7],
        )
    )
    return "".join([*out, "</section>"])


def _declared(d: Declared | None) -> str:
    out = ['<section class="part" id="declared"><h2>Declared vs observed</h2>']
    if d is None:
        out.append(
            "<p>No declaration was given. With <code>--declared FILE</code> (the app's Apple"
            " App Privacy or Google Play Data safety answers) this section lists the categories"
            " observed but not declared.</p>"
        )
        return "".join([*out, "</section>"])
    store = {"apple": "Apple App Privacy", "google": "Google Play Data safety"}[d["store"]]
    out.append(f"<p>Declared practices ({e(store)}) read from <code>{e(d['file'])}</code>.</p>")
    out.append("<h3>Observed but not declared</h3>")
    if d["undeclared"]:
        out.append(
            _table(
                [
                    "category observed",
                    f"{e(store)} categories (none declared)",
                    "findings",
                    "sent to",
                ],
                (
                    [
                        f"<code>{e(u['category'])}</code>",
                        e("; ".join(u["store_categories"]) or "none"),
                        num(u["findings"]),
                        "<br>".join(f"<code>{e(h)}</code>" for h in u["hosts"]),
                    ]
                    for u in d["undeclared"]
                ),
                numeric=[2],
            )
        )
    else:
        out.append("<p>Every category observed is covered by the declaration.</p>")
    out.append("<h3>Declared</h3>")
    out.append(
        "<p>"
        + (e("; ".join(d["declared"])) or "Nothing (the app declares no data collected).")
        + "</p>"
    )
    if d["not_observed"]:
        out.append(
            "<h3>Declared but not observed</h3><p>"
            + e("; ".join(d["not_observed"]))
            + '</p><p class="note">Not an accusation: the recorded session may not have'
            " exercised the features that collect them.</p>"
        )
    return "".join([*out, "</section>"])


def _connections(report: Report) -> str:
    """The connections cited as evidence, so that every uid in the report links somewhere.

    The model carries no per-connection rows, so a connection's destination is found by the
    name it was reached as, among the destinations of the categories.
    """
    by_host: dict[str, dict[str, Where]] = defaultdict(dict)
    for c in report["categories"]:
        for d in c["destinations"]:
            by_host[d["host"] or ""].setdefault(d["resp_h"], d)
    cited: dict[str, list[Evidence]] = defaultdict(list)
    categories: dict[str, set[str]] = defaultdict(set)
    for c in report["categories"]:
        for v in c["evidence"]:
            cited[v["uid"]].append(v)
            categories[v["uid"]].add(c["category"])
    out = [
        '<section class="part" id="connections"><h2>Connections cited</h2>',
        "<p>The connections the evidence above was found in. <code>borderflow flows --db"
        f" {e(report['scope']['database'])}</code> lists every connection; the uid joins to"
        " every table of the database.</p>",
    ]
    if not cited:
        out.append("<p>None.</p>")
        return "".join([*out, "</section>"])
    head = ["connection", "first cited", "destination", "located in", "operated by"]
    head += ["requests", "categories"]
    out.append("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head))
    out.append("</tr></thead><tbody>")
    for uid, items in sorted(cited.items(), key=lambda kv: (min(v["ts"] for v in kv[1]), kv[0])):
        first = min(items, key=lambda v: (v["ts"], v["trans_depth"]))
        wheres = [by_host[first["host"] or ""][a] for a in sorted(by_host[first["host"] or ""])]
        if first["host"]:
            name = f"<code>{e(first['host'])}</code>"
        else:
            name = '<span class="note">(no name)</span>'
        addresses = "<br>".join(f'<code class="note">{e(w["resp_h"])}</code>' for w in wheres)
        if len(wheres) == 1:
            located, operated = e(country(wheres[0]["country"])), _operator_text(wheres[0])
        else:  # a name served from several addresses: the category tables tell them apart
            located = operated = "see the categories" if wheres else "unknown"
        requests = sorted({(v["trans_depth"], v["method"] or "", v["uri"] or "") for v in items})
        cells = [
            f'<span class="mono">{e(uid)}</span>',
            seen(first["ts"], first["ts"]),
            f"{name}<br>{addresses}",
            located,
            operated,
            "<br>".join(
                f"{num(depth)}: <code>{e(method)} {e(uri)}</code>"
                if method or uri
                else f'{num(depth)}: <span class="note">(no HTTP request line)</span>'
                for depth, method, uri in requests
            ),
            e(", ".join(sorted(categories[uid]))),
        ]
        out.append(
            f'<tr id="{anchor("conn", uid)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join([*out, "</section>"])


def _laws(laws: list[LawInfo]) -> str:
    out = ['<section class="part" id="laws"><h2>Laws that reach the destinations</h2>']
    if not laws:
        out.append("<p>No law is recorded for the destinations in this report.</p>")
        return "".join([*out, "</section>"])
    out.append(
        "<p>The state-access and transfer laws of every jurisdiction involved, as recorded in"
        " borderflow's jurisdiction data, with their citation and where the summary comes"
        " from. Entries marked unverified need checking against the official text before"
        " they are relied on.</p>"
    )
    out.append(
        "<table><thead><tr><th>law</th><th>jurisdiction</th><th>name and citation</th>"
        "<th>what it allows or requires</th><th>source</th></tr></thead><tbody>"
    )
    for law in laws:
        flag = f'<br><span class="flag">unverified: {e(law["flag"])}</span>' if law["flag"] else ""
        out.append(
            f'<tr id="{anchor("law", law["id"])}"><td><code>{e(law["id"])}</code></td>'
            f"<td>{e(country(law['jurisdiction']))}</td>"
            f"<td><strong>{e(law['name'])}</strong><br>{e(law['citation'])}</td>"
            f"<td>{e(law['effect'])}{flag}</td><td>{e(law['source'])}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join([*out, "</section>"])


def _scope(report: Report) -> str:
    scope = report["scope"]
    out = [
        '<section class="part" id="scope"><h2>Scope</h2>',
        '<dl class="facts">',
        f"<dt>database</dt><dd><code>{e(scope['database'])}</code></dd>",
        f"<dt>app</dt><dd>{e(scope['app'] or 'every app in the database')}</dd>",
        f"<dt>home</dt><dd>{e(scope['home_name'])} ({e(scope['home'])}): cross-border means a"
        " jurisdiction outside it (where the server is located, where its operator, parent"
        " company or hosting network is based); unknown never counts as cross-border</dd>",
        f"<dt>report</dt><dd>{e(report['format'])}, borderflow {e(report['tool_version'])}</dd>",
        "</dl>",
        "<h3>Captures</h3>",
    ]
    out.append(
        _table(
            ["capture", "source", "file and SHA-256", "recorded or replayed", "app", "device"],
            (
                [
                    f"<code>{e(c['id'])}</code>",
                    e(c["source"]),
                    (f"<code>{e(c['path'])}</code>" if c["path"] else "")
                    + (
                        f'<br><code class="note">sha256 {e(c["sha256"])}</code>'
                        if c["sha256"]
                        else ""
                    ),
                    e(when(c["started"])) + (f" to<br>{e(when(c['ended']))}" if c["ended"] else ""),
                    e(c["app"] or ""),
                    e(c["device"] or ""),
                ]
                for c in scope["captures"]
            ),
        )
        if scope["captures"]
        else "<p>No capture.</p>"
    )
    if report["weird"]:
        out.append("<h3>Problems met while recording</h3>")
        out.append(
            _table(
                ["problem", "times"],
                ([f"<code>{e(w['name'])}</code>", num(w["count"])] for w in report["weird"]),
                numeric=[1],
            )
        )
    out.append(
        "<h3>Method</h3><p>Traffic was recorded through a TLS-intercepting proxy (mitmproxy) or"
        " replayed from capture files, every payload decoded, and personal data detected in it."
        " Evidence is shown redacted unless the database was recorded unredacted. Where a server"
        " is located comes from IP geolocation, who operates it from its network (ASN) or its"
        " registrable domain; <code>borderflow geo info</code> names the databases used (by"
        " default: IP geolocation by DB-IP, https://db-ip.com, CC BY 4.0; registry data from the"
        " NRO, CC BY 4.0; ASN data from RouteViews, DB-IP and the NRO, CC BY 4.0). Map"
        " positions are approximate country centres (Google DSPL countries table).</p>"
    )
    return "".join([*out, "</section>"])


def render(report: Report) -> str:
    """The whole report as one HTML document."""
    laws = {law["id"] for law in report["laws"]}
    app = report["scope"]["app"] or ", ".join(
        sorted({c["app"] for c in report["scope"]["captures"] if c["app"]})
    )
    title = "Cross-border data-flow report" + (f": {app}" if app else "")
    body = "".join(
        [
            _header(report),
            _headline(report, laws),
            _map(report),
            _categories(report, laws),
            _not_inspected(report),
            _declared(report["declared"]),
            _connections(report),
            _laws(report["laws"]),
            _scope(report),
            f"<footer>borderflow {e(report['tool_version'])} · {e(report['format'])} · the same"
            " database always gives the same report</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        " style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n"
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="borderflow">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )

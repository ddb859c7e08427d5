"""The report as Markdown, for issue trackers: tables a reviewer can paste and cite.

Every string that came from traffic (hosts, URIs, evidence, reasons) is hostile until proven
otherwise: ``text()`` turns it into inert Markdown (no tables broken by ``|``, no code spans,
no HTML, no links or mentions, one line), and it is never put inside a code span, where
escapes stop working.
"""

from __future__ import annotations

import datetime
import re

from borderflow.analysis.report_model import (
    Category,
    Declared,
    NotInspected,
    Report,
    Where,
    noun,
)

# Characters a backslash makes literal that could start markup inside a line: emphasis, code,
# links and images, table cells, strikethrough, GitHub mentions, issue references and math.
# Line-start markup (headings, lists, quotes) cannot happen: text() never leaves a line break.
_PUNCT = re.compile(r"([\\`*_\[\]#|~@$])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def text(value: object) -> str:
    """``value`` as inert, single-line Markdown text: safe in a table cell or a sentence.

    HTML becomes entities, markup characters are backslash-escaped, and ``://`` is broken up
    so that a URL from traffic is never turned into a link a reviewer might click.
    """
    if value is None:
        return ""
    s = " ".join(str(value).split())  # newlines, tabs and other breaks become one space
    s = "".join(_HTML.get(ch, ch) for ch in s)
    return _PUNCT.sub(r"\\\1", s).replace("://", "\\://")


def when(ts: float | None) -> str:
    """A Unix time as UTC, to the second."""
    if ts is None:
        return ""
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _yes(flag: bool) -> str:
    return "**yes**" if flag else "no"


def _list(values: list[str]) -> str:
    return ", ".join(text(v) for v in values)


def _operator(w: Where) -> str:
    if w["operator"] is None:
        return "unknown"
    parent = w["operator_parent"]
    out = text(w["operator"])
    if parent and parent != w["operator"]:
        out += f" → {text(parent)}"
    if w["operator_hq_country"]:
        out += f" ({text(w['operator_hq_country'])})"
    if w["operator_flag"]:
        out += f" *unverified: {text(w['operator_flag'])}*"
    return out


def _located(w: Where) -> str:
    if w["country"] is None:
        return "unknown"
    return text(w["country"]) + (f", {text(w['city'])}" if w["city"] else "")


def _outside(w: Where) -> str:
    if not w["cross_border"]:
        return "no"
    return "**yes**: " + "; ".join(f"{text(p['what'])} {text(p['country'])}" for p in w["outside"])


def render(report: Report) -> str:
    """The whole report as one Markdown document."""
    out: list[str] = []
    out += _head(report)
    out += _headline(report)
    out += _categories(report["categories"])
    out += _geography(report)
    out += _not_inspected(report["not_inspected"])
    if report["declared"] is not None:
        out += _declared(report["declared"])
    out += _laws(report)
    if report["weird"]:
        out += ["## Problems met while recording", ""]
        out += _table(
            ["problem", "count"], [[text(w["name"]), str(w["count"])] for w in report["weird"]]
        )
    return "\n".join(out).rstrip("\n") + "\n"


def _head(report: Report) -> list[str]:
    scope = report["scope"]
    out = ["# Cross-border data-flow report", ""]
    out.append(
        f"Database {text(scope['database'])}, judged from home {text(scope['home'])}"
        f" ({text(scope['home_name'])})"
        + (f", app {text(scope['app'])}" if scope["app"] else "")
        + f"; borderflow {text(report['tool_version'])}, format {text(report['format'])}."
    )
    if scope["first_seen"] is not None and scope["last_seen"] is not None:
        out += ["", f"Traffic recorded {when(scope['first_seen'])} to {when(scope['last_seen'])}."]
    out.append("")
    if scope["captures"]:
        rows = [
            [
                text(c["id"]),
                text(c["source"]),
                text(c["path"]),
                text(c["app"]),
                text(c["device"]),
                when(c["started"]),
                when(c["ended"]),
            ]
            for c in scope["captures"]
        ]
        out += _table(
            ["capture", "source", "file", "app", "device", "recorded or replayed", "until"], rows
        )
    return out


def _headline(report: Report) -> list[str]:
    h = report["headline"]
    out = ["## Headline", ""]
    out += [
        f"- **{h['findings']}** {noun(h['findings'], 'piece', 'pieces')} of personal data sent,"
        f" in **{h['categories']}** {noun(h['categories'], 'category', 'categories')},"
        f" over {h['requests']} {noun(h['requests'], 'request')}",
        f"- **{h['cross_border_findings']}** of them cross-border"
        f" (to {h['cross_border_destinations']} of {h['destinations']}"
        f" {noun(h['destinations'], 'destination')})",
        f"- {h['connections']} {noun(h['connections'], 'connection')}: {h['decrypted']} decrypted,"
        f" **{h['not_inspected']}** not inspected (see below: not seen is not not sent)",
        "",
    ]
    if h["by_jurisdiction"]:
        out += ["### Cross-border findings per jurisdiction", ""]
        out += _table(
            ["country", "findings", "categories", "laws"],
            [
                [text(j["country"]), str(j["findings"]), _list(j["categories"]), _list(j["laws"])]
                for j in h["by_jurisdiction"]
            ],
        )
    if h["by_operator"]:
        out += ["### Findings per operator", ""]
        out += _table(
            ["operator", "headquarters", "findings", "cross-border", "categories"],
            [
                [
                    text(o["operator"]),
                    text(o["hq_country"]) or "unknown",
                    str(o["findings"]),
                    _yes(o["cross_border"]),
                    _list(o["categories"]),
                ]
                for o in h["by_operator"]
            ],
        )
    return out


def _categories(categories: list[Category]) -> list[str]:
    out = ["## Personal data sent, per category", ""]
    if not categories:
        return [*out, "No personal data was found in requests.", ""]
    for c in categories:
        out += [
            f"### {text(c['category'])}",
            "",
            f"{c['findings']} {noun(c['findings'], 'finding')} in {c['connections']}"
            f" {noun(c['connections'], 'connection')},"
            f" {when(c['first_seen'])} to {when(c['last_seen'])};"
            f" cross-border: {_yes(c['cross_border'])}."
            f" Apple: {_list(c['store']['apple']) or 'none'};"
            f" Google: {_list(c['store']['google']) or 'none'}.",
            "",
        ]
        out += _table(
            [
                *("destination", "address", "located in", "operator", "cross-border", "laws"),
                *("findings", "first seen", "last seen"),
            ],
            [
                [
                    text(d["host"]) or "(no name)",
                    text(d["resp_h"]),
                    _located(d),
                    _operator(d),
                    _outside(d),
                    _list(d["laws"]),
                    str(d["findings"]),
                    when(d["first_seen"]),
                    when(d["last_seen"]),
                ]
                for d in c["destinations"]
            ],
        )
        shown = len(c["evidence"])
        out += [f"Evidence ({shown} of {c['evidence_total']}, oldest first):", ""]
        out += _table(
            ["seen", "request", "where in the payload", "evidence", "why", "connection"],
            [
                [
                    when(e["ts"]),
                    " ".join(x for x in (text(e["method"]), text(e["host"]) + text(e["uri"])) if x),
                    text(e["location"]),
                    text(e["evidence"]),
                    f"{text(e['reason'])} ({text(e['detector'])}, {e['confidence']:g})",
                    f"{text(e['uid'])} \\#{e['trans_depth']}",
                ]
                for e in c["evidence"]
            ],
        )
    return out


def _geography(report: Report) -> list[str]:
    if not report["geography"]:
        return []
    out = ["## Where the connections went (located in)", ""]
    out += _table(
        ["country", "outside home", "connections", "findings", "bytes sent", "bytes received"],
        [
            [
                text(g["country"]) or "unknown",
                _yes(g["cross_border"]),
                str(g["connections"]),
                str(g["findings"]),
                str(g["orig_bytes"]),
                str(g["resp_bytes"]),
            ]
            for g in report["geography"]
        ],
    )
    return out


def _not_inspected(rows: list[NotInspected]) -> list[str]:
    out = ["## Not inspected", ""]
    if not rows:
        return [*out, "Every connection was decrypted and inspected.", ""]
    out += [
        "These connections could not be read (pinned, no keys, opaque protocols): whatever they"
        " carried is not in the findings above.",
        "",
    ]
    out += _table(
        [
            *("why", "destination", "address", "located in", "operator", "cross-border"),
            *("connections", "bytes sent", "bytes received", "first seen", "last seen"),
        ],
        [
            [
                text(n["why"]),
                text(n["host"]) or "(no name)",
                text(n["resp_h"]),
                text(n["country"]) or "unknown",
                text(n["operator"]) or "unknown",
                _yes(n["cross_border"]),
                str(n["connections"]),
                str(n["orig_bytes"]),
                str(n["resp_bytes"]),
                when(n["first_seen"]),
                when(n["last_seen"]),
            ]
            for n in rows
        ],
    )
    return out


def _declared(d: Declared) -> list[str]:
    store = {"apple": "Apple App Privacy", "google": "Google Play Data safety"}[d["store"]]
    out = [f"## Declared vs observed ({store})", "", f"Declared in {text(d['file'])}.", ""]
    if d["undeclared"]:
        out += ["**Observed but not declared:**", ""]
        out += _table(
            ["category", "store categories (none declared)", "findings", "sent to"],
            [
                [
                    text(u["category"]),
                    _list(u["store_categories"]) or "none",
                    str(u["findings"]),
                    _list(u["hosts"]),
                ]
                for u in d["undeclared"]
            ],
        )
    else:
        out += ["Every category observed was declared.", ""]
    if d["not_observed"]:
        out += [
            "Declared but not observed (not an accusation: perhaps not exercised): "
            + _list(d["not_observed"])
            + ".",
            "",
        ]
    out += ["Declared: " + (_list(d["declared"]) or "nothing") + ".", ""]
    return out


def _laws(report: Report) -> list[str]:
    if not report["laws"]:
        return []
    out = ["## Laws that reach these destinations", ""]
    out += _table(
        ["law", "jurisdiction", "name", "citation", "effect", "source"],
        [
            [
                text(x["id"]),
                text(x["jurisdiction"]),
                text(x["name"]) + (f" *unverified: {text(x['flag'])}*" if x["flag"] else ""),
                text(x["citation"]),
                text(x["effect"]),
                text(x["source"]),
            ]
            for x in report["laws"]
        ],
    )
    return out

"""A hand-written report for the HTML tests: realistic destinations, and hostile strings in
every place traffic or a crafted database can put one."""

from __future__ import annotations

import copy

from borderflow.analysis.report_model import (
    FORMAT,
    Category,
    CategoryDestination,
    Evidence,
    Report,
    Where,
)

# Each one would run script, load something, or break out of its context if left unescaped.
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "javascript:alert(3)",
    "</style><script>alert(4)</script>",
    "'><svg onload=alert(5)>",
    "</textarea></title><iframe src=//evil.example>",
    "&lt;script&gt;",  # already-escaped text stays text
    "{{7*7}} ${7*7} `x`",
    "</svg><object data=https://evil.example/x.swf>",
)
EVIL = " ".join(HOSTILE)


def where(
    host: str | None,
    resp_h: str,
    country: str | None,
    operator: str | None,
    parent: str | None,
    hq: str | None,
    laws: list[str],
    *,
    asn: int | None = None,
    as_org: str | None = None,
    located_outside: bool = True,
) -> Where:
    outside = []
    if country and located_outside:
        outside.append({"what": "located in", "country": country})
    if hq and hq not in ("DE", "FR", "IE"):
        outside.append({"what": "operator's parent headquartered in", "country": hq})
    return Where(
        host=host,
        resp_h=resp_h,
        country=country,
        city=None,
        asn=asn,
        as_org=as_org,
        operator=operator,
        operator_parent=parent,
        operator_hq_country=hq,
        operator_flag=None,
        attributed_by="asn" if asn else None,
        cross_border=bool(outside),
        outside=outside,  # type: ignore[typeddict-item]
        laws=laws,
    )


CN_LAWS = ["cn-nil-2017", "cn-pipl-2021"]
US_LAWS = ["us-cloud-act"]
ALIBABA_DE = where(
    "mobilegw.alipay.com",
    "8.209.64.17",
    "DE",
    "Alibaba Cloud (international regions)",
    "Alibaba Group",
    "CN",
    CN_LAWS,
    asn=45102,
    as_org="Alibaba (US) Technology Co., Ltd.",
    located_outside=False,
)
TENCENT_HK = where(
    "android.bugly.qq.com",
    "119.28.1.17",
    "HK",
    "Tencent Cloud (international regions)",
    "Tencent Holdings",
    "CN",
    ["hk-nsl-2020", *CN_LAWS],
    asn=132203,
    as_org="Shenzhen Tencent Computer Systems Company Limited",
)
GOOGLE_US = where(
    "firebaseinstallations.googleapis.com",
    "142.251.16.17",
    "US",
    "Google",
    "Alphabet",
    "US",
    US_LAWS,
    asn=15169,
    as_org="Google LLC",
)
# A hostile server name, as a crafted SNI or Host header would make it.
HOSTILE_HOST = where(EVIL, "203.0.113.66", "CN", EVIL, EVIL, "CN", CN_LAWS, asn=4134, as_org=EVIL)
HOME_EU = where(
    "api.example-pay.test",
    "88.198.10.17",
    "DE",
    None,
    None,
    None,
    [],
    asn=24940,
    as_org="Hetzner Online GmbH",
    located_outside=False,
)


def dest(w: Where, findings: int, ts: float) -> CategoryDestination:
    return CategoryDestination(**w, findings=findings, first_seen=ts, last_seen=ts + 5)


def evidence(
    uid: str, ts: float, w: Where, location: str, value: str, *, uri: str = "/"
) -> Evidence:
    return Evidence(
        uid=uid,
        trans_depth=1,
        ts=ts,
        host=w["host"],
        method="POST",
        uri=uri,
        location=location,
        detector="imei",
        confidence=0.9,
        reason=f"Luhn-valid 15-digit number under key {location!r}",
        evidence=value,
    )


def category(
    name: str, dests: list[CategoryDestination], ev: list[Evidence], total: int
) -> Category:
    return Category(
        category=name,
        findings=sum(d["findings"] for d in dests),
        connections=len({v["uid"] for v in ev}),
        first_seen=min(d["first_seen"] for d in dests),
        last_seen=max(d["last_seen"] for d in dests),
        cross_border=any(d["cross_border"] for d in dests),
        store={"apple": ["Identifiers / Device ID"], "google": ["Device or other IDs"]},
        destinations=dests,
        evidence=ev,
        evidence_total=total,
    )


T = 1767225600.0


def sample_report() -> Report:
    """A report as ``report.build`` would give, with hostile strings from traffic throughout."""
    device = category(
        "identifiers.device",
        [dest(ALIBABA_DE, 3, T), dest(TENCENT_HK, 2, T + 10), dest(GOOGLE_US, 1, T + 20)],
        [
            evidence(
                "CAAAAAAAAAAAAAAA1",
                T,
                ALIBABA_DE,
                "body/form:requestData/json:$[0].imei",
                "4901...(15 digits)",
            ),
            evidence(
                "CAAAAAAAAAAAAAAA2",
                T + 10,
                TENCENT_HK,
                "body/json:$.deviceId",
                "4901...(15 digits)",
                uri="/rqd/async?aid=" + EVIL,
            ),
            evidence(
                "CAAAAAAAAAAAAAAA3", T + 20, GOOGLE_US, "body/json:$.fid", "cZ3v...(12 chars)"
            ),
        ],
        7,
    )
    hostile = category(
        "contact.email",
        [dest(HOSTILE_HOST, 2, T + 30), dest(HOME_EU, 1, T + 40)],
        [
            # A uid from a crafted database: it must not break out of the id or the link.
            evidence(
                'C"><script>alert(9)</script>',
                T + 30,
                HOSTILE_HOST,
                "header:" + EVIL,
                EVIL,
                uri="javascript:alert(1)//" + EVIL,
            ),
            evidence(
                "CAAAAAAAAAAAAAAA5", T + 40, HOME_EU, "body/json:$.email", "li...@example.com"
            ),
        ],
        2,
    )
    return Report(
        format=FORMAT,
        tool_version="0.1.0",
        scope={
            "database": "demo<script>.db",
            "captures": [
                {
                    "id": "KDJBIOMYHGP2LWZJA",
                    "source": "mitm",
                    "path": "captures/" + EVIL + ".mitm",
                    "sha256": "663903b646c68f841a49c92e9b1d0ee245bee8b1d2f5019f1d8ed45c831b058d",
                    "started": T,
                    "ended": T + 60,
                    "app": "com.example.wallet" + EVIL,
                    "device": EVIL,
                }
            ],
            "app": None,
            "home": "EU",
            "home_name": "European Union",
            "first_seen": T - 3600,
            "last_seen": T - 3000,
        },
        headline={
            "connections": 9,
            "decrypted": 6,
            "not_inspected": 3,
            "destinations": 6,
            "requests": 6,
            "findings": 9,
            "categories": 2,
            "cross_border_findings": 8,
            "cross_border_destinations": 4,
            "by_jurisdiction": [
                {
                    "country": "CN",
                    "findings": 7,
                    "categories": ["contact.email", "identifiers.device"],
                    "laws": CN_LAWS,
                },
                {
                    "country": "HK",
                    "findings": 2,
                    "categories": ["identifiers.device"],
                    "laws": ["hk-nsl-2020"],
                },
                {
                    "country": "US",
                    "findings": 1,
                    "categories": ["identifiers.device"],
                    "laws": US_LAWS,
                },
            ],
            "by_operator": [
                {
                    "operator": "Alibaba Group",
                    "hq_country": "CN",
                    "findings": 3,
                    "categories": ["identifiers.device"],
                    "cross_border": True,
                },
                {
                    "operator": EVIL,
                    "hq_country": "CN",
                    "findings": 2,
                    "categories": ["contact.email"],
                    "cross_border": True,
                },
                {
                    "operator": "Tencent Holdings",
                    "hq_country": "CN",
                    "findings": 2,
                    "categories": ["identifiers.device"],
                    "cross_border": True,
                },
                {
                    "operator": "Alphabet",
                    "hq_country": "US",
                    "findings": 1,
                    "categories": ["identifiers.device"],
                    "cross_border": True,
                },
                {
                    "operator": "unknown",
                    "hq_country": None,
                    "findings": 1,
                    "categories": ["contact.email"],
                    "cross_border": False,
                },
            ],
        },
        categories=[device, hostile],
        flows=[
            {
                "category": "identifiers.device",
                "country": "DE",
                "operator": "Alibaba Group",
                "operator_hq_country": "CN",
                "cross_border": True,
                "findings": 3,
            },
            {
                "category": "identifiers.device",
                "country": "HK",
                "operator": "Tencent Holdings",
                "operator_hq_country": "CN",
                "cross_border": True,
                "findings": 2,
            },
            {
                "category": "identifiers.device",
                "country": "US",
                "operator": "Alphabet",
                "operator_hq_country": "US",
                "cross_border": True,
                "findings": 1,
            },
            {
                "category": "contact.email",
                "country": "CN",
                "operator": EVIL,
                "operator_hq_country": "CN",
                "cross_border": True,
                "findings": 2,
            },
            {
                "category": "contact.email",
                "country": "DE",
                "operator": "unknown",
                "operator_hq_country": None,
                "cross_border": False,
                "findings": 1,
            },
            {
                "category": EVIL,
                "country": None,
                "operator": "unknown",
                "operator_hq_country": None,
                "cross_border": False,
                "findings": 1,
            },
        ],
        geography=[
            {
                "country": "DE",
                "connections": 3,
                "findings": 4,
                "orig_bytes": 1396,
                "resp_bytes": 910,
                "cross_border": False,
            },
            {
                "country": "CN",
                "connections": 3,
                "findings": 2,
                "orig_bytes": 1014,
                "resp_bytes": 793,
                "cross_border": True,
            },
            {
                "country": "HK",
                "connections": 1,
                "findings": 2,
                "orig_bytes": 345,
                "resp_bytes": 262,
                "cross_border": True,
            },
            {
                "country": "US",
                "connections": 1,
                "findings": 1,
                "orig_bytes": 370,
                "resp_bytes": 290,
                "cross_border": True,
            },
            {
                "country": None,
                "connections": 1,
                "findings": 0,
                "orig_bytes": 87,
                "resp_bytes": 14,
                "cross_border": False,
            },
        ],
        not_inspected=[
            {
                "why": "pinned_tls",
                "host": "mdap.alipay.com",
                "resp_h": "8.209.64.20",
                "country": "DE",
                "operator": "Alibaba Cloud (international regions)",
                "cross_border": True,
                "connections": 2,
                "orig_bytes": 1034,
                "resp_bytes": 0,
                "first_seen": T,
                "last_seen": T + 50,
            },
            {
                "why": EVIL,
                "host": EVIL,
                "resp_h": "198.51.100.9",
                "country": None,
                "operator": None,
                "cross_border": False,
                "connections": 1,
                "orig_bytes": 87,
                "resp_bytes": 14,
                "first_seen": T + 1,
                "last_seen": T + 1,
            },
        ],
        declared={
            "file": "declared-" + EVIL + ".toml",
            "store": "google",
            "declared": ["Personal info / Email address"],
            "undeclared": [
                {
                    "category": "identifiers.device",
                    "store_categories": ["Device or other IDs"],
                    "findings": 6,
                    "hosts": ["mobilegw.alipay.com", EVIL],
                },
            ],
            "not_observed": ["Financial info / Purchase history"],
        },
        laws=[
            {
                "id": "cn-nil-2017",
                "jurisdiction": "CN",
                "name": "National Intelligence Law of the PRC",
                "citation": "Arts. 7, 14",
                "effect": "Organisations shall support state intelligence work.",
                "source": "https://www.npc.gov.cn/",
                "flag": None,
            },
            {
                "id": "cn-pipl-2021",
                "jurisdiction": "CN",
                "name": "Personal Information Protection Law",
                "citation": "Arts. 38-41",
                "effect": "Cross-border provision rules.",
                "source": "NPC",
                "flag": None,
            },
            {
                "id": "hk-nsl-2020",
                "jurisdiction": "HK",
                "name": "Hong Kong National Security Law",
                "citation": "Art. 43",
                "effect": "Police may require providers to give information.",
                "source": "HK e-Legislation",
                "flag": "Schedule numbers not verified.",
            },
            {
                "id": "us-cloud-act",
                "jurisdiction": "US",
                "name": "CLOUD Act",
                "citation": "18 U.S.C. § 2713",
                "effect": "Disclosure regardless of where data is stored.",
                "source": "Pub. L. 115-141",
                "flag": None,
            },
        ],
        weird=[{"name": "binary_body", "count": 1}, {"name": EVIL, "count": 1}],
    )


def empty_report() -> Report:
    """No traffic at all: every section must still say so plainly."""
    report = copy.deepcopy(sample_report())
    report["scope"]["captures"] = []
    report["headline"] = {
        "connections": 0,
        "decrypted": 0,
        "not_inspected": 0,
        "destinations": 0,
        "requests": 0,
        "findings": 0,
        "categories": 0,
        "cross_border_findings": 0,
        "cross_border_destinations": 0,
        "by_jurisdiction": [],
        "by_operator": [],
    }
    report["categories"] = []
    report["flows"] = []
    report["geography"] = []
    report["not_inspected"] = []
    report["declared"] = None
    report["laws"] = []
    report["weird"] = []
    return report

"""The shape of a cross-border report: what ``--format json`` prints, and what HTML and Markdown render.

One model, built by SQL aggregation in ``report.py`` and rendered by ``report_html.py`` and
``report_md.py``, so the three formats never disagree. ``docs/report.md`` documents every field
for people who consume the JSON. The model carries no time of generation: the same database
gives the same report, byte for byte.

Timestamps are Unix seconds (float). Countries are ISO 3166-1 alpha-2 codes; ``None`` means
unknown, never "inside home". Law ids are those of ``geo/data/jurisdictions.toml``.
"""

from __future__ import annotations

from typing import Literal, TypedDict

FORMAT = "borderflow-report/1"


class CaptureInfo(TypedDict):
    """A capture (live session or replayed file) the report covers."""

    id: str
    source: str
    path: str | None
    sha256: str | None
    started: float
    ended: float | None
    app: str | None
    device: str | None


class Scope(TypedDict):
    """What the report covers: its captures, the app filter, and the home it is judged from."""

    database: str  # the database file's name as given on the command line
    captures: list[CaptureInfo]
    app: str | None  # --app filter, or None for every app
    home: str  # e.g. "EU"
    home_name: str  # e.g. "European Union"
    first_seen: float | None  # the first connection in scope opened (None: no connection)
    last_seen: float | None  # ... and the last


class Place(TypedDict):
    """One jurisdiction of a destination that lies outside home, and why it counts."""

    what: str  # "located in", "operator based in", "operator's parent headquartered in", ...
    country: str


class Where(TypedDict):
    """Where data went: a server (address and the name it was reached as) and who runs it."""

    host: str | None  # the connection's server name, or None when it had none
    resp_h: str
    country: str | None  # located in
    city: str | None
    asn: int | None
    as_org: str | None
    operator: str | None
    operator_parent: str | None
    operator_hq_country: str | None
    operator_flag: str | None  # what is uncertain about the operator answer
    attributed_by: str | None  # "asn" or "domain"
    cross_border: bool
    outside: list[Place]
    laws: list[str]  # ids of the laws that reach it


class Jurisdiction(TypedDict):
    """Findings that reached one country outside home (a finding counts once per country)."""

    country: str
    findings: int
    categories: list[str]
    laws: list[str]


class Operator(TypedDict):
    """Findings per operator (its parent company when known), with its headquarters."""

    operator: str  # parent company, else operator, else "unknown"
    hq_country: str | None
    findings: int
    categories: list[str]
    cross_border: bool


class Headline(TypedDict):
    """The figures a reader sees first."""

    connections: int
    decrypted: int
    not_inspected: int  # connections whose content could not be read
    destinations: int  # distinct (address, name) pairs
    requests: int
    findings: int  # findings in requests (data sent), all categories
    categories: int  # distinct categories found in requests
    cross_border_findings: int
    cross_border_destinations: int
    by_jurisdiction: list[Jurisdiction]  # most findings first
    by_operator: list[Operator]  # most findings first


class Evidence(TypedDict):
    """One finding, with its exact place in the payload and the request it was in."""

    uid: str  # the connection: `borderflow flows --host ...` and the HTML link to it
    trans_depth: int
    ts: float
    host: str | None
    method: str | None
    uri: str | None
    location: str  # where in the decoded payload, e.g. body/gzip/json:$.loc.lat
    detector: str
    confidence: float
    reason: str
    evidence: str  # redacted unless recorded with --unredacted


class CategoryDestination(Where):
    findings: int
    first_seen: float
    last_seen: float


class StoreNames(TypedDict):
    apple: list[str]
    google: list[str]


class Category(TypedDict):
    """One category of personal data sent: where it went, how often, and the evidence."""

    category: str
    findings: int
    connections: int
    first_seen: float
    last_seen: float
    cross_border: bool  # any of its destinations is
    store: StoreNames  # how Apple's and Google's declarations name it
    destinations: list[CategoryDestination]  # most findings first
    evidence: list[Evidence]  # the first EVIDENCE_PER_CATEGORY, oldest first
    evidence_total: int


class FlowLink(TypedDict):
    """A link of the flow diagram: category -> located-in country -> operator."""

    category: str
    country: str | None  # located in; None: unknown
    operator: str  # as in Operator.operator
    operator_hq_country: str | None
    cross_border: bool
    findings: int


class CountryTraffic(TypedDict):
    """Connections and findings per located-in country, for the geographic view."""

    country: str | None
    connections: int
    findings: int
    orig_bytes: int
    resp_bytes: int
    cross_border: bool  # the country itself lies outside home


class NotInspected(TypedDict):
    """Connections whose content could not be read, grouped by reason and destination."""

    why: str  # pinned_tls, passed_through, no_key_log, not_tls, ...
    host: str | None
    resp_h: str
    country: str | None
    operator: str | None
    cross_border: bool
    connections: int
    orig_bytes: int
    resp_bytes: int
    first_seen: float
    last_seen: float


class Undeclared(TypedDict):
    category: str
    store_categories: list[str]  # the store's names for it, none of which was declared
    findings: int
    hosts: list[str]


class Declared(TypedDict):
    """Declared vs observed, in one store's vocabulary."""

    file: str
    store: Literal["apple", "google"]
    declared: list[str]  # the store categories the app declares
    undeclared: list[Undeclared]  # observed, but none of its store categories was declared
    not_observed: list[str]  # declared but not seen (not an accusation: maybe not exercised)


class LawInfo(TypedDict):
    id: str
    jurisdiction: str
    name: str
    citation: str
    effect: str
    source: str
    flag: str | None


class WeirdCount(TypedDict):
    name: str
    count: int


class Report(TypedDict):
    format: str  # FORMAT
    tool_version: str
    scope: Scope
    headline: Headline
    categories: list[Category]  # most findings first
    flows: list[FlowLink]
    geography: list[CountryTraffic]
    not_inspected: list[NotInspected]  # most connections first
    declared: Declared | None
    laws: list[LawInfo]  # every law id mentioned anywhere above
    weird: list[WeirdCount]  # problems met while recording, most first


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The word for ``n`` of a thing, as a sentence in a report needs it: 1 finding, 2 findings."""
    return singular if n == 1 else plural or f"{singular}s"

"""Who operates an autonomous system or a domain, the parent company, and where it is based.

The curated tables in ``data/`` (operators.csv by ASN, domains.csv by registrable domain,
parents.csv for the parents' headquarters) carry a source and a licence note on every row, and
a ``flag`` where the researched source is uncertain; the flag travels with every answer so
that it is shown, never silently dropped.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from borderflow.geo.errors import GeoError


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    """A company that runs servers, with its parent and the parent's headquarters."""

    name: str
    country: str | None  # the company's own base, where a source states it
    parent: str | None
    parent_country: str | None  # the parent's headquarters: whose law governs the company
    kind: str  # hosting (cloud, CDN, carrier: runs others' services) or own
    source: str
    flag: str | None  # what is uncertain about this answer; None when nothing is


@dataclass(frozen=True, slots=True)
class Parent:
    name: str
    hq_country: str | None
    source: str
    flag: str | None


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("borderflow.geo") / "data" / name
    try:
        return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise GeoError(f"{path}: unreadable data file ({e})") from e


def _flags(*flags: str | None) -> str | None:
    return "; ".join(f for f in flags if f) or None


@functools.cache
def parents() -> Mapping[str, Parent]:
    """Parent companies by name."""
    return {
        r["parent"]: Parent(r["parent"], r["hq_country"] or None, r["source"], r["flag"] or None)
        for r in _rows("parents.csv")
    }


def _operator(
    name: str, country: str | None, parent: str | None, kind: str, source: str, flag: str | None
) -> Operator:
    p = parents().get(parent) if parent else None
    return Operator(
        name=name,
        country=country,
        parent=parent,
        parent_country=p.hq_country if p else None,
        kind=kind,
        source=source if p is None else f"{source}; parent HQ: {p.source}",
        flag=_flags(flag, p.flag if p else None),
    )


@functools.cache
def by_asn() -> Mapping[int, Operator]:
    """Operators by autonomous system number."""
    return {
        int(r["asn"]): _operator(
            r["operator"], None, r["parent"] or None, r["kind"], r["source"], r["flag"] or None
        )
        for r in _rows("operators.csv")
    }


@functools.cache
def by_domain() -> Mapping[str, Operator]:
    """Operators by registrable domain."""
    return {
        r["domain"]: _operator(
            r["operator"],
            r["operator_country"] or None,
            r["parent"] or None,
            "own",
            r["source"],
            r["flag"] or None,
        )
        for r in _rows("domains.csv")
    }

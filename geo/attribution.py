"""The three answers for one destination: located in, registered in, operated by (and whose law).

The network (ASN) usually says who runs a server. It says little when the AS belongs to a cloud
or CDN that hosts other companies' services: then the hostname's registrable domain names the
service's operator, and the network's operator is kept as the host, since its law reaches the
data too. ``attributed_by`` records which of the two decided.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from typing import Any, Literal

from borderflow.geo import domains, operators
from borderflow.geo.addresses import address_kind
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.jurisdictions import PLACES, Rules
from borderflow.geo.operators import Operator
from borderflow.geo.schemas import Facts

Attribution = Literal["asn", "domain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationFacts:
    """Everything known about one server address reached under one hostname."""

    address: str
    address_kind: str  # public, private, loopback, cgnat, ... (see geo.addresses)
    server_name: str | None  # the hostname the client used, when known
    domain: str | None  # its registrable domain
    country: str | None  # located in (geolocation)
    city: str | None
    registered_country: str | None  # registered in (the registry's country for the block)
    asn: int | None
    as_org: str | None
    operator: str | None
    operator_country: str | None  # the operating company's own base, where stated
    operator_parent: str | None
    operator_hq_country: str | None  # the parent's headquarters
    operator_source: str | None
    operator_flag: str | None  # what is uncertain about the operator answer
    attributed_by: Attribution | None
    host_operator: str | None  # the network's operator, when the domain decided
    host_hq_country: str | None
    laws: tuple[str, ...]  # ids of the laws of every jurisdiction involved (see jurisdictions)

    def fields(self) -> dict[str, Any]:
        """As a mapping, the shape ``is_cross_border`` and JSON output take."""
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in dataclass_fields(DestinationFacts))


def unattributed(address: str) -> DestinationFacts:
    """An address nothing is known about beyond its kind."""
    return _facts(address, address_kind(address), None, None, Facts(), None, None, None, ())


class Attributor:
    """Answers for addresses and hostnames from open databases and the curated tables."""

    def __init__(self, databases: GeoDatabases | None, rules: Rules | None = None) -> None:
        self.databases = databases
        self.rules = rules or Rules.load()
        self._asns = operators.by_asn()
        self._domains = operators.by_domain()

    def describe(self, address: str, server_name: str | None = None) -> DestinationFacts:
        """The answers for ``address`` reached as ``server_name``.

        Private, loopback, CGNAT and other special addresses get no country and no operator:
        such a server is not where the hostname's owner is, whatever the name says.
        """
        parsed = _canonical(address)
        ip = str(parsed) if parsed is not None else address
        kind = address_kind(parsed) if parsed is not None else "invalid"
        host = domains.normalise(server_name)
        domain = domains.registrable_domain(host)
        if kind != "public":
            return _facts(ip, kind, host, domain, Facts(), None, None, None, ())
        facts = self.databases.lookup(ip) if self.databases is not None else Facts()
        by_asn = self._asns.get(facts.asn) if facts.asn is not None else None
        by_domain = next(
            (self._domains[c] for c in domains.candidates(host, domain) if c in self._domains),
            None,
        )
        decided: Operator | None = by_asn
        how: Attribution | None = "asn" if by_asn else None
        host_op: Operator | None = None
        # A cloud or CDN network only hosts: the hostname's owner operates the service, even
        # on its own group's cloud (Umeng on Alibaba Cloud is Umeng's; both answers are kept).
        if by_domain is not None and (by_asn is None or by_asn.kind == "hosting"):
            decided, how, host_op = by_domain, "domain", by_asn
        found = _facts(ip, kind, host, domain, facts, decided, how, host_op, ())
        places = tuple(dict.fromkeys(getattr(found, f) for f, _ in PLACES if getattr(found, f)))
        return replace(found, laws=self._law_ids(places))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Attributor per session, a few keys
    def _law_ids(self, places: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(law.id for law in self.rules.reaching(places))


def _canonical(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address as the databases index it (IPv4-mapped IPv6 becomes IPv4); None if invalid."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _facts(
    address: str,
    kind: str,
    host: str | None,
    domain: str | None,
    facts: Facts,
    op: Operator | None,
    how: Attribution | None,
    host_op: Operator | None,
    laws: tuple[str, ...],
) -> DestinationFacts:
    return DestinationFacts(
        address=address,
        address_kind=kind,
        server_name=host,
        domain=domain,
        country=facts.country,
        city=facts.city,
        registered_country=facts.registered_country,
        asn=facts.asn,
        as_org=facts.as_org,
        operator=op.name if op else None,
        operator_country=op.country if op else None,
        operator_parent=op.parent if op else None,
        operator_hq_country=op.parent_country if op else None,
        operator_source=op.source if op else None,
        operator_flag=op.flag if op else None,
        attributed_by=how,
        host_operator=host_op.name if host_op else None,
        host_hq_country=host_op.parent_country if host_op else None,
        laws=laws,
    )

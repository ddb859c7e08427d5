"""Turn a server address and the hostname it was reached under into a ``destination`` row.

The pipeline's worker thread owns one ``Enricher``: it opens the geolocation databases on first
use (so starting a proxy or a replay costs nothing), remembers DNS answers seen earlier in the
session (a connection without SNI or Host still gets a name), and caches answers per address
and hostname, because a capture reaches the same few servers over and over. Geography is an
addition: when the databases are missing or broken, rows are still written, with what is known
(the address kind, the hostname, the domain's operator), and the problem is logged once.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from borderflow.analysis.records import Connection, Destination, DnsRecord, Record
from borderflow.geo.attribution import Attributor, DestinationFacts, unattributed
from borderflow.geo.databases import GeoDatabases
from borderflow.geo.errors import GeoError
from borderflow.geo.paths import default_geo_dir

logger = logging.getLogger(__name__)

_DNS_NAMES_MAX = 100_000  # addresses remembered from DNS answers per session


class Enricher:
    """Destination rows for addresses; use from one thread (the pipeline's worker)."""

    def __init__(self, geo_dir: Path | None, *, cache_size: int = 65_536) -> None:
        self.geo_dir = geo_dir
        self._attributor: Attributor | None = None
        self._dns_names: dict[str, str] = {}
        self._describe = functools.lru_cache(maxsize=cache_size)(self._describe_uncached)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Enricher:
        """Use ``$BORDERFLOW_GEO_DIR`` or the user's data folder (see ``geo.paths``)."""
        return cls(default_geo_dir(os.environ if env is None else env))

    def note(self, record: Record) -> None:
        """Remember which name each address in a DNS answer was looked up as."""
        if isinstance(record, DnsRecord) and record.answers:
            for answer in record.answers.split(","):
                answer = answer.strip()
                if answer and (":" in answer or answer.replace(".", "").isdigit()):
                    if len(self._dns_names) >= _DNS_NAMES_MAX:
                        self._dns_names.pop(next(iter(self._dns_names)))
                    self._dns_names[answer] = record.query.rstrip(".")

    def hostname(self, resp_h: str, server_name: str | None) -> tuple[str | None, str | None]:
        """The hostname for a connection and where it came from: ``connection`` or ``dns``."""
        if server_name:
            return server_name, "connection"
        name = self._dns_names.get(resp_h)
        return (name, "dns") if name else (None, None)

    def destination(
        self, resp_h: str, *, first_seen: float, server_name: str | None = None
    ) -> Destination:
        """The ``destination`` row for ``resp_h`` reached as ``server_name``; never raises."""
        name, name_source = self.hostname(resp_h, server_name)
        facts = self._describe(resp_h, name)
        return to_destination(
            facts,
            resp_h=resp_h,
            reached_as=server_name or "",
            first_seen=first_seen,
            server_name_source=name_source,
        )

    def destinations_for(
        self, records: tuple[Record, ...], addresses: tuple[str, ...], first_seen: float
    ) -> list[Destination]:
        """Rows for ``addresses``, one per name the connections in ``records`` reached it as."""
        for r in records:
            self.note(r)
        names: dict[str, list[str]] = {h: [] for h in addresses}
        for r in records:
            if isinstance(r, Connection) and r.resp_h in names and r.server_name:
                names[r.resp_h].append(r.server_name)
        return [
            self.destination(h, first_seen=first_seen, server_name=name)
            for h, reached in names.items()
            for name in (dict.fromkeys(reached) or (None,))
        ]

    def _describe_uncached(self, resp_h: str, name: str | None) -> DestinationFacts:
        try:
            return self._open().describe(resp_h, name)
        except Exception:
            logger.exception("enriching %s (%s) failed", resp_h, name)
            return unattributed(resp_h)

    def _open(self) -> Attributor:
        if self._attributor is None:
            databases: GeoDatabases | None = None
            if self.geo_dir is not None:
                try:
                    databases = GeoDatabases.open(self.geo_dir)
                except GeoError as e:
                    logger.warning("destinations get no geolocation: %s", e)
                else:
                    if not databases.infos:
                        logger.warning(
                            "destinations get no geolocation: no databases in %s "
                            "(run `borderflow geo update`)",
                            self.geo_dir,
                        )
            self._attributor = Attributor(databases)
        return self._attributor

    def close(self) -> None:
        if self._attributor is not None and self._attributor.databases is not None:
            self._attributor.databases.close()
        self._describe.cache_clear()


def to_destination(
    facts: DestinationFacts,
    *,
    resp_h: str,
    first_seen: float,
    reached_as: str = "",
    server_name_source: str | None = None,
) -> Destination:
    """A ``destination`` row from the geo answers; ``laws`` are stored comma-separated.

    ``resp_h`` is the address as the connection rows spell it (an IPv4-mapped IPv6 address
    stays as it is), so the row joins back to ``conn``.
    """
    return Destination(
        resp_h=resp_h,
        reached_as=reached_as,
        first_seen=first_seen,
        country=facts.country,
        city=facts.city,
        registered_country=facts.registered_country,
        asn=facts.asn,
        as_org=facts.as_org,
        operator=facts.operator,
        operator_country=facts.operator_country,
        address_kind=facts.address_kind,
        server_name=facts.server_name,
        server_name_source=server_name_source if facts.server_name else None,
        domain=facts.domain,
        operator_parent=facts.operator_parent,
        operator_hq_country=facts.operator_hq_country,
        operator_source=facts.operator_source,
        operator_flag=facts.operator_flag,
        attributed_by=facts.attributed_by,
        host_operator=facts.host_operator,
        host_hq_country=facts.host_hq_country,
        laws=",".join(facts.laws) or None,
    )

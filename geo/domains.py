"""Hostnames to registrable domains, through the Public Suffix List.

``publicsuffixlist`` ships the list, so nothing is fetched at run time. Only the ICANN section
is used: ``x.firebaseio.com`` or ``bucket.oss.aliyuncs.com`` are customers' names under a
provider's domain (the private section), and the provider is who runs the server.
"""

from __future__ import annotations

import functools
import ipaddress

from publicsuffixlist import PublicSuffixList


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


def normalise(host: str | None) -> str | None:
    """Lower case, no port, no trailing dot; ``None`` for IP literals and empty names."""
    if not host:
        return None
    h = host.strip().lower()
    if h.startswith("["):  # [v6]:port
        return None
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    h = h.rstrip(".")
    if not h or ":" in h:  # nothing, or an IPv6 literal
        return None
    if h.replace(".", "").isdigit() and _is_ip(h):
        return None
    return h


def _is_ip(h: str) -> bool:
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


def registrable_domain(host: str | None) -> str | None:
    """``api.mapi.alipay.com`` -> ``alipay.com``; ``None`` for IPs and bare public suffixes."""
    return _registrable(normalise(host))


def _registrable(h: str | None) -> str | None:
    if h is None:
        return None
    domain = _psl().privatesuffix(h)
    return domain if isinstance(domain, str) else None


def candidates(host: str | None, domain: str | None = None) -> list[str]:
    """The host and its parents down to the registrable domain, most specific first.

    Pass an already normalised ``host`` and its ``domain`` to skip working them out again.
    """
    h = normalise(host) if domain is None else host
    domain = domain or _registrable(h)
    if h is None or domain is None:
        return []
    labels = h.split(".")
    n = domain.count(".") + 1
    return [".".join(labels[i:]) for i in range(len(labels) - n + 1)]

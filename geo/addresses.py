"""Addresses that have no country: loopback, private, shared (CGNAT) and other special ranges.

Answered before any database lookup, so such an address is never reported as in a country.
"""

from __future__ import annotations

import ipaddress

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def address_kind(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """One of public, loopback, private, cgnat, link_local, multicast, reserved, invalid."""
    if isinstance(address, str):
        try:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
        except ValueError:
            return "invalid"
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "cgnat"
    if ip.is_private:
        return "private"
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "reserved"
    return "public"

"""Test-only mitmproxy addon: every upstream connection goes to a local server, nothing leaves.

Loaded with ``-s`` before the recorder. Clients use real hostnames (``mgw.alipay.com``) and
send ``CONNECT mgw.alipay.com:443`` to the proxy as a phone would; the ``server_connect`` hook
points the connection at a server on 127.0.0.1 *before* mitmproxy resolves or contacts
anything. Once connected, ``server_connected`` puts the name back into ``server.address``, so
what the recorder sees is what a real regular-mode session looks like: the name the device
asked for as the address, the loopback address as the peer (``resp_h``), SNI unchanged.

Options:

- ``loopback_upstream=127.0.0.1:PORT``: where every host goes unless mapped below.
- ``loopback_hosts=NAME=127.0.0.1:PORT,...``: per-host targets (e.g. the raw TCP server).

A host with no target is refused. As a second line of defence, loading the addon installs an
audit hook in mitmdump that refuses (and logs, with ``GUARD_MARK``) any name lookup or connect
to a non-loopback address, before a packet is sent.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Callable
from typing import Any

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

logger = logging.getLogger(__name__)

GUARD_MARK = "loopback guard refused"

_ADDRESS_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
_NAME_EVENTS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
    }
)


def is_loopback(host: object) -> bool:
    """True for loopback addresses, ``localhost``, and "no host" (a passive lookup)."""
    if host is None or host in ("", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class LoopbackGuard:
    """An audit hook refusing name lookups and connects that would leave the machine.

    Audit hooks cannot be removed; ``enabled`` switches this one off instead. (A plain class:
    mitmdump loads this file under a module name that dataclasses cannot look up.)
    """

    def __init__(self, on_violation: Callable[[str], None] | None = None) -> None:
        self.on_violation = on_violation
        self.enabled = True
        self.violations: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.enabled:
            return
        if event in _ADDRESS_EVENTS:
            address = args[1]  # (socket, address) for all three
            if not isinstance(address, tuple) or not address:
                return  # AF_UNIX paths, socketpairs, connected-socket sends
            host = address[0]
        elif event in _NAME_EVENTS:
            host = args[0]
        elif event == "socket.getnameinfo":
            host = args[0][0] if args and isinstance(args[0], tuple) and args[0] else None
        else:
            return
        if is_loopback(host):
            return
        message = f"{GUARD_MARK} {event} {host!r}"
        self.violations.append(message)
        if self.on_violation is not None:
            self.on_violation(message)
        raise PermissionError(message)


def install_loopback_guard(on_violation: Callable[[str], None] | None = None) -> LoopbackGuard:
    """Install a ``LoopbackGuard`` in this process for good (audit hooks cannot be removed)."""
    guard = LoopbackGuard(on_violation=on_violation)
    sys.addaudithook(guard)
    return guard


def parse_target(text: str) -> tuple[str, int]:
    """``127.0.0.1:PORT`` as an address; ValueError unless it is a loopback address."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not is_loopback(host) or not host:
        raise ValueError(f"{text!r} is not a loopback HOST:PORT")
    return host, int(port)


def parse_hosts(text: str) -> dict[str, tuple[str, int]]:
    """``NAME=127.0.0.1:PORT,...`` as a mapping from lower-case names to loopback addresses."""
    hosts = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, target = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{item!r} is not NAME=HOST:PORT")
        hosts[name.lower()] = parse_target(target)
    return hosts


class LoopbackUpstream:
    def __init__(self) -> None:
        self.default: tuple[str, int] | None = None
        self.hosts: dict[str, tuple[str, int]] = {}
        self._asked: dict[str, tuple[str, int]] = {}  # server connection id -> original address
        self._guard: LoopbackGuard | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            name="loopback_upstream",
            typespec=str,
            default="",
            help="127.0.0.1:PORT that every upstream connection goes to unless mapped.",
        )
        loader.add_option(
            name="loopback_hosts",
            typespec=str,
            default="",
            help="NAME=127.0.0.1:PORT pairs, comma-separated: per-host upstream targets.",
        )
        if self._guard is None:
            self._guard = install_loopback_guard(on_violation=logger.error)

    def configure(self, updated: set[str]) -> None:
        try:
            if "loopback_upstream" in updated:
                text = ctx.options.loopback_upstream
                self.default = parse_target(text) if text else None
            if "loopback_hosts" in updated:
                self.hosts = parse_hosts(ctx.options.loopback_hosts)
        except ValueError as e:
            raise exceptions.OptionsError(f"loopback: {e}") from e

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        if address is None:
            data.server.error = "loopback: no address to map"
            return
        target = self.hosts.get(str(address[0]).lower(), self.default)
        if target is None:
            data.server.error = f"loopback: {address[0]} is not mapped to a local server"
            return
        self._asked[data.server.id] = (address[0], address[1])
        data.server.address = target

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        asked = self._asked.pop(data.server.id, None)
        if asked is not None:
            # As if mitmproxy had resolved the name itself: the address stays the name the
            # client asked for, the peer is 127.0.0.1. mitmproxy forbids assigning the address
            # of an open connection (it would no longer match the socket); here it matches by
            # construction, so the guard is stepped around on purpose.
            object.__setattr__(data.server, "address", asked)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.server_connected(data)


addons = [LoopbackUpstream()]

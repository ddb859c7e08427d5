"""A mitmproxy addon for recording test traffic: send named hosts to local servers instead.

Loaded with ``-s`` next to the recorder when the demo capture (or a test) is recorded. Its
``server_connect`` hook rewrites the address mitmproxy is about to connect to, before any name
is resolved, so the apps' real hostnames appear in SNI, Host and the records while every packet
goes to 127.0.0.1. A host that is not in the map is refused: nothing leaves the machine.

Option: ``--set loopback_map=HOST=PORT,HOST=PORT,*=PORT`` (``*`` matches any other host).
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import server_hooks

logger = logging.getLogger(__name__)


class LoopbackMap:
    def __init__(self) -> None:
        self.ports: dict[str, int] = {}

    def load(self, loader: Loader) -> None:
        loader.add_option(
            name="loopback_map",
            typespec=str,
            default="",
            help="HOST=PORT pairs, comma-separated: connect to 127.0.0.1:PORT for HOST.",
        )

    def configure(self, updated: set[str]) -> None:
        if "loopback_map" in updated:
            try:
                pairs = (item.split("=") for item in ctx.options.loopback_map.split(",") if item)
                self.ports = {host: int(port) for host, port in pairs}
            except ValueError as e:
                raise exceptions.OptionsError(f"loopback_map: {e}") from e  # type: ignore[no-untyped-call]

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        assert data.server.address is not None
        host = data.server.address[0]
        port = self.ports.get(host, self.ports.get("*"))
        if port is None:
            data.server.error = f"loopback_map: {host} is not mapped to a local server"
            return
        # The flow file keeps only the rewritten address; keep the name the device asked for
        # where records look for it (for TLS connections mitmproxy sets the same value).
        data.server.sni = data.server.sni or host
        data.server.address = ("127.0.0.1", port)


addons = [LoopbackMap()]

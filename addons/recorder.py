"""Record every connection the device makes, including those that cannot be decrypted.

Hooks only snapshot and hand off: they copy references into an Observation (for an HTTP
exchange, the one event per request, an ``ExchangeSnapshot``) and queue it.
Decoding, detection and SQLite run on the pipeline's worker (and its helper process), never
on mitmproxy's event loop. A client that rejects the interception certificate (certificate
pinning) is recorded with its SNI, destination and bytes; later connections to that host are
passed through uninspected, so the app keeps working and its metadata is still logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from pathlib import Path

from mitmproxy import connection, ctx, dns, http, tcp, tls, udp
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import layer, layers, server_hooks

from borderflow.analysis.detectors.profile import load_profile
from borderflow.analysis.errors import BorderflowError
from borderflow.analysis.ids import derived_id
from borderflow.analysis.live import LivePipeline
from borderflow.analysis.pipeline import Settings
from borderflow.analysis.records import Capture, Observation, SourceKind
from borderflow.analysis.sources import quic_initial
from borderflow.analysis.sources.mitm import ConnTracker, ExchangeSnapshot
from borderflow.analysis.tls_hello import parse_client_hello
from borderflow.analysis.version import VERSION

logger = logging.getLogger(__name__)
# What went wrong while recording, in this process: `borderflow proxy` exits with status 1 when
# this is not empty (mitmdump's own status cannot be set from an addon once it runs).
failures: list[str] = []


class Recorder:
    """The borderflow addon: options ``borderflow_*``, hooks for every way a connection ends."""

    def __init__(self) -> None:
        self._pipeline: LivePipeline | None = None
        self._tracker: ConnTracker | None = None
        self._capture: Capture | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pinned: set[str] = set()  # hosts (SNI or address) that rejected interception
        self._problem: str | None = None  # why the recorder could not start

    def load(self, loader: Loader) -> None:
        loader.add_option(
            name="borderflow_db",
            typespec=str | None,  # type: ignore[arg-type] # mitmproxy accepts unions at runtime
            default=None,
            help="SQLite database every observed connection is written to (created if missing).",
        )
        loader.add_option(
            name="borderflow_app",
            typespec=str | None,  # type: ignore[arg-type] # mitmproxy accepts unions at runtime
            default=None,
            help="Name of the app under test, stored with every connection.",
        )
        loader.add_option(
            name="borderflow_device",
            typespec=str | None,  # type: ignore[arg-type] # mitmproxy accepts unions at runtime
            default=None,
            help="Name of the test device, stored with the capture.",
        )
        loader.add_option(
            name="borderflow_profile",
            typespec=str | None,  # type: ignore[arg-type] # mitmproxy accepts unions at runtime
            default=None,
            help="Device profile (TOML, docs/profile.example.toml): the values planted on the "
            "test phone, looked for in every payload.",
        )
        loader.add_option(
            name="borderflow_redact",
            typespec=bool,
            default=True,
            help="Store findings' evidence redacted (default) rather than the matched values.",
        )
        loader.add_option(
            name="borderflow_passthrough_pinned",
            typespec=bool,
            default=True,
            help="Pass later connections to a host through uninspected once it rejected "
            "the interception certificate, so a pinned app keeps working.",
        )

    def configure(self, updated: set[str]) -> None:
        keys = {
            "borderflow_db",
            "borderflow_app",
            "borderflow_device",
            "borderflow_profile",
            "borderflow_redact",
        }
        if not keys & updated:
            return
        self.done()
        self._problem = None
        if ctx.options.borderflow_db is None:
            return  # `running` refuses to proxy unrecorded if it is still unset then
        path = Path(ctx.options.borderflow_db)
        option = "borderflow_profile"
        try:
            profile_path = ctx.options.borderflow_profile
            profile = load_profile(Path(profile_path)) if profile_path else None
            settings = Settings(redact=ctx.options.borderflow_redact, profile=profile)
            option = "borderflow_db"
            self._pipeline = LivePipeline(path, settings, on_fatal=self._fatal_from_thread)
        except BorderflowError as e:
            # Logged, not raised: mitmproxy would print a traceback for a script's
            # OptionsError. An error logged at start-up makes mitmdump exit with status 1,
            # and `running` stops a proxy that is already running.
            self._problem = f"{option}: {e}"
            logger.error(f"borderflow: {self._problem}")
            return
        started = time.time()
        self._capture = Capture(
            id=derived_id("K", "live", str(path.resolve()), repr(started), str(os.getpid())),
            source=SourceKind.LIVE,
            path=str(path),
            sha256=None,
            started=started,
            ended=None,
            app=ctx.options.borderflow_app,
            device=ctx.options.borderflow_device,
            tool_version=VERSION,
        )
        self._tracker = ConnTracker(self._capture.id, app=ctx.options.borderflow_app)
        self._pipeline.submit(Observation(records=(self._capture,)))
        logger.info(f"borderflow: recording into {path}")

    def running(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._pipeline is None:
            self._fatal(self._problem or "borderflow_db is not set (--set borderflow_db=PATH)")

    def done(self) -> None:
        """Record what is still open and drain the queue; runs on shutdown and reconfigure."""
        if self._pipeline is None or self._tracker is None or self._capture is None:
            return
        now = time.time()
        for obs in self._tracker.close_all(ended=now):
            self._pipeline.submit(obs)
        ended = dataclasses.replace(self._capture, ended=now)
        self._pipeline.submit(Observation(records=(ended,)))
        pipeline, self._pipeline, self._tracker = self._pipeline, None, None
        # Bodies held back while the proxy was busy are classified now: say why it waits.
        logger.info("borderflow: writing what is still queued (classifying held bodies)")
        try:
            pipeline.close()
        except BorderflowError as e:
            failures.append(str(e))
            logger.error(f"borderflow: {e}")
        else:
            logger.info(f"borderflow: {pipeline.counts.records} rows written")

    # -- connections ----------------------------------------------------------------------

    def client_connected(self, client: connection.Client) -> None:
        if self._tracker is not None:
            self._tracker.state(client.id, client)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if self._tracker is not None:
            self._tracker.server(data.client.id, data.client, data.server)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.server_connected(data)

    def client_disconnected(self, client: connection.Client) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.close(client.id))

    # -- TLS ------------------------------------------------------------------------------

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if self._tracker is not None:
            raw = data.client_hello.raw_bytes()
            client = data.context.client
            self._tracker.clienthello(client.id, client, parse_client_hello(raw), len(raw))

    def tls_established_client(self, data: tls.TlsData) -> None:
        if self._tracker is not None:
            self._tracker.tls_established(data.context.client.id, data.context.client)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        """The client rejected our certificate: pinning, or a CA it does not trust."""
        client = data.context.client
        if self._tracker is not None:
            self._tracker.tls_failed(client.id, client, data.conn.error, client_side=True)
        host = client.sni or _address(data.context.server)
        # Its address too: a ClientHello in several segments is judged by where it goes.
        names = {n for n in (client.sni, _address(data.context.server)) if n}
        if host and ctx.options.borderflow_passthrough_pinned and not names <= self._pinned:
            self._pinned |= names
            logger.warning(
                f"borderflow: {host} rejected the interception certificate; "
                "later connections to it pass through uninspected"
            )

    def tls_failed_server(self, data: tls.TlsData) -> None:
        client = data.context.client
        if self._tracker is not None:
            self._tracker.tls_failed(client.id, client, data.conn.error, client_side=False)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Forward TLS (or QUIC) to a host that rejected interception before as raw, counted
        TCP (or UDP).

        Runs before mitmproxy's own layer choice, which leaves a layer another addon set alone.
        """
        if not self._pinned or self._tracker is None or nextlayer.layer is not None:
            return
        raw = nextlayer.data_client()
        udp = nextlayer.context.client.transport_protocol == "udp"
        if udp and quic_initial.is_initial(raw):
            initial = quic_initial.InitialReader()
            initial.datagram(raw)
            hello = initial.hello
        elif not udp and raw[:1] == b"\x16":
            hello = parse_client_hello(raw)
            if hello is None and not _partial_client_hello(raw):
                return
        else:
            return
        # mitmproxy picks its TLS or QUIC layer on the first segment or datagram, so a
        # ClientHello in several (large ones, e.g. with post-quantum key shares) is judged by
        # its destination; its fields are read from the flow when it ends (ConnTracker.stream).
        host = (hello.server_name if hello else None) or _address(nextlayer.context.server)
        if host in self._pinned:
            client = nextlayer.context.client
            if hello is not None:
                self._tracker.clienthello(client.id, client, hello, len(raw))
            self._tracker.passed_through(client.id, client)
            context = nextlayer.context
            nextlayer.layer = layers.UDPLayer(context) if udp else layers.TCPLayer(context)

    # -- flows ----------------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self._tracker is not None:
            self._tracker.connect_target(flow.client_conn.id, flow.client_conn, flow.request.host)

    def response(self, flow: http.HTTPFlow) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.exchange_snapshot(flow.client_conn.id, flow))
        elif flow.killable:
            # Shutting down, or never started: do not hand the client an exchange that will
            # not be recorded.
            logger.warning(f"borderflow: not recording; dropped {flow.request.pretty_url}")
            flow.kill()

    def error(self, flow: http.HTTPFlow) -> None:
        self.response(flow)  # failed exchanges are recorded too

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.websocket(flow.client_conn.id, flow))

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        if self._tracker is not None:
            self._tracker.stream_started(flow.client_conn.id, flow)

    def udp_start(self, flow: udp.UDPFlow) -> None:
        if self._tracker is not None:
            self._tracker.stream_started(flow.client_conn.id, flow)

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.stream(flow.client_conn.id, flow))

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        self.tcp_end(flow)

    def udp_end(self, flow: udp.UDPFlow) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.stream(flow.client_conn.id, flow))

    def udp_error(self, flow: udp.UDPFlow) -> None:
        self.udp_end(flow)

    def dns_response(self, flow: dns.DNSFlow) -> None:
        if self._tracker is not None:
            self._submit(self._tracker.dns_query(flow.client_conn.id, flow))

    def dns_error(self, flow: dns.DNSFlow) -> None:
        self.dns_response(flow)

    # -- plumbing -------------------------------------------------------------------------

    def _submit(self, item: Observation | ExchangeSnapshot) -> None:
        if self._pipeline is not None:
            self._pipeline.submit(item)  # O(1); never blocks the event loop

    def _fatal_from_thread(self, message: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fatal, message)

    def _fatal(self, message: str) -> None:
        # Proxying traffic that is not recorded would defeat the purpose: stop instead.
        failures.append(message)
        logger.error(f"borderflow: {message}; stopping the proxy")
        ctx.master.shutdown()


def _address(server: connection.Server) -> str | None:
    return server.address[0] if server.address else None


def _partial_client_hello(raw: bytes) -> bool:
    """Whether ``raw`` (starting with a handshake record) is the first part of a ClientHello."""
    if len(raw) < 9:
        return True
    return raw[5] == 1 and len(raw) < 9 + int.from_bytes(raw[6:9], "big")

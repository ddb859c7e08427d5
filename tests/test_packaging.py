"""The built wheel installs one namespace, borderflow.*, and nothing under generic names."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_ships_only_the_borderflow_namespace(tmp_path: Path) -> None:
    # Build from a copy: setuptools leaves a build/ folder in the tree it builds.
    source = tmp_path / "src"
    skip = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "*.db*")
    shutil.copytree(REPO, source, symlinks=True, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("borderflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("borderflow/", "borderflow-")) for n in names), names
    for package in ("addons", "analysis", "geo"):
        assert f"borderflow/{package}/__init__.py" in names
    assert "borderflow/addons/entry.py" in names
    assert "borderflow/py.typed" in names


def test_generic_names_do_not_import() -> None:
    """Run from outside the repo, so the working directory cannot leak `analysis` in."""
    code = "import importlib.util as u; print([n for n in ('analysis', 'geo', 'addons') if u.find_spec(n)])"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd="/"
    )
    assert out.stdout.strip() == "[]"

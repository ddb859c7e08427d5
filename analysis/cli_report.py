"""``borderflow report`` and ``borderflow diff`` (being written: see analysis/report_model.py)."""

from __future__ import annotations

import click


@click.command()
def report() -> None:
    """Write the cross-border data-flow report."""
    raise click.ClickException("not written yet")


@click.command()
def diff() -> None:
    """What changed between two captures."""
    raise click.ClickException("not written yet")

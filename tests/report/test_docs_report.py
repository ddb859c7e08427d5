"""docs/report.md documents every field of the JSON the report and the diff print."""

from __future__ import annotations

import typing

import pytest

from borderflow.analysis import report, report_diff, report_model
from tests.conftest import REPO

DOC = (REPO / "docs" / "report.md").read_text(encoding="utf-8")


def typed_dicts(module: object) -> list[type]:
    return [
        v
        for v in vars(module).values()
        if isinstance(v, type) and typing.is_typeddict(v) and v.__module__ == module.__name__  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize(
    "model",
    typed_dicts(report_model) + typed_dicts(report_diff),
    ids=lambda m: m.__name__,
)
def test_every_json_field_is_documented(model: type) -> None:
    missing = [f for f in typing.get_type_hints(model) if f"`{f}`" not in DOC]
    assert not missing, f"{model.__name__}: {missing} not in docs/report.md"


def test_the_documented_format_strings_and_evidence_count_are_current() -> None:
    assert f'`"{report_model.FORMAT}"`' in DOC
    assert f'`"{report_diff.FORMAT}"`' in DOC
    assert f"the first {report.EVIDENCE_PER_CATEGORY} findings" in DOC

"""The labelled corpus: well formed, in step with its sources, and scored above the targets."""

import json

import pytest

from borderflow.analysis.records import Category
from tests.corpus.evaluate import CORPUS, evaluate, format_report
from tests.corpus.make_corpus import all_cases, render

CATEGORIES = {str(c) for c in Category}


@pytest.fixture(scope="module")
def lines():
    return CORPUS.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def report(lines):
    return evaluate(lines)


def test_corpus_file_is_what_the_case_modules_write():
    """Edit the cases_*.py modules, then run tests/corpus/make_corpus.py."""
    assert CORPUS.read_text(encoding="utf-8") == render(all_cases())


def test_corpus_is_large_enough_and_has_negatives(lines):
    items = [json.loads(line) for line in lines]
    assert len(items) >= 100
    assert sum(1 for item in items if not item["labels"]) >= 25
    assert len({item["id"] for item in items}) == len(items)


def test_every_message_cites_a_source_and_labels_known_categories(lines):
    for line in lines:
        item = json.loads(line)
        assert item["source"].strip(), item["id"]
        for label in item["labels"]:
            assert label["type"] in CATEGORIES, (item["id"], label)
            assert set(label) == {"type", "value", "where"}, item["id"]


def test_targets_are_met(report):
    """Category-level F1 >= 0.95, recall >= 0.85 per category, <= 1 false category per 20
    negatives (the issue's acceptance targets)."""
    overall = report.overall(report.categories)
    assert overall.f1 >= 0.95, format_report(report)
    for category, counts in report.categories.items():
        if counts.tp + counts.fn:
            assert counts.recall >= 0.85, (category, format_report(report))
    assert report.false_categories_per_20_negatives <= 1, format_report(report)


def test_every_category_is_in_the_corpus(report):
    labelled = {c for c, counts in report.categories.items() if counts.tp + counts.fn}
    assert labelled == CATEGORIES


def test_report_lists_misses_and_false_alarms():
    line = json.dumps(
        {"id": "x", "url": "https://a.example/?gaid=00000000-0000-0000-0000-000000000000",
         "body": "mail jane@example.com", "labels": [{"type": "contact.phone", "value": "1",
                                                     "where": "body/text"}]}
    )  # fmt: skip
    report = evaluate([line])
    text = format_report(report)
    assert "x: contact.phone" in text
    assert "x: contact.email" in text

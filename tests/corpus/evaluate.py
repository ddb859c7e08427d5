"""Score the classifier against labelled corpora: ``make eval`` (or run this file directly).

    python tests/corpus/evaluate.py [CORPUS.jsonl ...] [--min-confidence 0.5] [--quiet]

Every line is a ``borderflow classify`` input line plus ``labels``: ``[{"type": category,
"value": ..., "where": location}]``, empty for a negative. A finding counts when its
confidence reaches ``--min-confidence``. Two scores:

- category level: for each message, the set of categories found against the set labelled;
  per category and overall (micro) precision, recall and F1;
- value level: a labelled value is found when a finding of its category has the same value
  (compared without case and separators, or one containing the other) or the same location;
  a finding that matches no label is a false alarm.

Negatives (messages without labels) also give the false-category rate: categories reported
per 20 negative messages. Misses and false alarms are listed by message id.

It lives with the corpus rather than in the package: it is a developer's yardstick, and a
held-out corpus in the same format is scored the same way (``make eval CORPUS=path``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from borderflow.analysis.classify import Detection, classify
from borderflow.analysis.cli import parse_message_line

CORPUS = Path(__file__).with_name("corpus.jsonl")
DEFAULT_MIN_CONFIDENCE = 0.5
_SEPARATORS = re.compile(r"[\s\-:.()+,/_]")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """Scores of one evaluation run."""

    messages: int = 0
    negatives: int = 0
    negative_false_categories: int = 0
    categories: dict[str, Counts] = field(default_factory=dict)
    values: dict[str, Counts] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    value_misses: list[str] = field(default_factory=list)
    value_false_alarms: list[str] = field(default_factory=list)

    def overall(self, table: dict[str, Counts]) -> Counts:
        total = Counts()
        for counts in table.values():
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
        return total

    @property
    def false_categories_per_20_negatives(self) -> float:
        return 20 * self.negative_false_categories / self.negatives if self.negatives else 0.0


def normal(text: str) -> str:
    return _SEPARATORS.sub("", str(text)).lower()


def _matches(detection: Detection, label: dict[str, str]) -> bool:
    if str(detection.category) != label["type"]:
        return False
    found, wanted = normal(detection.value), normal(label.get("value", ""))
    if found and wanted and (found == wanted or (len(wanted) >= 4 and wanted in found)):
        return True
    if found and wanted and len(found) >= 6 and found in wanted:
        return True
    return bool(label.get("where")) and detection.location == label["where"]


def evaluate(lines: Iterable[str], *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Report:
    """Classify every labelled line and score the findings."""
    report = Report()
    for line in lines:
        if not line.strip():
            continue
        item: dict[str, Any] = json.loads(line)
        ident, message = parse_message_line(line)
        labels: list[dict[str, str]] = item.get("labels", [])
        found = [d for d in classify(message).detections if d.confidence >= min_confidence]
        report.messages += 1
        _score_categories(report, str(ident), labels, found)
        _score_values(report, str(ident), labels, found)
    return report


def _score_categories(
    report: Report, ident: str, labels: list[dict[str, str]], found: list[Detection]
) -> None:
    wanted = {label["type"] for label in labels}
    got = {str(d.category) for d in found}
    if not labels:
        report.negatives += 1
        report.negative_false_categories += len(got)
    for category in wanted | got:
        counts = report.categories.setdefault(category, Counts())
        if category in wanted and category in got:
            counts.tp += 1
        elif category in got:
            counts.fp += 1
            example = next(d for d in found if str(d.category) == category)
            report.false_alarms.append(
                f"{ident}: {category} at {example.location} ({example.detector}: {example.reason})"
            )
        else:
            counts.fn += 1
            where = next(label.get("where", "") for label in labels if label["type"] == category)
            report.misses.append(f"{ident}: {category} (labelled at {where})")


def _score_values(
    report: Report, ident: str, labels: list[dict[str, str]], found: list[Detection]
) -> None:
    for label in labels:
        counts = report.values.setdefault(label["type"], Counts())
        if any(_matches(d, label) for d in found):
            counts.tp += 1
        else:
            counts.fn += 1
            report.value_misses.append(f"{ident}: {label['type']} {label.get('value')!r}")
    seen: set[tuple[str, str]] = set()
    for detection in found:
        key = (str(detection.category), normal(detection.value))
        if key in seen:
            continue
        seen.add(key)
        if not any(_matches(detection, label) for label in labels):
            report.values.setdefault(str(detection.category), Counts()).fp += 1
            report.value_false_alarms.append(
                f"{ident}: {detection.category} {detection.value[:60]!r} at {detection.location}"
            )


def format_report(report: Report, *, details: bool = True) -> str:
    """The table ``make eval`` prints."""
    out = [f"{report.messages} messages, {report.negatives} negatives", ""]
    out.append(f"{'category':26} {'cat P':>6} {'cat R':>6} {'cat F1':>6} {'n':>4}   "
               f"{'val P':>6} {'val R':>6} {'val F1':>6} {'n':>4}")  # fmt: skip
    for category in sorted(set(report.categories) | set(report.values)):
        c = report.categories.get(category, Counts())
        v = report.values.get(category, Counts())
        out.append(_row(category, c, v))
    out.append(_row("overall", report.overall(report.categories), report.overall(report.values)))
    out.append("")
    out.append(
        f"negatives: {report.negative_false_categories} false categories in "
        f"{report.negatives} messages = {report.false_categories_per_20_negatives:.2f} per 20"
    )
    if details:
        out.append("")
        out.append(f"misses ({len(report.misses)}):")
        out.extend(f"  {m}" for m in report.misses)
        out.append(f"false alarms ({len(report.false_alarms)}):")
        out.extend(f"  {f}" for f in report.false_alarms)
        out.append(f"values missed ({len(report.value_misses)}):")
        out.extend(f"  {m}" for m in report.value_misses)
        out.append(f"values found but not labelled ({len(report.value_false_alarms)}):")
        out.extend(f"  {f}" for f in report.value_false_alarms)
    return "\n".join(out)


def _row(name: str, c: Counts, v: Counts) -> str:
    return (
        f"{name:26} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} {c.tp + c.fn:4d}   "
        f"{v.precision:6.3f} {v.recall:6.3f} {v.f1:6.3f} {v.tp + v.fn:4d}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", type=Path, default=[CORPUS])
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE)
    parser.add_argument("--quiet", action="store_true", help="Only the table.")
    args = parser.parse_args(argv)
    lines: list[str] = []
    for path in args.corpus:
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    report = evaluate(lines, min_confidence=args.min_confidence)
    print(format_report(report, details=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())

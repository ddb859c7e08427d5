"""Write ``corpus.jsonl`` from the ``cases_*`` modules: ``python tests/corpus/make_corpus.py``.

The JSON Lines file is what is committed and scored; the modules are where messages are
written, because bodies in gzip, base64, protobuf or msgpack are easier to read as code.
``test_corpus.py`` checks that the file and the modules agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the repository's tests package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.corpus import (
    cases_activity,
    cases_analytics,
    cases_location,
    cases_negative,
    cases_payments,
)
from tests.corpus.build import Case

CORPUS = Path(__file__).with_name("corpus.jsonl")
MODULES = (cases_analytics, cases_location, cases_payments, cases_activity, cases_negative)


def all_cases() -> list[Case]:
    return [item for module in MODULES for item in module.CASES]


def render(cases: list[Case]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in cases)


def main() -> int:
    cases = all_cases()
    idents = [c["id"] for c in cases]
    duplicates = {i for i in idents if idents.count(i) > 1}
    if duplicates:
        print(f"duplicate ids: {sorted(duplicates)}", file=sys.stderr)
        return 1
    CORPUS.write_text(render(cases), encoding="utf-8")
    negatives = sum(1 for c in cases if not c["labels"])
    print(f"{CORPUS}: {len(cases)} messages, {negatives} negatives")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every finding category maps to both stores, and docs/categories.md says the same."""

import re

from borderflow.analysis.detectors.categories import STORE_CATEGORIES
from borderflow.analysis.records import Category
from tests.conftest import REPO

DOC = REPO / "docs" / "categories.md"
APPLE = {"Contact Info", "Health & Fitness", "Financial Info", "Location", "Sensitive Info",
         "Contacts", "User Content", "Browsing History", "Search History", "Identifiers",
         "Purchases", "Usage Data", "Diagnostics", "Other Data"}  # fmt: skip
GOOGLE = {"Location", "Personal info", "Financial info", "Health and fitness", "Messages",
          "Photos and videos", "Audio files", "Files and docs", "Calendar", "Contacts",
          "App activity", "Web browsing", "App info and performance", "Device or other IDs"}  # fmt: skip


def test_every_category_has_an_apple_and_a_google_entry():
    assert set(STORE_CATEGORIES) == set(Category)
    for category, stores in STORE_CATEGORIES.items():
        assert stores.apple, category
        assert stores.google, category
        assert {a.split(" / ")[0] for a in stores.apple} <= APPLE, category
        assert {g.split(" / ")[0] for g in stores.google} <= GOOGLE, category


def test_the_documented_table_matches_the_mapping():
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([\w.]+)` \| (.+?) \| (.+?) \|", line)
        if match and " / " in match.group(2):
            rows[match.group(1)] = (match.group(2).split("<br>"), match.group(3).split("<br>"))
    assert rows == {str(c): (list(s.apple), list(s.google)) for c, s in STORE_CATEGORIES.items()}


def test_every_category_is_explained():
    text = DOC.read_text(encoding="utf-8")
    for category in Category:
        assert f"| `{category}` | " in text or f"`{category}` /" in text, category

"""How each finding category maps to the app stores' privacy declarations.

Apple's App Privacy details ("nutrition labels") and Google Play's Data safety section ask
developers to declare the data their app collects, in categories of their own. A report that
compares what an app declared with what borderflow observed needs to know which store
category a finding falls under; ``STORE_CATEGORIES`` says so for every ``Category``, and
``docs/categories.md`` explains the choices (a test keeps the two in step).

Store names are written exactly as the stores print them, as "Category / Data type".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from borderflow.analysis.records import Category


@dataclass(frozen=True, slots=True)
class StoreCategories:
    """Where one finding category goes in each store's declaration."""

    apple: tuple[str, ...]  # App Privacy: "Contact Info / Name"
    google: tuple[str, ...]  # Data safety: "Personal info / Name"
    note: str = ""  # when the mapping depends on how the data is used


STORE_CATEGORIES: Final[dict[Category, StoreCategories]] = {
    Category.CONTACT_NAME: StoreCategories(("Contact Info / Name",), ("Personal info / Name",)),
    Category.CONTACT_EMAIL: StoreCategories(
        ("Contact Info / Email Address",),
        ("Personal info / Email address",),
        "Hashed addresses are still declared: both stores count hashes that link a person.",
    ),
    Category.CONTACT_PHONE: StoreCategories(
        ("Contact Info / Phone Number",), ("Personal info / Phone number",)
    ),
    Category.CONTACT_ADDRESS: StoreCategories(
        ("Contact Info / Physical Address",), ("Personal info / Address",)
    ),
    Category.LOCATION_PRECISE: StoreCategories(
        ("Location / Precise Location",),
        ("Location / Precise location",),
        "Three or more decimals (about 100 m or better).",
    ),
    Category.LOCATION_COARSE: StoreCategories(
        ("Location / Coarse Location",),
        ("Location / Approximate location",),
        "Fewer decimals, or a city, district or area code.",
    ),
    Category.IDENTIFIERS_DEVICE: StoreCategories(
        ("Identifiers / Device ID",), ("Device or other IDs / Device or other IDs",)
    ),
    Category.IDENTIFIERS_ADVERTISING: StoreCategories(
        ("Identifiers / Device ID",),
        ("Device or other IDs / Device or other IDs",),
        "Apple files the advertising identifier under Device ID; sending it may also mean "
        "Tracking (App Tracking Transparency).",
    ),
    Category.IDENTIFIERS_USER: StoreCategories(
        ("Identifiers / User ID",), ("Personal info / User IDs",)
    ),
    Category.FINANCIAL_CARD: StoreCategories(
        ("Financial Info / Payment Info",), ("Financial info / User payment info",)
    ),
    Category.FINANCIAL_BANK_ACCOUNT: StoreCategories(
        ("Financial Info / Payment Info",), ("Financial info / User payment info",)
    ),
    Category.FINANCIAL_OTHER: StoreCategories(
        ("Financial Info / Other Financial Info", "Financial Info / Credit Info"),
        ("Financial info / Other financial info", "Financial info / Credit score"),
        "Balances, income and debts are Other Financial Info; credit scores are Credit Info "
        "(Apple) and Credit score (Google).",
    ),
    Category.GOVERNMENT_ID: StoreCategories(
        ("Other Data / Other Data Types",),
        ("Personal info / Other info",),
        "Neither store names identity documents; Apple's catch-all and Google's Other info "
        "are where they belong.",
    ),
    Category.HEALTH_FITNESS: StoreCategories(
        ("Health & Fitness / Health", "Health & Fitness / Fitness"),
        ("Health and fitness / Health info", "Health and fitness / Fitness info"),
        "Steps and workouts are Fitness; heart rate, sleep, blood values are Health.",
    ),
    Category.CONTACTS_LIST: StoreCategories(("Contacts / Contacts",), ("Contacts / Contacts",)),
    Category.BROWSING_HISTORY: StoreCategories(
        ("Browsing History / Browsing History",), ("Web browsing / Web browsing history",)
    ),
    Category.SEARCH_HISTORY: StoreCategories(
        ("Search History / Search History",), ("App activity / In-app search history",)
    ),
    Category.USER_CONTENT: StoreCategories(
        (
            "User Content / Emails or Text Messages",
            "User Content / Photos or Videos",
            "User Content / Audio Data",
            "User Content / Customer Support",
            "User Content / Other User Content",
        ),
        (
            "Messages / Other in-app messages",
            "Photos and videos / Photos",
            "Audio files / Voice or sound recordings",
            "App activity / Other user-generated content",
        ),
        "Messages and notes, feedback, and uploaded photos, audio and video; the finding's "
        "reason says which.",
    ),
    Category.INSTALLED_APPS: StoreCategories(
        ("Other Data / Other Data Types",),
        ("App activity / Installed apps",),
        "Apple has no installed-apps type; Google names it.",
    ),
    Category.NETWORK_WIFI: StoreCategories(
        ("Location / Precise Location",),
        ("Location / Precise location",),
        "Access-point MACs and names resolve to a position within tens of metres through "
        "public Wi-Fi databases, which is how location SDKs use them.",
    ),
    Category.NETWORK_CELL: StoreCategories(
        ("Location / Coarse Location",),
        ("Location / Approximate location",),
        "Cell IDs resolve to a tower's position, within a few kilometres.",
    ),
    Category.NETWORK_IP: StoreCategories(
        ("Location / Coarse Location",),
        ("Location / Approximate location",),
        "Declared as location when used to derive one (both stores say so); an IP address "
        "sent in a body, rather than seen by the server, usually is.",
    ),
    Category.DEVICE_FINGERPRINT: StoreCategories(
        ("Identifiers / Device ID",),
        ("Device or other IDs / Device or other IDs",),
        "Apple forbids fingerprinting for tracking (App Store Review Guideline 5.1.2).",
    ),
    Category.CREDENTIALS: StoreCategories(
        ("Other Data / Other Data Types",),
        ("Personal info / Other info",),
        "Passwords and login tokens sent to the app's own login service are part of "
        "signing in; sent anywhere else they are collected data.",
    ),
}

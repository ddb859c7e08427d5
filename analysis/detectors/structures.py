"""Data recognised by its shape rather than one value: an address book (a list of people with
phone numbers), the list of installed apps (package names), and lists of health records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, group_detector, records_detector
from borderflow.analysis.detectors.activity import _HEALTH_TYPES
from borderflow.analysis.detectors.contacts import _EMAIL, is_phone_key, parse_phone
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key, normalized
from borderflow.analysis.detectors.people import looks_like_name
from borderflow.analysis.detectors.values import is_number
from borderflow.analysis.records import Category

_CONTACTS_KEYS: Final = ("contact", "addressbook", "phonebook", "通讯录", "联系人", "tongxunlu",
                         "lianxiren", "friends", "people", "connections")  # fmt: skip
_PHONE_TEXT: Final = re.compile(r"\+?[\d\s().-]{7,24}")


def _is_phone_value(field: Field, path_tail: str) -> bool:
    text = field.text.strip()
    if _PHONE_TEXT.fullmatch(text) is None:
        return False
    named = is_phone_key(field.key) or any(w in path_tail for w in ("phone", "mobile", "tel"))
    if not named and not text.startswith("+") and not re.fullmatch(r"1[3-9]\d{9}", text):
        return False
    return parse_phone(text) is not None


_MAYBE_REACHABLE: Final = re.compile(r"@|\d{3}[\d\s().-]{4}")


def _contact(item: Group) -> tuple[bool, bool]:
    """(has a phone number or e-mail, has a name) for one element of a list."""
    reachable = [
        field
        for field in item.fields
        if _MAYBE_REACHABLE.search(field.text)
        and (
            _is_phone_value(field, field.path[len(item.path) :].lower())
            or _EMAIL.fullmatch(field.text.strip()) is not None
        )
    ]
    if not reachable:
        return False, False
    named = any(
        looks_like_name(field.text, single="name" in field.path[len(item.path) :].lower())
        for field in item.fields
        if field not in reachable
    )
    return True, named


@records_detector(
    Category.CONTACTS_LIST,
    examples=(
        '{"contacts": [{"name": "张伟", "phone": "13900001111"}, '
        '{"name": "李娜", "phone": "13900002222"}]}',
        '{"list": [{"n": "Jane Doe", "p": "+1 650 253 0000"}, {"n": "Li Na", "p": "+86 139 0000 2222"}]}',
        '{"connections": [{"names": [{"displayName": "John Doe"}], '
        '"phoneNumbers": [{"value": "+1 650-253-0000"}]}]}',
    ),
    counterexamples=(
        '{"items": [{"name": "Latte", "price": "4.50"}, {"name": "Tea", "price": "3.00"}]}',
        '{"contacts": [{"type": "email"}, {"type": "phone"}]}',
        '{"users": [{"name": "Jane Doe", "phone": "13900001111"}]}',
    ),
)
def address_book(records: Group) -> Iterator[Hit]:
    """A list of people with phone numbers or e-mail addresses: two or more, or one in a list
    named like an address book."""
    people = 0
    for item in records.items:
        reachable, named = _contact(item)
        people += reachable and named
    hinted = any(word in normalized(records.key) for word in _CONTACTS_KEYS)
    if people >= 2 or (people and hinted):
        where = Field(records.path, records.key, "")  # the list itself
        reason = f"List of {people} people with names and phone numbers or e-mail addresses"
        yield Hit(field=where, value=f"{people} contacts", confidence=0.9, reason=reason)


_PACKAGE: Final = re.compile(r"[a-z][a-z0-9_]{0,30}(?:\.[A-Za-z_][\w]{0,40}){1,8}")
_NOT_APPS: Final = ("android.", "java.", "javax.", "kotlin.", "dalvik.", "androidx.", "www.",
                    "com.android.", "sun.", "org.json", "okhttp3.")  # fmt: skip
_TLDS: Final = frozenset({"com", "cn", "net", "org", "io", "cc", "me", "info", "top", "xyz"})
_CLASS_SUFFIXES: Final = ("Activity", "Service", "Receiver", "Provider", "Application", "App",
                         "Fragment", "Exception", "Error", "Manager", "Helper", "Impl", "View",
                         "Adapter", "Utils", "Util", "Config", "Module", "Plugin")  # fmt: skip
_INSTALL_FACTS: Final = re.compile(r"ver|install|update|firsttime|lasttime|size", re.I)
_SEPARATORS: Final = re.compile(r"[,;|\s]+")


def is_package_name(text: str) -> bool:
    """``com.tencent.mm``: a reverse-domain name, not a class, a permission or a host."""
    value = text.strip()
    if _PACKAGE.fullmatch(value) is None or value.startswith(_NOT_APPS):
        return False
    last = value.rsplit(".", 1)[1]
    if last in _TLDS:
        return False  # a host name: api.example.com
    return not (last[:1].isupper() and last.endswith(_CLASS_SUFFIXES))


def _packages(texts: list[str]) -> set[str]:
    return {t.strip() for t in texts if is_package_name(t)}


@group_detector(
    Category.INSTALLED_APPS,
    examples=(
        '{"apps": ["com.tencent.mm", "com.eg.android.AlipayGphone", "com.sina.weibo"]}',
        '{"applist": "com.tencent.mm,com.taobao.taobao"}',
        '{"x": ["com.tencent.mm", "com.taobao.taobao", "com.jingdong.app.mall", "com.ss.android.ugc.aweme"]}',
    ),
    counterexamples=(
        '{"package": "com.example.wallet"}',
        '{"perms": ["android.permission.CAMERA", "android.permission.READ_CONTACTS", "android.permission.INTERNET"]}',
        '{"hosts": ["api.example.com", "cdn.example.com", "www.example.com"]}',
        '{"classes": ["com.example.MainActivity", "com.example.PayActivity", "com.example.App"]}',
    ),
    kinds="apps",
    pattern=r"(?<![\w.])[a-z][a-z0-9_]{0,30}\.[A-Za-z_]\w{0,40}\.[A-Za-z_]",
    needs=".",
)
def app_list(group: Group) -> Iterator[Hit]:
    """Package names of other apps: three or more in one list, or any under an app-list key."""
    hinted = has_kind(group.key, "apps")
    texts: list[str] = []
    for field in group.fields:
        if has_kind(field.key, "apps") or hinted:
            texts.extend(_SEPARATORS.split(field.text))
        elif field.path.endswith("]"):
            texts.append(field.text)
    found = _packages(texts)
    if len(found) >= 3 or (
        found and (hinted or any(has_kind(f.key, "apps") for f in group.fields))
    ):
        first = group.fields[0]
        reason = f"{len(found)} app package names in one list (installed or running apps)"
        yield Hit(field=first, value=f"{len(found)} packages", confidence=0.85, reason=reason)


@records_detector(
    Category.INSTALLED_APPS,
    examples=(
        '{"data": [{"pkg": "com.tencent.mm", "ver": "8.0"}, {"pkg": "com.taobao.taobao"}, '
        '{"pkg": "com.sina.weibo"}]}',
    ),
    counterexamples=(
        '{"sdks": [{"pkg": "com.umeng.analytics"}]}',
        '{"partners": [{"package": "com.a.one", "name": "A"}, {"package": "com.b.two"}, '
        '{"package": "com.c.three"}]}',
    ),
)
def app_records(records: Group) -> Iterator[Hit]:
    """A list of records naming app packages, with the version or install time a device
    reports for installed apps (three or more), or any under an app-list key."""
    found = set()
    installed = False
    for item in records.items:
        found |= _packages([f.text for f in item.fields if "." in f.text])
        installed = installed or any(_INSTALL_FACTS.search(f.key) for f in item.fields)
    if (len(found) >= 3 and installed) or (found and has_kind(records.key, "apps")):
        first = records.items[0].fields[0]
        reason = f"List of {len(found)} app records with package names"
        yield Hit(field=first, value=f"{len(found)} packages", confidence=0.85, reason=reason)


@records_detector(
    Category.HEALTH_FITNESS,
    examples=(
        '{"point": [{"dataTypeName": "com.google.heart_rate.bpm", "value": [{"fpVal": 71.0}]}]}',
    ),
    counterexamples=(
        '{"point": [{"dataTypeName": "com.example.clicks", "value": [{"intVal": 3}]}]}',
    ),
)
def health_records(records: Group) -> Iterator[Hit]:
    """Records typed as health data (Google Fit, HealthKit type names) that carry numbers."""
    for item in records.items:
        kind = next((f.text for f in item.fields if _HEALTH_TYPES.fullmatch(f.text.strip())), None)
        number = next(
            (f for f in item.fields if is_number(f.text) and not is_time_or_id_key(f.key)), None
        )
        if kind is not None and number is not None:
            reason = f"Health data point of type '{kind}'"
            yield Hit(field=number, value=number.text, confidence=0.85, reason=reason)
            return

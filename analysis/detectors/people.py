"""Who the person is: their name, and the IDs a service knows them by (user and account IDs,
open IDs, login names, nicknames)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, detector, group_detector
from borderflow.analysis.detectors.device_ids import APPSFLYER_ID
from borderflow.analysis.detectors.keys import is_time_or_id_key, kinds, normalized, tokens
from borderflow.analysis.detectors.values import is_placeholder
from borderflow.analysis.records import Category

# Two or three characters; four only after a two-character surname; minority names with "·".
_HAN_NAME: Final = re.compile(
    r"[\u4e00-\u9fff]{2,3}|(?:欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|"
    r"轩辕|令狐|钟离|端木|南宫|西门|百里)[\u4e00-\u9fff]{1,2}|[\u4e00-\u9fff]{1,6}·[\u4e00-\u9fff]{1,8}"
)
_LATIN_NAME: Final = re.compile(
    r"(?:[A-Z][a-z'’-]+|[A-Z]\.?|[A-Z][A-Z'’-]+)(?:[ -](?:[A-Z][a-z'’-]+|[A-Z]\.|[A-Z]{2,}|"
    r"(?:van|von|de|der|da|di|le|la|bin|al)))+"
)
_SINGLE_NAME: Final = re.compile(r"[A-Z][a-z'’-]{1,30}|[A-Z][A-Z'’-]{1,30}|[\u4e00-\u9fff]{1,3}")
# Containers whose "name" member is a person's name.
_PERSON_CONTEXT: Final = ("contact", "user", "customer", "payer", "payee", "holder",
                          "receiver", "recipient", "person", "member", "profile", "billing",
                          "shipping", "shopper", "owner", "sender", "beneficiary", "consignee",
                          "buyer", "cardholder", "identity", "account", "联系人", "用户",
                          "收件", "收货", "people", "friend", "family", "emergency", "passenger",
                          "traveler", "traveller", "patient", "applicant", "employee", "driver",
                          "guardian", "insured", "card", "holder")  # fmt: skip
_NAME_GROUPS: Final = frozenset({"name", "fullname", "realname", "names", "personname", "姓名"})
_NAME_MEMBERS: Final = frozenset({"first", "last", "given", "family", "middle", "surname", "full"})
_NAME_PARTS: Final = ("first", "last", "given", "family", "surname", "middle")
_NAME_WORDS: Final = frozenset({"first", "last", "given", "family", "sur", "middle"})
_ROLE_MAILBOX: Final = re.compile(
    r"(?:support|service|help|info|admin|contact|feedback|sales|noreply|no-reply|kefu|hello)@", re.I
)
_CONTACT_KINDS: Final = frozenset({"phone", "email", "gov_id"})
_NOT_NAMES: Final = frozenset({"Android", "iPhone", "iOS", "Unknown", "Test", "Default",
                               "Guest", "Admin", "User", "Null", "None", "WiFi", "Wi-Fi"})  # fmt: skip


def looks_like_name(text: str, *, single: bool = False) -> bool:
    """Two to four Han characters, or capitalised words; one word where ``single`` allows."""
    value = text.strip()
    if not value or len(value) > 60 or value in _NOT_NAMES or is_placeholder(value):
        return False
    if _HAN_NAME.fullmatch(value) or _LATIN_NAME.fullmatch(value):
        return True
    return single and _SINGLE_NAME.fullmatch(value) is not None


def _name_key(field: Field, context: bool, group_key: str) -> tuple[bool, float] | None:
    """(single words allowed, confidence) when the key names a person's name."""
    found = kinds(field.key)
    flat = normalized(field.key)
    if flat in _NAME_MEMBERS and normalized(group_key) in _NAME_GROUPS:
        return True, 0.8  # {"name": {"first": "John", "last": "Smith"}}
    if flat in ("username", "用户名"):
        return False, 0.7  # only when it holds a real name: see looks_like_name
    if "person_name" in found:
        return any(part in flat for part in _NAME_PARTS) or "name" not in flat, 0.85
    if "name" in tokens(field.key) and _NAME_WORDS.intersection(tokens(field.key)):
        return True, 0.85
    if "name" in tokens(field.key) and any(part in flat for part in _PERSON_CONTEXT):
        return False, 0.8  # billing_details[name], payer_name, contact-name
    if flat in ("name", "nm", "名称") and context:
        return False, 0.75
    return None


@group_detector(
    Category.CONTACT_NAME,
    examples=(
        '{"real_name": "张伟"}',
        '{"billing_details": {"name": "Jane Doe", "email": "jane@example.com"}}',
        '{"firstName": "Jane", "lastName": "Doe"}',
        "cardholderName=JANE+DOE",
        '{"contact": {"name": "李娜"}}',
        '{"姓名": "王芳"}',
    ),
    counterexamples=(
        '{"app_name": "Wallet Pro"}',
        '{"name": "Jane Doe"}',
        '{"device_name": "Jane Doe"}',
        '{"user": {"name": "unknown"}}',
        '{"merchant": {"name": "Coffee House"}}',
        '{"event_name": "Add To Cart"}',
    ),
    kinds="person_name name",
)
def person_name(group: Group) -> Iterator[Hit]:
    """A name-shaped value under a key naming a person's name, or under ``name`` in a
    container about a person (or beside that person's phone or e-mail)."""
    context = any(part in group.key for part in _PERSON_CONTEXT) or any(
        not _CONTACT_KINDS.isdisjoint(kinds(f.key)) and not _ROLE_MAILBOX.match(f.text)
        for f in group.fields
    )
    for field in group.fields:
        named = _name_key(field, context, group.key)
        if named is None:
            continue
        single, confidence = named
        if looks_like_name(field.text, single=single):
            reason = f"Person's name under key '{field.key}'"
            if confidence < 0.8:
                reason += f" in a '{group.key or 'contact'}' record"
            yield Hit(field=field, value=field.text.strip(), confidence=confidence, reason=reason)


_ALIPAY_USER_ID: Final = re.compile(r"(?<!\d)2088\d{12}(?!\d)")
_USER_ID_SHAPE: Final = re.compile(r"[\w.@+:|=/\u4e00-\u9fff-]{3,128}")
_OTHER_ID_KINDS: Final = frozenset({"device_id", "advertising", "imei", "android_id", "token"})


@detector(
    Category.IDENTIFIERS_USER,
    examples=(
        '{"user_id": "u_8842913"}',
        '{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}',
        "customer_user_id=jane.doe.42",
        '{"payee": {"identity": "2088102104794936"}}',
        '{"distinct_id": "a1b2c3d4e5"}',
        '{"nickname": "小蓝鲸"}',
    ),
    counterexamples=(
        '{"user_id": "0"}',
        '{"request_uid": "abc123456"}',
        '{"user_agent": "okhttp/4.9"}',
        '{"trade_no": "2088102104794936"}',
        '{"uid": "-1"}',
        '{"user_type": "1"}',
    ),
    kinds="user_id",
    pattern=r"2088\d{12}",
)
def user_identifier(field: Field) -> Iterator[Hit]:
    """An ID under a key naming a user or account, or an Alipay user ID (2088 + 12 digits)."""
    found = kinds(field.key)
    text = field.text.strip()
    if (
        "user_id" in found
        and _OTHER_ID_KINDS.isdisjoint(found)
        and not APPSFLYER_ID.fullmatch(text)
    ):
        if is_placeholder(text) or _USER_ID_SHAPE.fullmatch(text) is None:
            return
        if field.path.startswith("url/path:") and not any(c.isdigit() for c in text):
            return  # a REST path: /user/profile names a resource, /user/8842913 an ID
        if text.isdigit() and len(text) < 4:
            return  # a type code or a small counter
        if normalized(field.key) in ("username", "用户名") and looks_like_name(text):
            return  # a real name in a username field: contact.name reports it
        reason = f"User or account identifier under key '{field.key}'"
        yield Hit(field=field, value=text, confidence=0.8, reason=reason)
        return
    if is_time_or_id_key(field.key) or "2088" not in text:
        return
    for match in _ALIPAY_USER_ID.finditer(text):
        reason = "Alipay user ID (2088 followed by 12 digits)"
        yield Hit(field=field, value=match.group(), confidence=0.75, reason=reason)

"""Postal addresses: a street address under an address key, or a Chinese address in text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors._api import Hit, group_detector
from borderflow.analysis.detectors.keys import has_kind, normalized
from borderflow.analysis.detectors.values import has_letters, is_placeholder, is_url
from borderflow.analysis.records import Category

# Province/city, district, then a street and a house number: 浙江省杭州市西湖区文三路90号.
_CN_ADDRESS: Final = re.compile(
    r"(?:[\u4e00-\u9fff]{2,8}(?:省|自治区|市))?[\u4e00-\u9fff]{1,8}(?:市|州|盟)"
    r"[\u4e00-\u9fff]{1,8}(?:区|县|旗|镇)[\u4e00-\u9fff\dA-Za-z]{1,20}?"
    r"(?:路|街|道|巷|弄|里|村|大厦|小区)[\d\u4e00-\u9fffA-Za-z-]{0,12}?\d+\s*(?:号|栋|室|楼)"
)
_LATIN_STREET: Final = re.compile(
    r"(?<!\d)\d{1,6}[A-Za-z]?\s+[A-Z][\w.'-]{0,40}|"
    r"(?<![\w.'-])[A-Z][\w.'-]{0,40}(?:\s+[\w.'-]{1,40}){0,5}\s+\d{1,6}[A-Za-z]?(?!\w)"
)
_HAN: Final = re.compile(r"[\u4e00-\u9fff]")
_NOT_ADDRESS: Final = re.compile(r"[\w.+-]+@[\w.-]+|(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f:]{17}", re.I)


def looks_like_street_address(text: str) -> bool:
    """Chinese text of 5+ characters, or a house number beside a street name."""
    value = text.strip()
    if not 5 <= len(value) <= 300 or not has_letters(value) or is_url(value):
        return False
    if _NOT_ADDRESS.fullmatch(value):
        return False
    if len(_HAN.findall(value)) >= 5:
        return True
    return _LATIN_STREET.search(value) is not None


_ORGANISATION_KEYS: Final = frozenset({"company", "companyname", "merchant", "merchantname",
                                       "shopname", "storename", "organization", "organisation",
                                       "corp", "corporation", "hotline", "servicephone",
                                       "business", "businessname", "公司", "商户"})  # fmt: skip
_STREET_KEYS: Final = ("street", "line1", "addressline", "road", "街道")
_SIBLING_KEYS: Final = ("postal", "zip", "postcode", "housenumber", "houseno", "city", "邮编")


def _address_in_field(field: Field) -> Hit | None:
    text = field.text
    if has_kind(field.key, "address"):
        if not is_placeholder(text) and looks_like_street_address(text):
            reason = f"Street address under key '{field.key}'"
            return Hit(field=field, value=text.strip(), confidence=0.8, reason=reason)
        return None
    if "号" not in text and "栋" not in text and "室" not in text:
        return None
    match = _CN_ADDRESS.search(text)
    if match is None:
        return None
    reason = "Chinese postal address (city, district, street and number) in text"
    return Hit(field=field, value=match.group(), confidence=0.8, reason=reason)


@group_detector(
    Category.CONTACT_ADDRESS,
    examples=(
        '{"address": "广州市海珠区新港中路397号"}',
        "billing_details[address][line1]=510+Townsend+St",
        '{"shipping": {"street": "Musterstrasse 12"}}',
        "备注: 送到浙江省杭州市西湖区文三路90号",
        '{"dizhi": "北京市朝阳区望京街道10号"}',
        '{"street": "Infinite Loop", "houseNumberOrName": "1", "postalCode": "95014"}',
    ),
    counterexamples=(
        '{"ip_address": "203.0.113.7"}',
        '{"email_address": "jane@example.com"}',
        '{"address": "unknown"}',
        '{"mac_address": "a4:5e:60:c2:1f:0b"}',
        '{"server_addr": "api.example.com"}',
        '{"address_type": "home"}',
        '{"street": "Infinite Loop"}',
        '{"company": "Example Ltd", "address": "Example Tower, 1 Example Road"}',
    ),
    kinds="address",
    pattern=r"[号栋室]",
    needs="号栋室",
)
def postal_address(group: Group) -> Iterator[Hit]:
    """A street address under an address key, a full Chinese address anywhere, or a street
    name beside a postal code or house number; not an organisation's (beside its company or
    merchant name, or a hotline)."""
    if any(normalized(f.key) in _ORGANISATION_KEYS for f in group.fields):
        return
    found = False
    for field in group.fields:
        hit = _address_in_field(field)
        if hit is not None:
            found = True
            yield hit
    if found:
        return
    streets = [f for f in group.fields if any(k in normalized(f.key) for k in _STREET_KEYS)]
    beside = any(
        any(k in normalized(f.key) for k in _SIBLING_KEYS) for f in group.fields if f.text.strip()
    )
    for field in streets:
        if beside and has_letters(field.text) and not is_placeholder(field.text):
            reason = f"Street '{field.key}' beside a postal code or house number"
            yield Hit(field=field, value=field.text.strip(), confidence=0.75, reason=reason)

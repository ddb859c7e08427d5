"""Planted values are found in every form apps send them (a property-based test)."""

import base64
import hashlib
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderflow.analysis.classify import classify
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.known_search import (
    _base64_core,
    compile_profile,
    known_hits,
    variants,
)
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.detectors.profile import KnownValue, Position, Profile
from borderflow.analysis.records import Category, Message


def _imei(digits):
    base = "35" + digits
    return next(base + d for d in "0123456789" if luhn_valid(base + d))


values = st.one_of(
    st.text("0123456789", min_size=12, max_size=12).map(
        lambda d: (Category.IDENTIFIERS_DEVICE, _imei(d))
    ),
    st.uuids().map(lambda u: (Category.IDENTIFIERS_ADVERTISING, str(u))),
    st.from_regex(r"[a-z]{3,8}\.[a-z]{2,8}@example\.(com|org|cn)", fullmatch=True).map(
        lambda e: (Category.CONTACT_EMAIL, e)
    ),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).map(
        lambda n: (Category.CONTACT_PHONE, f"+86 {n[:3]} {n[3:7]} {n[7:]}")
    ),
    st.binary(min_size=6, max_size=6).map(
        lambda b: (Category.IDENTIFIERS_DEVICE, ":".join(f"{x:02x}" for x in b))
    ),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{7,20}", fullmatch=True).map(
        lambda u: (Category.IDENTIFIERS_USER, u)
    ),
)


def _digest(name, text, form):
    raw = hashlib.new(name, text.encode()).digest()
    return {
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "base64": base64.b64encode(raw).decode(),
    }[form]


def _compact(text):
    return "".join(c for c in text if c not in " -:.()+")


TRANSFORMS = {
    "plain": lambda v, _: v,
    "upper": lambda v, _: v.upper(),
    "lower": lambda v, _: v.lower(),
    "url-encoded": lambda v, _: quote(v, safe=""),
    "form-encoded": lambda v, _: quote_plus(v),
    "separators stripped": lambda v, _: _compact(v),
    "hex": lambda v, _: v.encode().hex(),
    "HEX": lambda v, _: v.encode().hex().upper(),
    "base64": lambda v, _: base64.b64encode(v.encode()).decode(),
    "base64url": lambda v, _: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
    "base64 in a blob": lambda v, pad: base64.b64encode(
        pad + v.encode() + b"\x00\xff\x10"
    ).decode(),
    "md5 hex": lambda v, _: _digest("md5", v, "hex"),
    "md5 HEX": lambda v, _: _digest("md5", v, "HEX"),
    "sha1 hex": lambda v, _: _digest("sha1", v, "hex"),
    "sha256 hex": lambda v, _: _digest("sha256", v, "hex"),
    "sha256 HEX": lambda v, _: _digest("sha256", v, "HEX"),
    "md5 base64": lambda v, _: _digest("md5", v, "base64"),
    "sha1 base64": lambda v, _: _digest("sha1", v, "base64"),
    "sha256 base64": lambda v, _: _digest("sha256", v, "base64"),
    "sha256 of lower case": lambda v, _: _digest("sha256", v.lower(), "hex"),
}
CONTAINERS = {
    "json": lambda sent: (json.dumps({"x": {"k": sent}}).encode(), None),
    "form": lambda sent: (("a=1&k=" + quote_plus(sent)).encode(), None),
    "query": lambda sent: (b"", "https://t.example/c?k=" + quote(sent, safe="")),
    "text": lambda sent: (f"seen: {sent} ok".encode(), None),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    planted=values,
    transform=st.sampled_from(sorted(TRANSFORMS)),
    container=st.sampled_from(sorted(CONTAINERS)),
    pad=st.binary(min_size=0, max_size=5),
)
def test_planted_value_is_found_in_every_transformation(planted, transform, container, pad):
    category, value = planted
    profile = Profile((KnownValue("planted", category, value),))
    sent = TRANSFORMS[transform](value, pad)
    body, url = CONTAINERS[container](sent)
    message = Message(direction="request", method="POST", url=url, headers=(), body=body)
    found = [d for d in classify(message, profile=profile).detections if d.detector == "profile"]
    assert found, f"{value!r} sent as {transform} in {container}: {sent!r}"
    assert {d.category for d in found} == {category}
    assert all(d.confidence == 1.0 and "planted" in d.reason for d in found)


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(min_value=-89, max_value=89).filter(lambda x: abs(x) > 1),
    lng=st.floats(min_value=-179, max_value=179).filter(lambda x: abs(x) > 1),
    form=st.sampled_from(["2", "3", "4", "5", "6", "1e6", "1e7"]),
    as_string=st.booleans(),
)
def test_planted_position_is_found_rounded_or_scaled(lat, lng, form, as_string):
    profile = Profile((), Position(lat, lng))
    if form.startswith("1e"):
        scale = 10 ** int(form[2:])
        sent = [str(round(lat * scale)), str(round(lng * scale))]
    else:
        sent = [f"{lat:.{form}f}", f"{lng:.{form}f}"]
    if as_string:
        body = json.dumps({"loc": {"la": sent[0], "lo": sent[1]}})
    else:
        body = f'{{"loc": {{"la": {sent[0]}, "lo": {sent[1]}}}}}'
    message = Message(direction="request", method="POST", url=None, headers=(), body=body.encode())
    found = [d for d in classify(message, profile=profile).detections if d.detector == "profile"]
    assert [d.category for d in found] == [Category.LOCATION_PRECISE], (sent, found)
    assert "GPS position" in found[0].reason


def test_reason_names_the_transformation():
    value = KnownValue("device.imei", Category.IDENTIFIERS_DEVICE, "490154203237518")
    search = compile_profile(Profile((value,)))
    sent = hashlib.sha256(b"490154203237518").hexdigest().upper()
    group = Group("body/json:$", "", (Field("body/json:$.h", "h", sent),))
    (hit,) = known_hits(search, [group])
    assert hit.transform == "SHA-256 (hex)"
    assert hit.value is value


def test_phone_variants_include_national_and_e164_forms():
    names = variants(KnownValue("p", Category.CONTACT_PHONE, "+86 138 1234 5678"))
    assert names["E.164"] == "+8613812345678"
    assert names["national number"] == "13812345678"
    assert names["separators stripped"] == "8613812345678"


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_base64_core_is_inside_the_encoding_at_its_offset(offset):
    data = b"490154203237518"
    core = _base64_core(data, offset)
    blob = base64.b64encode(b"ab"[:offset] + data + b"xyz").decode()
    assert core in blob
    assert len(core) >= len(data) * 4 // 3 - 3


def test_an_unrelated_message_has_no_profile_findings():
    profile = Profile(
        (KnownValue("device.imei", Category.IDENTIFIERS_DEVICE, "490154203237518"),),
        Position(31.230416, 121.473701),
    )
    body = json.dumps({"imei": "356938035643809", "lat": 31.23, "lng": 120.47}).encode()
    message = Message(direction="request", method="POST", url=None, headers=(), body=body)
    assert not [d for d in classify(message, profile=profile).detections if d.detector == "profile"]

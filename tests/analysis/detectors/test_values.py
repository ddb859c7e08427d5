import hashlib

import pytest

from borderflow.analysis.detectors.values import (
    base64_digest,
    hex_digest,
    is_placeholder,
    mac_address,
)


@pytest.mark.parametrize(
    "text", ["", "null", "unknown", "0", "02:00:00:00:00:00", "000000000000000", "138****5678",
             "00000000-0000-0000-0000-000000000000", hashlib.md5(b"").hexdigest()],
)  # fmt: skip
def test_placeholders(text):
    assert is_placeholder(text)


def test_real_values_are_not_placeholders():
    assert not is_placeholder("490154203237518")
    assert not is_placeholder("a4:5e:60:c2:1f:0b")


def test_mac_addresses_are_normalised():
    assert mac_address("A4-5E-60-C2-1F-0B") == "a4:5e:60:c2:1f:0b"
    assert mac_address("a45e60c21f0b") == "a4:5e:60:c2:1f:0b"
    assert mac_address("123456789012") is None  # digits only: a number
    assert mac_address("a4:5e-60:c2:1f:0b") is None  # mixed separators


def test_digests_of_something_but_not_of_nothing():
    assert hex_digest(hashlib.sha256(b"x").hexdigest()) == "sha256"
    assert hex_digest(hashlib.sha1(b"").hexdigest()) is None
    assert hex_digest("ab" * 16) is None  # too few distinct digits for a digest
    assert base64_digest("GxjX7HJGK9wgS5LFuW2BkQ==")
    assert not base64_digest("abcdefghijklmnopqrstuv")

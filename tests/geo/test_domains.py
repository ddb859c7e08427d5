"""Hostnames to registrable domains through the Public Suffix List (its ICANN section)."""

from __future__ import annotations

import pytest

from borderflow.geo.domains import candidates, normalise, registrable_domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("mapi.alipay.com", "alipay.com"),
        ("a.b.alipay.com.cn", "alipay.com.cn"),
        ("WWW.Example.CO.UK.", "example.co.uk"),
        ("api.example.com:443", "example.com"),
        ("x.firebaseio.com", "firebaseio.com"),
        ("bucket.oss-cn-hangzhou.aliyuncs.com", "aliyuncs.com"),
        ("adj.st", "adj.st"),
        ("com", None),
        ("8.8.8.8", None),
        ("[2001:db8::1]:443", None),
        ("", None),
        (None, None),
    ],
)
def test_registrable_domain(host: str | None, domain: str | None) -> None:
    assert registrable_domain(host) == domain


def test_candidates_run_from_the_host_down_to_its_registrable_domain() -> None:
    assert candidates("a.b.qq.com") == ["a.b.qq.com", "b.qq.com", "qq.com"]
    assert candidates("qq.com") == ["qq.com"]
    assert candidates("1.2.3.4") == []


def test_normalise_drops_ports_and_trailing_dots() -> None:
    assert normalise("Api.QQ.com.:8443") == "api.qq.com"

from borderflow.analysis.detectors.address import looks_like_street_address, postal_address
from borderflow.analysis.detectors.runner import example_groups


def _values(payload):
    return [h.value for g in example_groups(payload) for h in postal_address.find(g)]


def test_street_address_shapes():
    assert looks_like_street_address("1600 Amphitheatre Parkway")
    assert looks_like_street_address("Musterstrasse 12")
    assert looks_like_street_address("上海市浦东新区世纪大道100号")
    assert not looks_like_street_address("home")
    assert not looks_like_street_address("https://maps.example.com/x")


def test_chinese_address_found_inside_free_text():
    (value,) = _values('{"note": "请送到北京市朝阳区望京街道10号楼下"}')
    assert value.endswith("北京市朝阳区望京街道10号")


def test_street_beside_postal_code():
    assert _values('{"street": "Infinite Loop", "postalCode": "95014"}') == ["Infinite Loop"]

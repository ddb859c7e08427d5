from borderflow.analysis.detectors.network import (
    cell_tower,
    ip_address,
    personal_ip,
    wifi_network,
)
from borderflow.analysis.detectors.runner import example_groups


def _hits(found, payload):
    return [(h.value, h.confidence) for g in example_groups(payload) for h in found.find(g)]


def test_personal_ips():
    assert personal_ip("203.0.113.7") == "203.0.113.7"
    assert personal_ip("[2001:db8::1]") == "2001:db8::1"
    assert personal_ip("127.0.0.1") is None
    assert personal_ip("fe80::1") is None
    assert personal_ip("1.2.3") is None


def test_forwarded_for_lists_give_each_address_and_private_ones_are_less_certain():
    hits = _hits(ip_address, '{"x-forwarded-for": "114.247.50.2, 10.0.0.2"}')
    assert hits == [("114.247.50.2", 0.85), ("10.0.0.2", 0.7)]


def test_macs_in_a_wifi_scan_are_access_points():
    assert _hits(wifi_network, '{"wifiList": [{"mac": "a4:5e:60:c2:1f:0b", "rssi": -60}]}')
    assert not _hits(wifi_network, '{"mac": "a4:5e:60:c2:1f:0b", "model": "x"}')


def test_cell_towers_need_an_area_and_a_cell():
    assert _hits(cell_tower, '{"lac": "41003", "ci": "8271"}') == [("41003,8271", 0.85)]
    assert not _hits(cell_tower, '{"lac": "41003"}')

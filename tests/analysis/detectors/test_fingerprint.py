from borderflow.analysis.detectors.fingerprint import device_fingerprint
from borderflow.analysis.detectors.runner import example_groups


def _reasons(payload):
    return [h.reason for g in example_groups(payload) for h in device_fingerprint.find(g)]


def test_decoded_risk_token_is_reported_once():
    assert len(_reasons('{"riskData": {"clientData": "eyJ2ZXJzaW9uIjoiMS4wIn0K00000"}}')) == 1


def test_analytics_attributes_alone_are_not_a_fingerprint():
    payload = '{"model": "x", "brand": "y", "os_version": "1", "carrier": "c", "battery": "80"}'
    assert _reasons(payload) == []

from borderflow.analysis.detectors.sim import imsi_network


def test_imsi_networks_need_a_real_country_and_network_code():
    assert imsi_network("460001234567890") == "460-00"
    assert imsi_network("310260123456789") == "310-260"
    assert imsi_network("460991234567890") is None  # no Chinese network 99
    assert imsi_network("999001234567890") is None  # no country 999
    assert imsi_network("46000123456789") is None  # 14 digits

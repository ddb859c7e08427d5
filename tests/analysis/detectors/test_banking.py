from borderflow.analysis.detectors.banking import aba_valid, iban_valid


def test_iban_mod_97_and_country_length():
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044053201300")  # one digit short for Germany


def test_aba_routing_checksum():
    assert aba_valid("110000000")
    assert aba_valid("021000021")
    assert not aba_valid("110000001")

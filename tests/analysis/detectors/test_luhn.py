from borderflow.analysis.detectors.luhn import luhn_valid


def test_luhn_accepts_valid_and_rejects_invalid_check_digits():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("490154203237518")
    assert not luhn_valid("490154203237519")


def test_luhn_rejects_non_ascii_digits():
    assert not luhn_valid("４１１１")
    assert not luhn_valid("")
    assert not luhn_valid("4111-1111")

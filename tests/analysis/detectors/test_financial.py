import pytest

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.financial import card_scheme, payment_card


def _hits(key, text):
    return list(payment_card.find(Group("body/json:$", "", (Field("body/json:$.x", key, text),))))


@pytest.mark.parametrize(
    ("number", "scheme"),
    [
        ("4111111111111111", "Visa"),
        ("5500000000000004", "Mastercard"),
        ("2223000048400011", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
        ("6212345678901232", "UnionPay"),
        ("3530111333300000", "JCB"),
    ],
)
def test_luhn_valid_numbers_with_a_scheme_prefix_are_cards(number, scheme):
    (hit,) = _hits("", number)
    assert hit.value == number
    assert scheme in hit.reason


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("ts", "4111111111111111"),
        ("timestamp", "4111111111111111"),
        ("order_id", "6212345678901232"),
        ("id", "5500000000000004"),
        ("imei", "378282246310005"),
        ("x", "4111111111111112"),  # Luhn fails
        ("x", "1234567812345670"),  # Luhn passes, no scheme starts with 1
        ("x", "41111111111111111111"),  # 20 digits
        ("x", "4111 11111111 1111"),  # not printed the way cards are
        ("x", "3.4111111111111111"),  # decimals
    ],
)
def test_card_lookalikes_are_not_cards(key, text):
    assert _hits(key, text) == []


def test_card_key_overrides_an_id_looking_key():
    (hit,) = _hits("card_id", "4111111111111111")
    assert hit.confidence > 0.9


def test_grouped_card_in_text_is_found():
    (hit,) = _hits("", "card 4111-1111-1111-1111 exp 12/29")
    assert hit.value == "4111-1111-1111-1111"
    assert hit.confidence < 0.8


def test_card_scheme_checks_length():
    assert card_scheme("4111111111111") == "Visa"
    assert card_scheme("41111111111111") is None
    assert card_scheme("34000000000000") is None

"""The Luhn check digit, shared by payment cards and IMEIs."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """True when the string of ASCII digits ends in a correct Luhn check digit."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0

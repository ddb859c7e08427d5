import pytest

from borderflow.analysis.detectors.evidence import redact
from borderflow.analysis.records import Category


@pytest.mark.parametrize(
    ("category", "value", "evidence"),
    [
        (Category.CONTACT_EMAIL, "jane.doe@example.com", "j***@example.com"),
        (Category.CONTACT_PHONE, "13812345678", "+86 138****5678"),
        (Category.CONTACT_PHONE, "+86 138 1234 5678", "+86 138****5678"),
        (Category.FINANCIAL_CARD, "4111 1111 1111 1111", "4111********1111"),
        (Category.IDENTIFIERS_DEVICE, "354548012345674", "3545...(15 digits)"),
        (
            Category.IDENTIFIERS_ADVERTISING,
            "38400000-8cf0-11bd-b23e-10b96e40000d",
            "3840...(36 chars)",
        ),
        (Category.LOCATION_PRECISE, "48.137154,11.546124", "48.1,11.5"),
        (Category.LOCATION_COARSE, "-33.86,151.21", "-33.9,151.2"),
    ],
)
def test_evidence_keeps_enough_to_recognise_and_hides_the_rest(category, value, evidence):
    assert redact(category, value) == evidence
    assert value not in evidence


def test_unparsable_phone_is_still_masked():
    assert redact(Category.CONTACT_PHONE, "12-34") == "****"


def test_credentials_show_only_their_length():
    assert redact(Category.CREDENTIALS, "hunter2!") == "***(8 chars)"


def test_bank_accounts_are_masked_like_cards():
    assert (
        redact(Category.FINANCIAL_BANK_ACCOUNT, "DE89370400440532013000")
        == "DE89**************3000"
    )


def test_scaled_coordinates_are_redacted_after_unscaling():
    assert redact(Category.LOCATION_PRECISE, "31230416,121473701") == "31.2,121.5"


def test_counts_of_structures_are_their_own_evidence():
    assert redact(Category.CONTACTS_LIST, "3 contacts") == "3 contacts"

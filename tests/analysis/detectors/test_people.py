import pytest

from borderflow.analysis.detectors.people import looks_like_name, person_name
from borderflow.analysis.detectors.runner import example_groups


def _names(payload):
    return [h.value for g in example_groups(payload) for h in person_name.find(g)]


@pytest.mark.parametrize("text", ["张伟", "王小明", "欧阳娜娜", "Jane Doe", "S. Hopper", "JANE DOE",
                                  "Ludwig van Beethoven", "阿依古丽·买买提"])  # fmt: skip
def test_name_shapes(text):
    assert looks_like_name(text)


@pytest.mark.parametrize(
    "text", ["中国工商银行", "Unknown", "jane doe", "张", "Jane", "R2-D2", "x" * 70]
)
def test_not_name_shapes(text):
    assert not looks_like_name(text)


def test_single_words_only_where_the_key_is_a_first_or_last_name():
    assert looks_like_name("Jane", single=True)
    assert _names('{"lastName": "DOE"}') == ["DOE"]


def test_name_in_a_person_record_but_not_in_a_product_or_a_role_mailbox_config():
    assert _names('{"payer": {"name": "Jane Doe"}}') == ["Jane Doe"]
    assert _names('{"name": "Jane Doe", "phone": "+8613812345678"}') == ["Jane Doe"]
    assert _names('{"name": "Wallet Pro", "support_email": "support@example.com"}') == []
    assert _names('{"product": {"name": "Gift Card"}}') == []


def test_a_real_name_in_a_username_field_is_a_name():
    assert _names('{"userName": "李雷"}') == ["李雷"]
    assert _names('{"userName": "lilei88"}') == []


def test_first_and_last_inside_a_name_object():
    assert _names('{"name": {"first": "John", "last": "Smith"}}') == ["John", "Smith"]

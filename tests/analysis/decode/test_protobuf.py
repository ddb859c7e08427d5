import struct

from hypothesis import given
from hypothesis import strategies as st

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.protobuf import decode_protobuf, parse
from tests.corpus.build import pb


def _decode(data, sniffed=False):
    budget = Budget(Limits())
    groups = decode_protobuf(data, "body", "", budget, depth=1, sniffed=sniffed)
    fields = None if groups is None else [(f.path, f.text) for g in groups for f in g.fields]
    return fields, budget


def test_strings_numbers_doubles_and_sub_messages():
    data = pb((1, "490154203237518"), (2, [(1, 31.230416), (2, 121.473701)]), (3, 1700000000123))
    fields, _ = _decode(data)
    assert fields == [
        ("body/protobuf:$.1", "490154203237518"),
        ("body/protobuf:$.3", "1700000000123"),
        ("body/protobuf:$.2.1", "31.230416"),
        ("body/protobuf:$.2.2", "121.473701"),
    ]


def test_repeated_fields_are_indexed_and_negative_varints_signed():
    fields, _ = _decode(pb((4, [(1, "a b")]), (4, [(1, "c d")]), (5, -2)))
    assert fields == [
        ("body/protobuf:$.5", "-2"),
        ("body/protobuf:$.4[0].1", "a b"),
        ("body/protobuf:$.4[1].1", "c d"),
    ]


def test_fixed32_floats_and_fixed64_integers():
    data = b"\x0d" + struct.pack("<f", 121.4737) + b"\x11" + (123456789).to_bytes(8, "little")
    fields, _ = _decode(data)
    assert fields == [("body/protobuf:$.1", "121.4737"), ("body/protobuf:$.2", "123456789")]


def test_truncated_message_is_a_problem_when_promised_and_silent_when_sniffed():
    data = pb((1, "490154203237518"), (2, [(1, 31.2)]))[:-3]
    fields, budget = _decode(data)
    assert fields is None
    assert [p.name for p in budget.problems] == ["unparsable_protobuf"]
    fields, budget = _decode(data, sniffed=True)
    assert fields is None
    assert budget.problems == []


def test_sniffing_wants_more_than_a_lucky_parse():
    assert _decode(b"\x08\x01", sniffed=True)[0] is None  # one small varint
    assert _decode(pb((1, 1), (2, 2)), sniffed=True)[0] is not None


@given(st.binary(max_size=512))
def test_random_bytes_never_raise(data):
    parse(data, nesting=0)
    _decode(data, sniffed=True)

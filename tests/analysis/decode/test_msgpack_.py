import msgpack  # type: ignore[import-untyped]

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.msgpack_ import decode_msgpack, looks_like_msgpack


def _decode(data, sniffed=False):
    budget = Budget(Limits())
    groups = decode_msgpack(data, "body", "", budget, depth=1, sniffed=sniffed)
    fields = (
        None if groups is None else [(f.path, f.text, f.data) for g in groups for f in g.fields]
    )
    return fields, budget


def test_maps_lists_numbers_and_binary():
    data = msgpack.packb({"loc": {"lat": 31.230416}, "ids": [1, "x"], "raw": b"\x01\x02", 7: True})
    fields, _ = _decode(data)
    assert fields == [
        ("body/msgpack:$.raw", "", b"\x01\x02"),
        ("body/msgpack:$.loc.lat", "31.230416", None),
        ("body/msgpack:$.ids[0]", "1", None),
        ("body/msgpack:$.ids[1]", "x", None),
    ]


def test_broken_msgpack_is_a_problem_only_when_promised():
    fields, budget = _decode(b"\x81\xa1a")
    assert fields is None
    assert [p.name for p in budget.problems] == ["unparsable_msgpack"]
    fields, budget = _decode(b"\x81\xa1a", sniffed=True)
    assert fields is None
    assert budget.problems == []


def test_sniffed_msgpack_must_be_a_map_with_text_keys():
    assert _decode(msgpack.packb([1, 2, 3]), sniffed=True)[0] is None
    assert _decode(msgpack.packb({1: "a", 2: "b"}), sniffed=True)[0] is None
    assert looks_like_msgpack(msgpack.packb({"a": 1, "b": 2}))
    assert not looks_like_msgpack(b'{"a": 1}')


def test_deep_nesting_does_not_recurse_forever():
    fields, budget = _decode(b"\x91" * 5000 + b"\x01")
    assert fields is None
    assert [p.name for p in budget.problems] == ["unparsable_msgpack"]

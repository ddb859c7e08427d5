from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.tree import walk


def test_scalars_become_text_and_nulls_and_booleans_are_skipped():
    document = {"a": 1, "b": 2.5, "c": None, "d": True, "e": "", "f": b"\x00", 3: "k"}
    (group,) = walk(document, "body/msgpack:$", "", Budget(Limits()), 1)
    assert [(f.path, f.text, f.data) for f in group.fields] == [
        ("body/msgpack:$.a", "1", None),
        ("body/msgpack:$.b", "2.5", None),
        ("body/msgpack:$.f", "", b"\x00"),
        ('body/msgpack:$["3"]', "k", None),
    ]


def test_list_members_take_the_list_key():
    groups = walk({"apps": [{"pkg": "a"}]}, "body/json:$", "", Budget(Limits()), 1)
    assert [(g.path, g.key) for g in groups] == [
        ("body/json:$", ""),
        ("body/json:$.apps", "apps"),
        ("body/json:$.apps[0]", "apps"),
    ]

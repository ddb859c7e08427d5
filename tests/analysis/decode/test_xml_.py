from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.xml_ import decode_xml, looks_like_xml


def _decode(text, strict=True):
    budget = Budget(Limits())
    groups = decode_xml(text, "body", "", budget, depth=1, strict=strict)
    return groups, budget


def test_leaves_are_fields_and_containers_groups():
    groups, _ = _decode(
        "<?xml version='1.0'?><xml><appid><![CDATA[wx1]]></appid>"
        "<list><c n='a &amp; b'>1</c><c>2</c></list></xml>"
    )
    assert [(g.path, [(f.path, f.key, f.text) for f in g.fields]) for g in groups] == [
        ("body/xml:/xml", [("body/xml:/xml/appid", "appid", "wx1")]),
        ("body/xml:/xml/list", [("body/xml:/xml/list/c[1]", "c", "2")]),
        (
            "body/xml:/xml/list/c[0]",
            [("body/xml:/xml/list/c[0]/@n", "n", "a & b"), ("body/xml:/xml/list/c[0]", "c", "1")],
        ),
    ]


def test_namespaces_are_dropped_and_unclosed_tags_tolerated():
    groups, _ = _decode("<soap:Envelope><soap:Body><m:phone>138</m:phone><x></soap:Envelope>")
    fields = [(f.path, f.key) for g in groups for f in g.fields]
    assert fields == [("body/xml:/Envelope/Body/phone", "phone")]


def test_entity_declarations_are_not_expanded():
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    groups, _ = _decode(bomb)
    assert [f.text for g in groups or [] for f in g.fields] == ["&b;"]


def test_text_outside_a_root_or_unterminated_markup_is_not_xml():
    assert _decode("<a>1</a>trailing")[0] is None
    groups, budget = _decode("<!-- never closed <a>1</a>")
    assert groups is None
    assert [p.name for p in budget.problems] == ["unparsable_xml"]
    assert _decode("<a>1</a><b>2</b>", strict=False)[0] is None


def test_many_unterminated_openers_cost_one_pass():
    text = "<x>" + "<!--" * 200_000 + "</x>"
    groups, _ = _decode(text)
    assert groups is not None


def test_looks_like_xml():
    assert looks_like_xml(" <xml><a>1</a></xml> ")
    assert not looks_like_xml("<b>")
    assert not looks_like_xml("a < b > c")

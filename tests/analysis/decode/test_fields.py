from borderflow.analysis.decode.fields import child_path


def test_child_path_quotes_names_that_are_not_identifiers():
    assert child_path("$", "lat") == "$.lat"
    assert child_path("$", "纬度") == "$.纬度"
    assert child_path("$", "a.b") == '$["a.b"]'
    assert child_path("$", "1x") == '$["1x"]'

from borderflow.analysis.decode.budget import Budget, Limits, Problem


def test_repeated_problems_are_recorded_once():
    budget = Budget(Limits())
    budget.problem("unparsable_json", "a")
    budget.problem("unparsable_json", "a")
    budget.problem("unparsable_json", "b")
    assert [p.addl for p in budget.problems] == ["a", "b"]


def test_a_limit_is_reported_only_where_first_hit():
    budget = Budget(Limits(max_depth=1))
    assert budget.too_deep(2, "x")
    assert budget.too_deep(3, "y")
    assert budget.problems == [Problem(name="depth_limit", addl="deeper than 1 levels at x")]


def test_decoded_room_never_goes_negative():
    budget = Budget(Limits(max_decoded=10))
    budget.decoded = 20
    assert budget.decoded_room == 0

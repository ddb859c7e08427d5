from borderflow.analysis.ids import community_id, derived_id


def test_community_id_matches_the_specification_example() -> None:
    # The example from the Community ID specification (corelight/community-id-spec).
    assert community_id("tcp", "128.232.110.120", 34855, "66.35.250.204", 80) == (
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )


def test_community_id_is_the_same_in_both_directions() -> None:
    a = community_id("udp", "10.0.0.1", 53000, "8.8.8.8", 53)
    b = community_id("udp", "8.8.8.8", 53, "10.0.0.1", 53000)
    assert a == b
    assert a is not None


def test_community_id_covers_ipv6() -> None:
    assert community_id("tcp", "::1", 1, "2001:db8::1", 443) is not None


def test_community_id_is_none_for_a_hostname() -> None:
    assert community_id("tcp", "10.0.0.1", 1, "example.com", 443) is None


def test_derived_ids_are_stable_and_prefixed() -> None:
    assert derived_id("C", "abc", "1") == derived_id("C", "abc", "1")
    assert derived_id("C", "abc", "1") != derived_id("C", "abc", "2")
    uid = derived_id("C", "x")
    assert uid.startswith("C")
    assert len(uid) == 17

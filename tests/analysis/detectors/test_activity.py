from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.url import decode_url
from borderflow.analysis.detectors.activity import (
    health_reading,
    search_terms,
    visited_pages,
    written_content,
)
from borderflow.analysis.detectors.runner import example_groups


def _values(found, payload):
    return [h.value for g in example_groups(payload) for h in found.find(g)]


def test_weak_search_keys_count_only_at_search_endpoints():
    groups = decode_url("https://suggest.example.com/sug?q=loan+app", Budget(Limits()))
    assert [h.value for g in groups for h in search_terms.find(g)] == ["loan app"]
    groups = decode_url("https://api.example.com/items?q=loan+app", Budget(Limits()))
    assert [h.value for g in groups for h in search_terms.find(g)] == []


def test_history_urls_but_not_static_assets():
    assert _values(
        visited_pages, '{"history": ["https://a.example/x", "https://cdn.example/x.png"]}'
    ) == ["https://a.example/x"]


def test_message_text_needs_a_message_context():
    assert _values(written_content, '{"to": "u2", "text": "see you at the station tonight"}')
    assert not _values(written_content, '{"text": "see you at the station tonight"}')
    assert not _values(written_content, '{"product": {"body": "Soft cotton shirt with pockets"}}')


def test_generic_numbers_count_only_in_a_health_container():
    assert _values(health_reading, '{"workout": {"calories": 312}}') == ["312"]
    assert _values(health_reading, '{"food": {"calories": 312}}') == []

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.fields import Field
from borderflow.analysis.decode.url import decode_url


def _fields(url):
    return [f for g in decode_url(url, Budget(Limits())) for f in g.fields]


def test_query_parameters_and_path_segments_are_fields():
    fields = _fields("https://h.example/api/user/138%2012?gaid=abc&ts=1")
    assert fields == [
        Field("url/path:0", "", "api"),
        Field("url/path:1", "api", "user"),
        Field("url/path:2", "user", "138 12"),
        Field("url/query:gaid", "gaid", "abc"),
        Field("url/query:ts", "ts", "1"),
    ]


def test_unsplittable_url_gives_nothing():
    assert _fields("http://[::1/x?a=1") == []

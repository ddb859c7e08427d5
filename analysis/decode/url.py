"""A request URL to groups: the query string (``url/query:NAME``) and path segments.

Path segments are fields at ``url/path:N`` (N counts from 0), keyed by the segment before
them, because REST paths put values after their names: ``/user/13812345678/profile``. The
query string's group is keyed by the URL path, so a detector can tell that ``q=`` went to a
search endpoint.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.form import decode_form
from borderflow.analysis.decode.value import expand


def decode_url(url: str, budget: Budget) -> list[Group]:
    """Groups of the query string and the path; nothing for a URL that cannot be split."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return []
    groups: list[Group] = []
    if parts.query:
        query = decode_form(parts.query, "url/query", budget, depth=1, key=parts.path.lower())
        groups = expand(query, budget, depth=1)
    return [*_path_groups(parts.path, budget), *groups]


def _path_groups(path: str, budget: Budget) -> list[Group]:
    segments = [unquote(s, errors="replace") for s in path.split("/")]
    fields: list[Field] = []
    previous = ""
    for index, segment in enumerate(s for s in segments if s):
        location = f"url/path:{index}"
        if budget.take_field(location):
            fields.append(Field(location, previous.lower(), segment))
        previous = segment
    return [Group("url/path", "", tuple(fields))] if fields else []

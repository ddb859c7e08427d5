"""Cross-border decided in SQL, so reports and query filters work for any home at any size.

``geo.jurisdictions.is_cross_border`` decides one destination in Python; a report over a
million connections cannot call it per row. ``outside_home_sql`` is the same rule as an SQL
expression over the ``destination`` columns, and a test keeps the two in step.
"""

from __future__ import annotations

from borderflow.geo.jurisdictions import PLACES, Home

# How a connection finds its destination row: by address and the name it was reached as.
DESTINATION_JOIN = (
    "LEFT JOIN destination ON destination.resp_h = conn.resp_h"
    " AND destination.reached_as = coalesce(conn.server_name, '')"
)


def outside_home_sql(home: Home, table: str = "destination") -> tuple[str, list[str]]:
    """An SQL condition, and its parameters, true when ``table``'s row lies outside ``home``.

    True when any jurisdiction column (located in, operator's country, parent's and hosting
    network's headquarters) names a country outside home; unknown (NULL) never counts.
    """
    countries = sorted(home.countries)
    marks = ",".join("?" * len(countries))
    parts = [f"coalesce({table}.{column}, '') NOT IN ('', {marks})" for column, _ in PLACES]
    return "(" + " OR ".join(parts) + ")", countries * len(PLACES)

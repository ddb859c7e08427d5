"""analysis/borders.py decides cross-border in SQL exactly as geo.jurisdictions does in Python."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from borderflow.analysis.borders import outside_home_sql
from borderflow.geo.jurisdictions import PLACES, Rules, is_cross_border

COLUMNS = [column for column, _ in PLACES]
COUNTRY = st.sampled_from([None, "", "DE", "FR", "CN", "US", "GB", "NO", "HK", "GF"])


@given(
    row=st.fixed_dictionaries({c: COUNTRY for c in COLUMNS}),
    home=st.sampled_from(["EU", "EEA", "GB", "CH", "CN"]),
)
def test_sql_and_python_agree_on_every_destination(row: dict[str, str | None], home: str) -> None:
    where = Rules.load().home(home)
    condition, params = outside_home_sql(where, table="d")
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE d ({', '.join(COLUMNS)})")
    db.execute(f"INSERT INTO d VALUES ({', '.join('?' * len(COLUMNS))})", [row[c] for c in COLUMNS])
    (in_sql,) = db.execute(f"SELECT {condition} FROM d", params).fetchone()
    assert bool(in_sql) == is_cross_border(row, where)[0]

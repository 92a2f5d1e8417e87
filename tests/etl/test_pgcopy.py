"""The column-wise binary COPY encoder against a real PostgreSQL: what goes in comes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from etl import pgcopy
from etl.pgcopy import Field

COLUMNS = ("s text, few varchar(20), n int4, big int8, small int2, x float8, t timestamptz, "
           "d date, a varchar(3)[], j jsonb, ok bool, g geometry(Point, 4326), h varchar(32)")


@pytest.fixture
def conn(engine: Engine) -> Iterator[psycopg.Connection]:
    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as c:
        c.execute(f"CREATE TEMP TABLE t ({COLUMNS})")
        yield c


def _copy(conn: psycopg.Connection, fields: list[Field], n: int, batch: int = 5000) -> None:
    with conn.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(pgcopy.HEADER)
        for body in pgcopy.encode_batches(fields, n, batch):
            copy.write(body)
        copy.write(pgcopy.TRAILER)


def _fields(texts: list[str | None], oid: int) -> list[Field]:
    n = len(texts)
    rng = np.random.default_rng(n)
    nums = rng.integers(-5, 5, n).astype(float)
    nums[::3] = np.nan
    lon = rng.uniform(12, 46, n)
    lon[1::4] = np.nan
    return [
        Field("text", np.array(texts, dtype=object)),
        Field("varchar", np.array([["a", None, "ü"][i % 3] for i in range(n)], dtype=object),
              few=True),
        Field("int4", nums),
        Field("int8", np.arange(n, dtype=np.int64) * 2**40),
        Field("int2", nums),
        Field("float8", nums / 3),
        Field("timestamptz", np.where(np.isnan(nums), np.nan, 1.7e15 + nums * 1e6)),
        Field("date", np.where(np.isnan(nums), np.nan, 19000 + nums)),
        Field("_varchar", np.array([["SYR;AFG", None, "IRQ"][i % 3] for i in range(n)],
                                   dtype=object), elem_oid=oid),
        Field("jsonb", np.array([None if t is None else f'{{"k": {len(t)}}}' for t in texts],
                                dtype=object)),
        Field("bool", np.array([[True, False, None][i % 3] for i in range(n)], dtype=object)),
        Field("geometry", (lon, np.full(n, 41.5))),
        Field("varchar", np.array([b"%016x" % i for i in range(n)], dtype="S16")),
    ]


def _expected(fields: list[Field], i: int) -> tuple:
    s, few, n, big, small, x, t, d, a, j, ok, g, h = (f.values for f in fields)
    num = None if np.isnan(n[i]) else int(n[i])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (
        s[i], few[i], num, int(big[i]), num, None if num is None else x[i],
        None if num is None else epoch + dt.timedelta(microseconds=1.7e15 + num * 1e6),
        None if num is None else dt.date(1970, 1, 1) + dt.timedelta(days=19000 + num),
        None if a[i] is None else a[i].split(";"),
        None if j[i] is None else {"k": len(s[i])}, ok[i],
        None if np.isnan(g[0][i]) else f"POINT({float(g[0][i])!r} 41.5)", h[i].decode(),
    )


def _read(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT s, few, n, big, small, x, t, d, a, j, ok, "
                        "ST_AsText(g, 17), h FROM t").fetchall()


def _oid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT oid FROM pg_type WHERE typname = 'varchar'").fetchone()
    assert row is not None
    return int(row[0])


def test_every_type_and_null_round_trips(conn: psycopg.Connection) -> None:
    texts = ["plain", None, "", "Ünïcode ✓ 漢字", "tab\tand\nnewline", "a'b\"c\\d"] * 1500
    fields = _fields(texts, _oid(conn))
    _copy(conn, fields, len(texts), batch=777)  # batches that do not divide the rows
    rows = _read(conn)
    assert len(rows) == len(texts)
    for i in (0, 1, 2, 3, 4, 5, 6, 4999, len(texts) - 1):
        got, want = rows[i], _expected(fields, i)
        assert got[:5] + got[6:] == want[:5] + want[6:], i
        assert got[5] == (None if want[5] is None else pytest.approx(want[5])), i


def test_a_stream_of_fixed_size_columns_only(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TEMP TABLE f (a int8, b float8)")
    fields = [Field("int8", np.arange(10, dtype=np.int64)), Field("float8", np.arange(10) / 4)]
    with conn.cursor().copy("COPY f FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(pgcopy.HEADER + pgcopy.encode(fields, 10) + pgcopy.TRAILER)
    assert conn.execute("SELECT sum(a), sum(b) FROM f").fetchone() == (45, 11.25)
    assert pgcopy.encode(fields, 0) == b""


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        pgcopy.encode([Field("interval", np.zeros(1))], 1)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)),
    min_size=1, max_size=40))
def test_any_text_round_trips(conn: psycopg.Connection, texts: list[str | None]) -> None:
    conn.execute("TRUNCATE t")
    _copy(conn, _fields(texts, _oid(conn)), len(texts), batch=7)
    assert [r[0] for r in conn.execute("SELECT s FROM t").fetchall()] == texts

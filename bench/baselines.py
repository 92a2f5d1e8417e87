"""The load benchmark's baselines: ``psql \\copy`` into a bare table, and
``GeoDataFrame.to_postgis``.

This is the only SQL of ``bench/`` besides cluster housekeeping: the baselines *are* a bare
table and a plain ``\\copy``, so they cannot go through the warehouse code. Table names are
fixed identifiers; values never enter the SQL text.

Run as ``BENCH_URL=... python -m bench.baselines to_postgis FILE TABLE`` (the load benchmark
runs it in a child process so its time and memory are measured like the loader's).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from psycopg import sql
from sqlalchemy.engine import make_url

from bench.measure import Run, run_measured

#: Typed bare table: the CSV's columns with the types they parse to (no constraints, no index).
TYPED_COLUMNS: dict[str, str] = {
    "incident_id": "text", "occurred_at": "timestamptz", "lat": "float8", "lon": "float8",
    "bcp_code": "text", "category": "text", "subtype": "text", "persons": "int4",
    "nationalities": "text", "direction": "text", "detection": "text", "impact": "text",
    "reporting_country": "text", "sharing": "text", "description": "text",
}


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's first line."""
    with path.open(encoding="utf-8") as fh:
        return [c.strip() for c in fh.readline().rstrip("\r\n").split(",")]


def create_bare_table(url: str, table: str, columns: list[str], typed: bool) -> None:
    """(Re)create ``table`` with ``columns``: all ``text``, or the types of TYPED_COLUMNS."""
    import psycopg

    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c),
                                sql.SQL(TYPED_COLUMNS.get(c, "text") if typed else "text"))
        for c in columns
    )
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), cols))


def checkpoint(url: str) -> None:
    """Flush dirty buffers so a timed step does not pay for the previous step's writes."""
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def count_rows(url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def psql_copy(url: str, table: str, path: Path) -> Run:
    """Time ``psql -c "\\copy TABLE FROM 'FILE' (FORMAT csv, HEADER true)"``."""
    u = make_url(url)
    if "'" in str(path):
        raise ValueError("the benchmark file path must not contain a quote")
    command = f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER true)"
    return run_measured(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(u.host), "-p", str(u.port),
         "-U", str(u.username), "-d", str(u.database), "-c", command],
        env={"PGPASSWORD": u.password or "", "PGAPPNAME": "bench-copy"},
    )


def to_postgis_child(path: Path, url: str, table: str) -> Run:
    """Run :func:`to_postgis` in a child process (time and memory measured)."""
    return run_measured([sys.executable, "-m", "bench.baselines", "to_postgis", str(path), table],
                        env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent),
                             "BENCH_URL": url})


def to_postgis(path: Path, url: str, table: str) -> dict[str, float | int]:
    """Read the CSV with pandas, build points from lon/lat, ``to_postgis`` with default options.

    Rows located only by ``bcp_code`` (no lat/lon) get an empty point: this baseline knows no
    BCPs, does no validation and no enrichment.
    """
    import geopandas as gpd
    import pandas as pd
    from sqlalchemy import create_engine

    began = time.perf_counter()
    frame = pd.read_csv(path)
    read_s = time.perf_counter() - began
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                           crs="EPSG:4326")
    built_s = time.perf_counter() - began - read_s
    engine = create_engine(url)
    try:
        gdf.to_postgis(table, engine, if_exists="replace")
    finally:
        engine.dispose()
    total = time.perf_counter() - began
    return {"rows": len(gdf), "read_s": read_s, "build_s": built_s,
            "write_s": total - read_s - built_s, "total_s": total}


def main(argv: list[str]) -> int:
    url = os.environ.get("BENCH_URL", "")
    if len(argv) != 3 or argv[0] != "to_postgis" or not url:
        print("usage: BENCH_URL=... python -m bench.baselines to_postgis FILE TABLE",
              file=sys.stderr)
        return 2
    print(json.dumps(to_postgis(Path(argv[1]), url, argv[2])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

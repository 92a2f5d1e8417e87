"""Property: malformed rows of every kind never make a load crash, and the counts balance."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from etl.load import load_file
from etl.settings import Settings

_COUNTER = itertools.count()

JUNK = st.one_of(
    st.just(""), st.just(" "), st.just("nan"), st.just("-1"), st.just("1e400"), st.just("NULL"),
    st.just("2024-02-30"), st.just("2099-01-01"), st.just("\x00"), st.just('a "quoted", value'),
    st.just("line\nbreak"), st.just("ÿ€漢"), st.just("9" * 30),
    st.text(max_size=12),
)
GOOD = {
    "incident_id": st.sampled_from(["a", "b", "c", "d"]),
    "occurred_at": st.sampled_from(["2024-05-01", "2024-05-01T10:00:00+02:00", "2023-12-31 23:59"]),
    "lat": st.sampled_from(["46.15", "19.9", "41.2", "52.5"]),
    "lon": st.sampled_from(["19.9", "46.15", "22.5", ""]),
    "bcp_code": st.sampled_from(["", "RS-HU-HORGOS", "XX-NONE"]),
    "category": st.sampled_from(["other", "crisis", "Cross-Border Crime", "unauthorized"]),
    "subtype": st.sampled_from(["", "drugs", "between_bcp"]),
    "persons": st.sampled_from(["", "0", "3", "-2", "2.5"]),
    "nationalities": st.sampled_from(["", "SYR", "SYR;AFG", "Syria"]),
    "direction": st.sampled_from(["", "entry", "EXIT", "up"]),
    "reporting_country": st.sampled_from(["", "RS", "ZZ"]),
    "description": st.text(max_size=20),
}
FLOW = {
    "bcp_code": st.sampled_from(["RS-HU-HORGOS", "TR-BG-KAPIKULE", "nope"]),
    "date": st.sampled_from(["2024-05-01", "2024-05-02", "05/01/2024"]),
    "direction": st.sampled_from(["entry", "exit", "in"]),
    "category": st.sampled_from(["cars", "trucks", "bikes"]),
    "count": st.sampled_from(["0", "10", "-3", "x"]),
    "wait_minutes_avg": st.sampled_from(["", "5", "50"]),
    "wait_minutes_max": st.sampled_from(["", "10", "-1"]),
}
BENCH = {
    "country": st.sampled_from(["RS", "AL", "ZZ"]),
    "round": st.sampled_from(["2010", "2024-H1", "spring", "2011-13"]),
    "component": st.sampled_from(["border_control", "risk_analysis", "border_contrl"]),
    "level": st.sampled_from(["0", "2", "3", "9", "x"]),
    "deadline": st.sampled_from(["", "2012-01-31", "soon"]),
}
KINDS = {"incidents": GOOD, "flows": FLOW, "benchmarks": BENCH}


@st.composite
def files(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(sorted(KINDS)))
    columns = KINDS[kind]
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = {c: draw(st.one_of(s, JUNK) if draw(st.booleans()) else s)
               for c, s in columns.items()}
        rows.append([row[c] for c in columns])
        if draw(st.integers(0, 9)) == 0:  # ragged: too many or too few fields
            rows[-1] = rows[-1][: draw(st.integers(0, len(columns)))] + draw(
                st.lists(st.text(max_size=3), max_size=12))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*columns, *(["Extra Note"] if draw(st.booleans()) else [])])
    writer.writerows(rows)
    return kind, buf.getvalue()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=files())
def test_no_exception_and_counts_balance(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path, case: tuple[str, str]
) -> None:
    kind, content = case
    path = tmp_path / f"{kind}_{next(_COUNTER)}.csv"
    path.write_text(content, encoding="utf-8")
    report = load_file(geo_engine, geo_settings, kind, path, source=path.stem)
    assert report.status == "succeeded"
    assert report.read == report.inserted + report.updated + report.unchanged + report.rejected
    with geo_engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM rejected_row WHERE run_id = :r"),
                            {"r": report.run_id}).scalar_one()
        run = conn.execute(text("SELECT rows_read, rows_rejected FROM load_run "
                                "WHERE run_id = :r"), {"r": report.run_id}).one()
    assert kept == report.rejected and tuple(run) == (report.read, report.rejected)

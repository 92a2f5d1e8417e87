"""Adding an input kind is one small spec and one line of registration: the runner, the readers,
the validator, the run record and ``borderwatch load <kind>`` do the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from etl.cli import cli_group
from etl.load import load_file
from etl.settings import Settings
from etl.sources import register, unregister
from etl.validate import Column, SourceSpec
from tests.support import query_rows as _q

# ------------------------------------------------------------------- the whole kind (10 lines)
TOY = SourceSpec(
    kind="toy_readings", table="toy_reading", natural_key=("station", "day"), requires="bcp",
    columns=(
        Column("station", "ref", required=True, ref="bcp"),
        Column("day", "date", required=True, not_future=True),
        Column("level", "enum", required=True, choices=("low", "high")),
        Column("value", "float", required=True, min_value=0),
        Column("note", "text", max_length=20),
    ),
)
# ---------------------------------------------------------------------------------------------

TABLE = """CREATE TABLE toy_reading (
    station varchar(32) NOT NULL, day date NOT NULL, level text NOT NULL, value float8 NOT NULL,
    note text, source text NOT NULL, attrs jsonb NOT NULL DEFAULT '{}',
    content_hash varchar(32) NOT NULL, run_id int,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, day))"""
FILE = """Station,Day,Level,Value,Note,Colour
rs-hu-horgos,2024-05-01,High,3.5,fine,red
RS-HU-HORGOS,2024-05-02,low,0,,
RS-HU-HORGOS,2024-05-01,high,3.5,fine,red
RS-HU-HORGOS,2024-05-01,low,9,changed its mind,
NOWHERE,2024-05-03,lowish,-1,a note that is far too long for it,
TR-BG-KAPIKULE,2099-01-01,high,x,,
"""


@pytest.fixture
def toy(geo_engine: Engine) -> Iterator[SourceSpec]:
    with geo_engine.begin() as conn:
        conn.execute(text(TABLE))
    register(TOY)  # the one line a new kind adds to etl/sources/__init__.py
    yield TOY
    unregister(TOY.kind)


def _codes(engine: Engine, run_id: int | None) -> dict[int, list[str]]:
    return dict(_q(engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code') "
                           "FROM rejected_row WHERE run_id = :r", r=run_id))


def test_a_toy_kind_loads_with_rejects(geo_engine: Engine, geo_settings: Settings,
                                       tmp_path: Path, toy: SourceSpec) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(FILE, encoding="utf-8")
    report = load_file(geo_engine, geo_settings, "toy_readings", path, source="lab")
    assert (report.read, report.inserted, report.unchanged, report.rejected) == (6, 2, 1, 3)
    assert report.balanced() and report.status == "succeeded"
    assert _codes(geo_engine, report.run_id) == {
        4: ["duplicate_conflict"],
        5: ["unknown_station", "unknown_level", "negative_value", "bad_text"],
        6: ["future_date", "bad_number"],
    }
    assert _q(geo_engine, "SELECT station, day::text, level, value, note, attrs, source "
                          "FROM toy_reading ORDER BY day") == [
        ("RS-HU-HORGOS", "2024-05-01", "high", 3.5, "fine", {"Colour": "red"}, "lab"),
        ("RS-HU-HORGOS", "2024-05-02", "low", 0.0, None, {}, "lab"),
    ]
    assert _q(geo_engine, "SELECT kind, status, rows_read, rows_rejected FROM load_run "
                          "WHERE run_id = :r", r=report.run_id) == [("toy_readings", "succeeded",
                                                                     6, 3)]
    again = load_file(geo_engine, geo_settings, "toy_readings", path, source="lab")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 3)


def test_its_command_follows_the_registration(geo_engine: Engine, tmp_path: Path,
                                              toy: SourceSpec) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(FILE, encoding="utf-8")
    env = {"BORDERWATCH_DATABASE_URL": geo_engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    listed = CliRunner().invoke(cli_group, ["load", "--help"], env=env)
    assert "toy-readings" in listed.output
    done = CliRunner().invoke(cli_group, ["load", "toy-readings", str(path), "--json",
                                          "--dry-run"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rejected"] == 3

"""The shipped reference geodata, derived by geodata/derive.py and loaded by load_geodata."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from etl.cli.load import load
from etl.settings import PROJECT_ROOT, Settings
from etl.sources.geodata import load_geodata
from tests.conftest import settings_for

TARGETS = {"AL", "BA", "HR", "XK", "MK", "ME", "RS", "TR"}
NEIGHBOURS = {"SI", "HU", "RO", "BG", "GR", "GE", "AM", "AZ", "IR", "IQ", "SY"}
TABLES = {
    "country": "iso2",
    "border_line": "pair_id",
    "border_section": "section_id",
    "bcp": "code",
    "joint_patrol_agreement": "agreement_id",
    "joint_patrol_area": "agreement_id",
    "ibm_component": "component_id",
    "ibm_level": "level",
}


def _derive_module() -> ModuleType:
    path = PROJECT_ROOT / "geodata" / "derive.py"
    spec = importlib.util.spec_from_file_location("geodata_derive", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- derive.py


def test_topojson_arcs_are_delta_decoded_and_transformed() -> None:
    derive = _derive_module()
    topology = {
        "transform": {"scale": [0.5, 0.25], "translate": [10.0, 40.0]},
        "arcs": [[[0, 0], [2, 0], [0, 4]], [[2, 4], [-2, 0], [0, -4]]],
    }
    arcs = derive.decode_arcs(topology)
    assert arcs[0] == [(10.0, 40.0), (11.0, 40.0), (11.0, 41.0)]
    assert arcs[1] == [(11.0, 41.0), (10.0, 41.0), (10.0, 40.0)]
    square = derive.topo_geometry({"type": "Polygon", "arcs": [[0, 1]]}, arcs)
    assert square.area == pytest.approx(1.0)
    reversed_ring = derive._ring([~1, ~0], arcs)
    assert reversed_ring[0] == (10.0, 40.0) and reversed_ring[-1] == (10.0, 40.0)


def test_cut_gives_equal_pieces_that_add_up() -> None:
    derive = _derive_module()
    coarse = LineString([(19.0, 45.0), (19.5, 45.2), (20.0, 45.1), (20.4, 45.6)])
    line = shapely.segmentize(coarse, 0.003)  # vertices ~300 m apart, as in the 1:10m arcs
    total = derive.geodesic_km(line)
    pieces = derive._cut(line, 4)
    lengths = [derive.geodesic_km(p) for p in pieces]
    assert sum(lengths) == pytest.approx(total, rel=1e-6)
    assert max(lengths) - min(lengths) < 0.01
    assert pieces[0].coords[0] == line.coords[0] and pieces[-1].coords[-1] == line.coords[-1]


def test_sections_start_at_the_west_end() -> None:
    derive = _derive_module()
    east_first = LineString([(21.0, 45.0), (20.0, 45.0)])
    assert derive._orient(east_first).coords[0] == (20.0, 45.0)


# --------------------------------------------------------------------------- the warehouse


def test_all_administrations_and_neighbours_are_loaded(geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        rows = conn.execute(text("SELECT iso2, is_target, name, footnote FROM country")).all()
        invalid = conn.execute(text("SELECT count(*) FROM country WHERE NOT ST_IsValid(geom)"))
        assert invalid.scalar_one() == 0
    by_code = {r.iso2: r for r in rows}
    assert set(by_code) == TARGETS | NEIGHBOURS
    assert {c for c, r in by_code.items() if r.is_target} == TARGETS
    assert by_code["XK"].name == "Kosovo*"
    assert "UNSCR 1244/1999" in by_code["XK"].footnote


def test_every_target_neighbour_pair_has_sections_adding_up(geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        pairs = conn.execute(
            text(
                """
                SELECT b.pair_id, b.country_a, b.country_b, b.length_km,
                       ST_Length(b.geom::geography) / 1000 AS geodesic_km,
                       count(s.*) AS n, coalesce(sum(s.length_km), 0) AS sections_km,
                       max(s.length_km) AS longest,
                       coalesce(sum(ST_Length(s.geom::geography)), 0) / 1000 AS sections_geo_km
                FROM border_line b LEFT JOIN border_section s USING (pair_id)
                GROUP BY b.pair_id
                """
            )
        ).all()
    assert len(pairs) >= 29
    touched = {c for p in pairs for c in (p.country_a, p.country_b)}
    assert touched == TARGETS | NEIGHBOURS
    for p in pairs:
        assert {p.country_a, p.country_b} & TARGETS, p.pair_id
        assert p.n >= 1, p.pair_id
        assert p.length_km == pytest.approx(p.geodesic_km, rel=0.001), p.pair_id
        assert p.sections_km == pytest.approx(p.length_km, rel=0.01), p.pair_id
        assert p.sections_geo_km == pytest.approx(p.length_km, rel=0.01), p.pair_id
        assert p.longest <= 50.0 + 1e-6, p.pair_id


def test_section_ids_are_stable_and_sequential(geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT section_id, pair_id, seq, impact_level FROM border_section")
        ).all()
    for r in rows:
        assert r.section_id == f"{r.pair_id}-{r.seq:02d}"
        assert r.impact_level == "low"
    by_pair: dict[str, list[int]] = {}
    for r in rows:
        by_pair.setdefault(r.pair_id, []).append(r.seq)
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in by_pair.values())


def test_shipped_bcps_all_load_within_3_km_of_their_border(geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        run = conn.execute(
            text("SELECT rows_rejected, status FROM load_run WHERE kind = 'geodata'")
        ).one()
        rows = conn.execute(
            text(
                """
                SELECT p.code, p.country_a, p.country_b,
                       ST_Distance(p.geom::geography, b.geom::geography) AS metres
                FROM bcp p
                JOIN border_line b
                  ON b.pair_id = least(p.country_a, p.country_b) || '-'
                               || greatest(p.country_a, p.country_b)
                """
            )
        ).all()
        total = conn.execute(text("SELECT count(*) FROM bcp")).scalar_one()
    assert run.status == "succeeded" and run.rows_rejected == 0  # no shipped BCP rejected
    shipped = (PROJECT_ROOT / "geodata" / "bcps.csv").read_text(encoding="utf-8")
    assert total == len(shipped.strip().splitlines()) - 1
    assert len(rows) == total >= 60
    too_far = [(r.code, round(r.metres)) for r in rows if r.metres > 3000]
    assert too_far == []
    assert {r.country_a for r in rows} | {r.country_b for r in rows} >= TARGETS


def test_5_km_agreement_area_matches_buffer_of_border(geo_engine: Engine) -> None:
    """Area ≈ 2 × depth × border length, less the part of the buffer the clip removes.

    The buffer of the border line is clipped to the union of the two countries. What it loses
    there (end caps reaching into a third country, e.g. Hungary and Bosnia at the ends of the
    HR-RS line; the sea next to a coastal border) is measured separately as the area of the
    unclipped buffer outside both countries, and subtracted from 2 × d × L before comparing.
    The remaining difference comes from the end caps (+π d²) and from the buffer overlapping
    itself in tight river bends (the Danube), and must stay within 10%.
    """
    with geo_engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT a.agreement_id, a.depth_km AS d, b.length_km AS l, j.area_km2,
                       ST_Area(ST_Difference(
                           ST_Buffer(ST_Transform(b.geom, 3035), a.depth_km * 1000),
                           ST_Transform(ST_Union(ca.geom, cb.geom), 3035))) / 1e6 AS lost_km2,
                       ST_Area(ST_Difference(ST_Transform(j.geom, 3035),
                           ST_Transform(ST_Union(ca.geom, cb.geom), 3035))) / 1e6 AS outside_km2
                FROM joint_patrol_area j
                JOIN joint_patrol_agreement a USING (agreement_id)
                JOIN border_line b
                  ON b.pair_id = least(a.country_a, a.country_b) || '-'
                               || greatest(a.country_a, a.country_b)
                JOIN country ca ON ca.iso2 = a.country_a
                JOIN country cb ON cb.iso2 = a.country_b
                """
            )
        ).all()
    by_id = {r.agreement_id: r for r in rows}
    assert "HR-RS-JOINT-PATROL" in by_id  # the documented 5 km zone
    five_km = [r for r in rows if r.d == 5]
    assert five_km
    for r in five_km:
        expected = 2 * r.d * r.l - r.lost_km2
        assert r.area_km2 == pytest.approx(expected, rel=0.10), r.agreement_id
        assert r.outside_km2 < 0.01 * r.area_km2, r.agreement_id  # really clipped


def test_framework_is_loaded(geo_engine: Engine) -> None:
    with geo_engine.connect() as conn:
        components = conn.execute(
            text("SELECT component_id, result_area FROM ibm_component ORDER BY ordering")
        ).all()
        levels = conn.execute(text("SELECT level FROM ibm_level ORDER BY level")).scalars().all()
    assert levels == [0, 1, 2, 3]
    ids = {c.component_id for c in components}
    assert {"border_control", "risk_analysis", "fundamental_rights", "return"} <= ids
    assert len({c.result_area for c in components}) == 3
    assert len(components) == 15


def _snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    out = {}
    with engine.connect() as conn:
        for table, key in TABLES.items():
            row = conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.{key}), '')) "
                    f"FROM {table} t"
                )
            ).one()
            out[table] = (row[0], row[1])
    return out


def test_loading_twice_changes_nothing(engine: Engine, settings: Settings) -> None:
    first = load_geodata(engine, settings)
    assert first["inserted"] > 0 and first["rejected"] == 0
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE border_section SET impact_level = 'high', impact_reason = 'test' "
                "WHERE section_id = 'HR-RS-01'"
            )
        )
    before = _snapshot(engine)
    second = load_geodata(engine, settings)
    assert _snapshot(engine) == before
    assert (second["inserted"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert second["joint_patrol_area_written"] == 0
    assert second["unchanged"] == first["inserted"]
    with engine.connect() as conn:
        level = conn.execute(
            text("SELECT impact_level FROM border_section WHERE section_id = 'HR-RS-01'")
        ).scalar_one()
        runs = conn.execute(
            text("SELECT status, rows_inserted, rows_unchanged FROM load_run ORDER BY run_id")
        ).all()
    assert level == "high"
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[1].rows_inserted == 0 and runs[1].rows_unchanged == first["inserted"]


def test_cli_load_geodata(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(load, ["geodata"], obj=settings_for(url))
    assert result.exit_code == 0, result.output
    assert "country 19" in result.output and "rejected 0" in result.output


def test_missing_geodata_folder_is_a_safe_error(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(load, ["geodata", "--dir", str(tmp_path)], obj=settings_for(url))
    assert result.exit_code == 2
    assert "geodata file(s) missing" in result.output
    assert "Traceback" not in result.output

"""``borderwatch load geodata``: the shipped reference data of ``geodata/`` into the warehouse.

Declared inputs (all EPSG:4326; see ``geodata/MANIFEST.md``):

============================== ================ ==================== ===============
file                           table            natural key          geometry
============================== ================ ==================== ===============
countries.geojson              country          iso2                 MultiPolygon
border_lines.geojson           border_line      pair_id              MultiLineString
border_sections.geojson        border_section   section_id           MultiLineString
bcps.csv                       bcp              code                 Point
joint_patrol_agreements.csv    joint_patrol_... agreement_id         (derived areas)
ibm_framework.yaml             ibm_component,   component_id, level  -
                               ibm_level
============================== ================ ==================== ===============

Everything is written in one transaction with upserts on the natural keys, so a second run
changes no row. ``border_section.impact_level`` (and its reason and date) belong to the
warehouse, not to the reference data: existing values are kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import MultiLineString, MultiPolygon, shape

from etl import derive
from etl.errors import InputFileError
from etl.pipeline import load_into
from etl.reader import open_input
from etl.runs import Run, recorded_run
from etl.settings import Settings
from etl.sources import agreements, bcps
from etl.warehouse.schema import SRID
from etl.warehouse.upserts import Geometry, delete_missing, upsert_rows

NAME = "geodata"
FILES = {
    "country": "countries.geojson",
    "border_line": "border_lines.geojson",
    "border_section": "border_sections.geojson",
    "bcp": "bcps.csv",
    "joint_patrol_agreement": "joint_patrol_agreements.csv",
    "ibm_framework": "ibm_framework.yaml",
}
SECTION_KEEP = ("impact_level", "impact_reason", "impact_updated_at")


# --------------------------------------------------------------------------- readers


def _features(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["features"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"{path.name} is not a readable GeoJSON file", str(exc)) from exc


def _multi(geometry: dict[str, Any], kind: type) -> Geometry:
    geom = shape(geometry)
    if not isinstance(geom, kind):
        geom = kind([geom])
    return Geometry(shapely.to_wkb(shapely.set_srid(geom, SRID), include_srid=True))


def read_countries(path: Path) -> list[dict[str, Any]]:
    """Rows of ``country`` from ``countries.geojson``."""
    return [
        {
            "iso2": f["properties"]["iso2"],
            "iso3": f["properties"]["iso3"],
            "name": f["properties"]["name"],
            "is_target": bool(f["properties"]["is_target"]),
            "footnote": f["properties"].get("footnote"),
            "geom": _multi(f["geometry"], MultiPolygon),
        }
        for f in _features(path)
    ]


def read_border_lines(path: Path) -> list[dict[str, Any]]:
    """Rows of ``border_line`` from ``border_lines.geojson``."""
    return [
        {
            "pair_id": f["properties"]["pair_id"],
            "country_a": f["properties"]["country_a"],
            "country_b": f["properties"]["country_b"],
            "length_km": float(f["properties"]["length_km"]),
            "geom": _multi(f["geometry"], MultiLineString),
        }
        for f in _features(path)
    ]


def read_sections(path: Path) -> list[dict[str, Any]]:
    """Rows of ``border_section`` from ``border_sections.geojson`` (no impact level)."""
    return [
        {
            "section_id": f["properties"]["section_id"],
            "pair_id": f["properties"]["pair_id"],
            "seq": int(f["properties"]["seq"]),
            "length_km": float(f["properties"]["length_km"]),
            "geom": _multi(f["geometry"], MultiLineString),
        }
        for f in _features(path)
    ]


def read_framework(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``ibm_component`` and ``ibm_level`` from ``ibm_framework.yaml``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        components = [
            {
                "component_id": c["component_id"],
                "name": c["name"],
                "result_area": area["name"],
                "description": c.get("description"),
                "legal_ref": c.get("legal_ref"),
                "ordering": 0,
            }
            for area in data["result_areas"]
            for c in area["components"]
        ]
        levels = [
            {"level": int(x["level"]), "label": x["label"], "definition": x["definition"]}
            for x in data["levels"]
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise InputFileError(f"{path.name} cannot be read", str(exc)) from exc
    for i, c in enumerate(components, start=1):
        c["ordering"] = i
    return components, levels


def _checksum(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in sorted(FILES.values()):
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- loader


def _tally(counts: dict[str, int], result: tuple[int, int, int]) -> None:
    for key, n in zip(("inserted", "updated", "unchanged"), result, strict=True):
        counts[key] += n


def _load(run: Run, directory: Path, settings: Settings) -> dict[str, int]:
    """Every part, in the order the foreign keys need; the counts of the run."""
    db, report = run.db, run.report
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "deleted": 0}
    tables = [
        ("country", read_countries(directory / FILES["country"]), ()),
        ("border_line", read_border_lines(directory / FILES["border_line"]), ()),
        ("border_section", read_sections(directory / FILES["border_section"]), SECTION_KEEP),
    ]
    components, levels = read_framework(directory / FILES["ibm_framework"])
    tables += [("ibm_component", components, ()), ("ibm_level", levels, ())]
    for table, rows, keep in tables:
        counts[table] = len(rows)
        _tally(counts, upsert_rows(db, table, rows, keep))
    counts["deleted"] = delete_missing(db, "border_section", "section_id",
                                       [r["section_id"] for r in tables[2][1]])
    report.read = sum(len(rows) for _, rows, _ in tables)
    report.inserted, report.updated = counts["inserted"], counts["updated"]
    report.unchanged = counts["unchanged"]
    # the parts that are file rows: the same reader, validator and stores as every load
    for key, spec in (("joint_patrol_agreement", agreements.SPEC), ("bcp", bcps.SPEC)):
        inp = open_input(directory / FILES[key], spec, settings.load_chunk_rows)
        counts[key] = load_into(run, spec, inp)
    derived, written = derive.derive_patrol_areas(db)
    counts["joint_patrol_area"] = derived
    counts["joint_patrol_area_written"] = written
    counts.update(inserted=report.inserted, updated=report.updated,
                  unchanged=report.unchanged, rejected=report.rejected)
    return counts


def load_geodata(engine: Any, settings: Settings, directory: Path | None = None
                 ) -> dict[str, int]:
    """Load the reference geodata idempotently, in one transaction (one recorded run).

    Parameters
    ----------
    engine
        The warehouse.
    settings
        For ``bcp_max_border_km`` (the shipped BCPs pass the same checks as a service's own)
        and ``geodata_dir``.
    directory
        The geodata folder (default: ``settings.geodata_dir``, the copy shipped with
        borderwatch unless ``BORDERWATCH_GEODATA_DIR`` names another).

    Returns
    -------
    dict
        Rows per table in the files (``country``, ``border_line``, ``border_section``,
        ``bcp`` and ``joint_patrol_agreement`` (accepted rows), ``joint_patrol_area``,
        ``ibm_component``, ``ibm_level``), totals ``inserted``/``updated``/``unchanged``/
        ``rejected``, ``deleted`` (stale sections) and the ``run_id`` of the ``load_run`` row.
    """
    directory = directory or settings.geodata_folder(FILES.values())
    missing = [n for n in FILES.values() if not (directory / n).is_file()]
    if missing:
        raise InputFileError(f"geodata file(s) missing: {', '.join(missing)}")
    with recorded_run(engine, settings, kind=NAME, source=NAME,
                      file_name=f"{directory.name}/", checksum=_checksum(directory)) as run:
        counts = _load(run, directory, settings)
    counts["run_id"] = run.run_id
    return counts

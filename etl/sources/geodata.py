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

import csv
import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import yaml
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiLineString, MultiPolygon, shape
from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import SQLAlchemyError

from etl import derive
from etl.errors import BorderwatchError, InputFileError, LoadError
from etl.load import lock_loads, upsert_rows
from etl.runs import (
    LoadReport,
    count_reasons,
    fail_run,
    finish_run,
    record_rejects,
    start_run,
)
from etl.settings import PROJECT_ROOT, Settings
from etl.sources import bcps
from etl.warehouse.schema import (
    SRID,
    border_line,
    border_section,
    country,
    ibm_component,
    ibm_level,
    joint_patrol_agreement,
)

NAME = "geodata"
GEODATA_DIR = PROJECT_ROOT / "geodata"
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


def _multi(geometry: dict[str, Any], kind: type) -> Any:
    geom = shape(geometry)
    if not isinstance(geom, kind):
        geom = kind([geom])
    return from_shape(geom, srid=SRID)


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


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text.strip() else None


def read_agreements(path: Path) -> list[dict[str, Any]]:
    """Rows of ``joint_patrol_agreement`` from ``joint_patrol_agreements.csv``."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [
                {
                    "agreement_id": r["agreement_id"],
                    "country_a": r["country_a"],
                    "country_b": r["country_b"],
                    "depth_km": float(r["depth_km"]),
                    "valid_from": _date(r["valid_from"]),
                    "valid_to": _date(r["valid_to"]),
                    "legal_basis": r["legal_basis"] or None,
                    "status": r["status"],
                    "notes": r["notes"] or None,
                }
                for r in csv.DictReader(fh)
            ]
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(f"{path.name} cannot be read", str(exc)) from exc


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


def _load(conn: Connection, directory: Path, settings: Settings,
          report: LoadReport) -> dict[str, int]:
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "deleted": 0}
    tables = [
        (country, read_countries(directory / FILES["country"]), ()),
        (border_line, read_border_lines(directory / FILES["border_line"]), ()),
        (border_section, read_sections(directory / FILES["border_section"]), SECTION_KEEP),
        (joint_patrol_agreement, read_agreements(directory / FILES["joint_patrol_agreement"]),
         ()),
    ]
    components, levels = read_framework(directory / FILES["ibm_framework"])
    tables += [(ibm_component, components, ()), (ibm_level, levels, ())]
    for table, rows, keep in tables:
        counts[table.name] = len(rows)
        _tally(counts, upsert_rows(conn, table, rows, keep))
    section_ids = [r["section_id"] for r in tables[2][1]]
    counts["deleted"] = conn.execute(
        delete(border_section).where(border_section.c.section_id.not_in(section_ids))
    ).rowcount

    registry = bcps.read_registry(directory / FILES["bcp"])
    checked, result = bcps.load_rows(conn, registry, settings, source=NAME)
    counts["bcp"] = len(checked.accepted)
    counts["rejected"] = len(checked.rejects)
    counts["unchanged"] += len(checked.repeats)
    _tally(counts, result)
    record_rejects(conn, report.run_id or 0, checked.rejects)
    count_reasons(report, checked.rejects)

    derived, written = derive.derive_patrol_areas(conn)
    counts["joint_patrol_area"] = derived
    counts["joint_patrol_area_written"] = written
    report.read = sum(len(rows) for _, rows, _ in tables) + len(registry)
    report.inserted, report.updated = counts["inserted"], counts["updated"]
    report.unchanged, report.rejected = counts["unchanged"], counts["rejected"]
    return counts


def load_geodata(engine: Engine, settings: Settings, directory: Path | None = None
                 ) -> dict[str, int]:
    """Load the reference geodata idempotently, in one transaction.

    Parameters
    ----------
    engine
        The warehouse.
    settings
        For ``bcp_max_border_km`` (the shipped BCPs pass the same checks as a service's own).
    directory
        The geodata folder (default: the repository's ``geodata/``).

    Returns
    -------
    dict
        Rows per table in the files (``country``, ``border_line``, ``border_section``,
        ``bcp``, ``joint_patrol_agreement``, ``joint_patrol_area``, ``ibm_component``,
        ``ibm_level``), totals ``inserted``/``updated``/``unchanged``/``rejected``,
        ``deleted`` (stale sections) and the ``run_id`` of the ``load_run`` row.
    """
    directory = directory or GEODATA_DIR
    missing = [n for n in FILES.values() if not (directory / n).is_file()]
    if missing:
        raise InputFileError(f"geodata file(s) missing: {', '.join(missing)}")
    report = LoadReport(kind=NAME, source=NAME, file_name=f"{directory.name}/")
    started = time.monotonic()
    report.run_id = start_run(engine, kind=NAME, source=NAME, file_name=f"{directory.name}/",
                              checksum=_checksum(directory))
    try:
        with engine.begin() as conn:
            lock_loads(conn, report.run_id, settings)
            counts = _load(conn, directory, settings, report)
            finish_run(conn, report, started=started)
    except Exception as exc:
        message = exc.user_message if isinstance(exc, BorderwatchError) else type(exc).__name__
        fail_run(engine, report, started=started, message=f"failed: {message}")
        if isinstance(exc, SQLAlchemyError):
            raise LoadError("Loading the geodata failed; nothing was written.", str(exc)) from exc
        raise
    counts["run_id"] = report.run_id
    return counts

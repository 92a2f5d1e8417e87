"""The real geography the demo stands on, read from the reference geodata files
(``settings.geodata_dir``: the copy shipped with borderwatch by default).

The generator samples incidents along the real border sections, offset into the real country
polygons, and writes flows for the real BCP registry. Reading the files (not the warehouse) keeps
``borderwatch demo generate`` usable without a database; ``demo load`` loads the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
import yaml

from etl.errors import ConfigurationError

# the files read_reference needs (checked up front by Settings.geodata_folder)
FILES = ("countries.geojson", "border_sections.geojson", "bcps.csv", "ibm_framework.yaml")
TARGETS = ("AL", "BA", "HR", "XK", "MK", "ME", "RS", "TR")
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320


@dataclass(frozen=True)
class Borders:
    """Every border section cut into straight segments, for sampling points by arc length.

    ``seg_*`` arrays have one entry per segment; ``sec_*`` arrays one per section. Lengths are
    in km (equirectangular at the segment's latitude: plenty for sampling).
    """

    sec_id: np.ndarray
    sec_pair: np.ndarray
    sec_len_km: np.ndarray
    sec_first: np.ndarray  # index of the section's first segment
    sec_count: np.ndarray  # number of segments of the section
    seg_x0: np.ndarray
    seg_y0: np.ndarray
    seg_dx: np.ndarray
    seg_dy: np.ndarray
    seg_cum_km: np.ndarray  # cumulative length at the segment's end, over all segments

    def pair_countries(self) -> tuple[np.ndarray, np.ndarray]:
        """The two iso2 codes of each section's pair (alphabetical, as in the pair id)."""
        parts = np.char.split(self.sec_pair.astype(str), "-")
        return (
            np.array([p[0] for p in parts]),
            np.array([p[1] for p in parts]),
        )


@dataclass(frozen=True)
class Reference:
    """Countries, border sections, BCPs and the IBM framework of the shipped geodata."""

    countries: dict[str, shapely.Geometry]
    borders: Borders
    bcps: pd.DataFrame
    components: dict[str, str]  # framework component id -> name
    levels: tuple[int, ...]

    def contains(self, iso2: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether each point lies inside the country named next to it (vectorised)."""
        inside = np.zeros(len(lon), dtype=bool)
        for code in np.unique(iso2):
            mask = iso2 == code
            geom = self.countries.get(str(code))
            if geom is not None:
                inside[mask] = shapely.contains_xy(geom, lon[mask], lat[mask])
        return inside


def read_reference(geodata_dir: Path) -> Reference:
    """Read the reference files the demo needs, with a clear error when one is missing.

    Parameters
    ----------
    geodata_dir
        Folder holding ``countries.geojson``, ``border_sections.geojson``, ``bcps.csv`` and
        ``ibm_framework.yaml`` (``settings.geodata_folder(FILES)``).
    """
    countries = _countries(_need(geodata_dir / "countries.geojson"))
    borders = _borders(_need(geodata_dir / "border_sections.geojson"))
    bcps = _bcps(_need(geodata_dir / "bcps.csv"))
    components, levels = _framework(_need(geodata_dir / "ibm_framework.yaml"))
    return Reference(countries, borders, bcps, components, levels)


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ConfigurationError(
            f"reference file {path.name} is missing from {path.parent}; the demo needs the "
            "shipped geodata (see geodata/MANIFEST.md)"
        )
    return path


def _countries(path: Path) -> dict[str, shapely.Geometry]:
    frame = pyogrio.read_dataframe(path)
    out: dict[str, shapely.Geometry] = {}
    for code, geom in zip(frame["iso2"], frame.geometry.values, strict=True):
        shapely.prepare(geom)
        out[str(code)] = geom
    return out


def _borders(path: Path) -> Borders:
    frame = pyogrio.read_dataframe(path).sort_values("section_id", kind="stable")
    x0, y0, dx, dy, seg_sec = [], [], [], [], []
    for i, geom in enumerate(frame.geometry.values):
        for part in shapely.get_parts(geom):
            xy = shapely.get_coordinates(part)
            if len(xy) < 2:
                continue
            x0.append(xy[:-1, 0])
            y0.append(xy[:-1, 1])
            dx.append(np.diff(xy[:, 0]))
            dy.append(np.diff(xy[:, 1]))
            seg_sec.append(np.full(len(xy) - 1, i))
    if not x0:
        raise ConfigurationError(f"{path.name} holds no border sections")
    seg_x0, seg_y0 = np.concatenate(x0), np.concatenate(y0)
    seg_dx, seg_dy = np.concatenate(dx), np.concatenate(dy)
    sec_of_seg = np.concatenate(seg_sec)
    mid_lat = np.radians(seg_y0 + seg_dy / 2)
    seg_len = np.hypot(seg_dx * KM_PER_DEG_LON * np.cos(mid_lat), seg_dy * KM_PER_DEG_LAT)
    n_sec = len(frame)
    count = np.bincount(sec_of_seg, minlength=n_sec)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    return Borders(
        sec_id=frame["section_id"].to_numpy(dtype=str),
        sec_pair=frame["pair_id"].to_numpy(dtype=str),
        sec_len_km=np.bincount(sec_of_seg, weights=seg_len, minlength=n_sec),
        sec_first=first,
        sec_count=count,
        seg_x0=seg_x0,
        seg_y0=seg_y0,
        seg_dx=seg_dx,
        seg_dy=seg_dy,
        seg_cum_km=np.cumsum(seg_len),
    )


def _bcps(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = {"code", "name_a", "name_b", "country_a", "country_b", "mode", "lat", "lon"} - set(
        frame.columns
    )
    if missing:
        raise ConfigurationError(f"{path.name} lacks columns {sorted(missing)}")
    if frame.empty:
        raise ConfigurationError(f"{path.name} lists no crossing points")
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    if "e_road" not in frame.columns:
        frame["e_road"] = ""
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def _framework(path: Path) -> tuple[dict[str, str], tuple[int, ...]]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    components = _find_list(doc, ("components",))
    levels = _find_list(doc, ("levels", "scale"))
    ids = {
        str(c.get("component_id") or c.get("id")): str(c.get("name") or c.get("component_id"))
        for c in components
    }
    values = tuple(sorted(int(str(lv.get("level", lv.get("value")))) for lv in levels))
    if not ids or not values:
        raise ConfigurationError(f"{path.name} defines no components or no scale levels")
    return ids, values


def _find_list(doc: object, keys: tuple[str, ...]) -> list[dict[str, object]]:
    """The first list of mappings stored under one of ``keys`` anywhere in the document."""
    if isinstance(doc, dict):
        for key in keys:
            value = doc.get(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return value
        for value in doc.values():
            found = _find_list(value, keys)
            if found:
                return found
    if isinstance(doc, list):
        flat: list[dict[str, object]] = []
        for item in doc:
            flat.extend(_find_list(item, keys))
        return flat
    return []

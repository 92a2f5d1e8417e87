"""GeoJSON and GeoPackage input, through pyogrio (GDAL): the header of the first layer, then
the features in chunks, every value turned back into text.

What GDAL cannot read is turned into something a person can act on:

- a feature GDAL refuses (a coordinate that is not a number...) becomes a row of its own,
  marked ``__unreadable`` with GDAL's words (the validator rejects it, ``bad_feature``), found
  by reading the failing chunk in halves; beyond ``MAX_UNREADABLE`` such features the file is
  refused;
- GDAL's warnings (a Python warning naming a source file, or a "Warning 1: ..." line) are
  collected once each into ``InputFile.notes``, which the load reports;
- a GeoPackage with several layers is read from its first, and a note says so;
- text that holds a NUL (a GeoJSON ``\\u0000``, GeoPackage text), which GDAL cuts short at the
  NUL, is read again from the file itself so that the validator sees all of it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.errors import InputFileError
from etl.reader.files import Chunk, InputFile
from etl.validate import GEOM_LAT, GEOM_LON, GEOM_TYPE, GEOM_WKT, ROW, UNREADABLE, SourceSpec

#: A file with more features GDAL cannot read is refused as a whole.
MAX_UNREADABLE = 1000
_GDAL_LOG: Path | None = None


def _gdal_log() -> Path:
    """GDAL's own messages ("Warning 1: ...") go to this file instead of the terminal."""
    global _GDAL_LOG
    if _GDAL_LOG is None:
        import pyogrio

        fd, name = tempfile.mkstemp(prefix="borderwatch-gdal-", suffix=".log")
        os.close(fd)
        _GDAL_LOG = Path(name)
        pyogrio.set_gdal_config_options({"CPL_LOG": name})
    return _GDAL_LOG


@contextmanager
def _noted(inp: InputFile) -> Iterator[list[str]]:
    """Warnings of GDAL (Python warnings and its own log lines) become notes of ``inp``; the
    list yielded holds this call's, once it is over."""
    log = _gdal_log()
    start = log.stat().st_size if log.exists() else 0
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield texts
        finally:
            texts += [str(w.message) for w in caught]
            if log.exists():
                with log.open("r", encoding="utf-8", errors="replace") as fh:
                    fh.seek(start)
                    texts += [line.strip() for line in fh if line.strip()]
            for text in texts:
                _note(inp, text)


def _note(inp: InputFile, text: str) -> None:
    text = text.replace(str(inp.path), inp.path.name)
    if text.startswith("More than one layer found"):
        return  # said once, plainly, by open_ogr
    note = f"GDAL: {text}"
    if note not in inp.notes and len(inp.notes) < 20:
        inp.notes.append(note)


def open_ogr(path: Path, spec: SourceSpec, chunk_rows: int) -> InputFile:
    """The first layer of a GeoJSON or GeoPackage file, and its fields."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    inp = InputFile(path, spec, chunk_rows, "ogr", [], [], reader=ogr_chunks)
    try:
        with _noted(inp):
            layers = pyogrio.list_layers(path)
            if not len(layers):
                raise InputFileError(f"{path.name}: holds no layer of features")
            inp.layer = str(layers[0][0])
            info = pyogrio.read_info(path, layer=inp.layer, **_open_options(path))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputFileError(f"{path.name}: cannot be read as GeoJSON/GeoPackage") from exc
    if len(layers) > 1:
        names = ", ".join(str(n) for n, _ in layers[:5]) + (", …" if len(layers) > 5 else "")
        inp.notes.insert(0, f"{path.name} holds {len(layers)} layers ({names}); only the "
                            f"first, '{inp.layer}', was read")
    inp.headers = [str(f) for f in info["fields"]]
    inp.total = int(info.get("features") or 0)
    inp.has_geometry = bool(info.get("geometry_type"))
    inp.fid_column = str(info.get("fid_column") or "")
    inp.text_fields = [str(f) for f, t in zip(info["fields"], info.get("ogr_types", []),
                                             strict=False) if t == "OFTString"]
    return inp


def _text_column(s: pd.Series) -> pd.Series:
    """Values of a typed column back to text ('' for missing)."""
    if s.dtype == object:
        return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                     else str(v))
    if pd.api.types.is_bool_dtype(s):
        return s.map(lambda v: "true" if v else "false")
    if pd.api.types.is_float_dtype(s):
        return s.map(lambda v: "" if np.isnan(v) else np.format_float_positional(v, trim="-"))
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.map(lambda v: "" if pd.isna(v) else v.isoformat())
    return s.astype(str)


def _open_options(path: Path) -> dict[str, str]:
    """GDAL open options: GeoJSON dates as the text written (GDAL would type a property that
    looks like a date as one, and a day that does not exist, ``2024-02-30``, then failed the
    whole read in pyogrio; as text it is the validator's ``bad_date`` reject of that row)."""
    return {} if path.suffix.lower() == ".gpkg" else {"DATE_AS_STRING": "YES"}


def _read(inp: InputFile, skip: int, count: int) -> Any:
    import pyogrio

    with _noted(inp) as said:
        part = pyogrio.read_dataframe(
            inp.path, layer=inp.layer, skip_features=skip, max_features=count,
            datetime_as_string=True, on_invalid="ignore", fid_as_index=True,
            **_open_options(inp.path),
        )
    part.attrs["gdal"] = said  # what GDAL said while reading these features
    return part


def _read_range(inp: InputFile, skip: int, count: int,
                unreadable: dict[int, str]) -> list[tuple[int, Any]]:
    """(first feature, frame) parts of features ``skip`` .. ``skip + count``; a failing range
    is read in halves down to the single features GDAL refuses (kept in ``unreadable``)."""
    from pyogrio.errors import FeatureError, FieldError, GeometryError

    try:
        return [(skip, _read(inp, skip, count))]
    except (FeatureError, FieldError, GeometryError, ValueError) as exc:  # ValueError: a date
        # pyogrio cannot build (a GeoPackage date column holding 2024-02-30)
        if count == 1:
            if len(unreadable) >= MAX_UNREADABLE:
                raise InputFileError(
                    f"{inp.path.name}: more than {MAX_UNREADABLE:,} features cannot be read "
                    f"(feature {min(unreadable) + 1}: {unreadable[min(unreadable)]})") from exc
            unreadable[skip] = str(exc).replace(str(inp.path), inp.path.name)
            return []
        half = count // 2
        return (_read_range(inp, skip, half, unreadable)
                + _read_range(inp, skip + half, count - half, unreadable))


def ogr_chunks(inp: InputFile) -> Iterator[Chunk]:
    """The features in chunks of ``chunk_rows``, numbered from 1 in file order."""
    fix = _nul_values(inp)
    lost = _LostGeometries(inp)
    done = 0
    while done < inp.total or (inp.total == 0 and done == 0):
        count = inp.chunk_rows if inp.total == 0 else min(inp.chunk_rows, inp.total - done)
        unreadable: dict[int, str] = {}
        parts = _read_range(inp, done, count, unreadable)
        frames = [lost.mark(_frame(inp, part, first, fix), part.attrs.get("gdal", []))
                  for first, part in parts if len(part)]
        frames += [_unreadable_row(inp, n, why) for n, why in unreadable.items()]
        if not frames:
            break
        frame = pd.concat(frames, ignore_index=True).sort_values(ROW, kind="stable")
        frame.index = pd.RangeIndex(len(frame))
        done += len(frame)
        yield Chunk(frame, done, inp.total)
        if inp.total == 0:
            break


def _frame(inp: InputFile, part: Any, first: int, fix: Callable[[Any, pd.DataFrame], None]
           ) -> pd.DataFrame:
    import shapely

    if part.crs is not None and part.crs.to_epsg() != 4326:
        part = part.to_crs(4326)
    frame = pd.DataFrame(
        {col: _text_column(part[h]).to_numpy(dtype=object)
         for col, h in zip(inp.columns, inp.headers, strict=True)}
    )
    geoms = part.geometry.to_numpy() if "geometry" in part.columns else None
    if geoms is not None:
        types = shapely.get_type_id(geoms)
        is_point = types == 0
        with np.errstate(invalid="ignore"):
            frame[GEOM_LON] = np.where(is_point, shapely.get_x(geoms), np.nan)
            frame[GEOM_LAT] = np.where(is_point, shapely.get_y(geoms), np.nan)
        names = np.array([""] * len(geoms), dtype=object)
        present = ~shapely.is_missing(geoms)
        names[present] = [g.geom_type for g in geoms[present]]
        frame[GEOM_TYPE] = names
        wkt = np.array([""] * len(geoms), dtype=object)
        wkt[present] = shapely.to_wkt(geoms[present], rounding_precision=7)
        frame[GEOM_WKT] = wkt
    frame[ROW] = np.arange(first + 1, first + len(frame) + 1)
    fix(part.index.to_numpy(), frame)
    return frame


class _LostGeometries:
    """GeoJSON features whose geometry GDAL could not read and replaced by none (it says so,
    without saying which feature): they are marked unreadable, not taken for features
    without a geometry. Found by reading the file with ``json`` once, only when GDAL
    complained."""

    def __init__(self, inp: InputFile) -> None:
        self.inp = inp
        self.geometries: list[bool] | None = None

    def mark(self, frame: pd.DataFrame, said: list[str]) -> pd.DataFrame:
        if not said or GEOM_TYPE not in frame or self.inp.path.suffix.lower() == ".gpkg":
            return frame
        if self.geometries is None:
            self.geometries = [f.get("geometry") is not None for f in _features(self.inp)]
        rows = frame[ROW].to_numpy() - 1
        had = np.array([0 <= r < len(self.geometries) and self.geometries[r]
                        for r in rows.tolist()], dtype=bool)
        lost = had & (frame[GEOM_TYPE].to_numpy(dtype=object) == "")
        if lost.any():
            why = "its geometry cannot be read (GDAL: " + "; ".join(dict.fromkeys(said)) + ")"
            frame[UNREADABLE] = np.where(lost, why.replace(str(self.inp.path),
                                                           self.inp.path.name), "")
        return frame


def _features(inp: InputFile) -> list[dict[str, Any]]:
    """The features of a GeoJSON file as Python objects ([] when it cannot be read so)."""
    try:
        with inp.path.open("r", encoding="utf-8") as fh:
            data = json.load(fh)
        features = data.get("features", []) if isinstance(data, dict) else []
    except (OSError, ValueError, AttributeError):
        return []
    return [f if isinstance(f, dict) else {} for f in features]


def _unreadable_row(inp: InputFile, n: int, why: str) -> pd.DataFrame:
    row: dict[str, list[Any]] = {col: [""] for col in inp.columns}
    row[UNREADABLE] = [why]
    row[ROW] = [n + 1]
    return pd.DataFrame(row)


# ------------------------------------------------------------------------- text with a NUL


def _nul_values(inp: InputFile) -> Callable[[Any, pd.DataFrame], None]:
    """A function putting back, into a chunk's frame, the values GDAL cut short at a NUL
    (``fids``: the GeoPackage fid, or the GeoJSON feature index, of each row)."""
    found: dict[tuple[int, str], str] = {}
    if inp.path.suffix.lower() == ".gpkg":
        found = _gpkg_nul_values(inp)
    elif inp.has_nul:
        found = _geojson_nul_values(inp)
    column = dict(zip(inp.headers, inp.columns, strict=True))
    by_key: dict[int, list[tuple[str, str]]] = {}
    for (key, field), value in found.items():
        if field in column:
            by_key.setdefault(key, []).append((column[field], value))

    def fix(keys: Any, frame: pd.DataFrame) -> None:
        if not by_key:
            return
        if inp.path.suffix.lower() != ".gpkg":  # GeoJSON: the feature index, from 0
            keys = frame[ROW].to_numpy() - 1
        for pos, key in enumerate(np.asarray(keys).tolist()):
            for col, value in by_key.get(int(key), ()):
                frame.iat[pos, frame.columns.get_loc(col)] = value

    return fix


def _geojson_nul_values(inp: InputFile) -> dict[tuple[int, str], str]:
    """(feature index, property) -> text of the string properties holding a NUL."""
    out = {}
    for i, feature in enumerate(_features(inp)):
        props = feature.get("properties")
        for key, value in (props if isinstance(props, dict) else {}).items():
            if isinstance(value, str) and "\x00" in value:
                out[(i, key)] = value
    return out


def _gpkg_nul_values(inp: InputFile) -> dict[tuple[int, str], str]:
    """(fid, field) -> text of the GeoPackage text fields holding a NUL (read with SQLite)."""
    if not inp.fid_column or not inp.text_fields or inp.layer is None:
        return {}
    out = {}
    quote = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
    try:
        with sqlite3.connect(f"file:{inp.path}?mode=ro", uri=True) as db:
            for field in inp.text_fields:
                rows = db.execute(
                    f"SELECT {quote(inp.fid_column)}, CAST({quote(field)} AS BLOB)"  # noqa: S608
                    f" FROM {quote(inp.layer)} WHERE instr(CAST({quote(field)} AS BLOB), x'00')"
                ).fetchall()
                for fid, blob in rows:
                    out[(int(fid), field)] = bytes(blob).decode("utf-8", errors="replace")
    except sqlite3.Error:
        return {}
    return out

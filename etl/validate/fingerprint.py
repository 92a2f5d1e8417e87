"""What a row's validation depends on besides its text: the fingerprint of a load's rows.

A reload skips validating a row whose text it loaded before (``etl.reader.digests``; the
stored digest is mixed with the kind, the source and the file's columns, ``layout``), which is
right only if the row would be validated today exactly as it was then. So each load records
the *fingerprint* of everything else its validation read (``load_run.fingerprint``), and a
stored row is held as read only under the fingerprint of the load that wrote it, or of a load
that validated it again and found it unchanged (``raw_digest_confirmed``). The fingerprint
covers the kind's whole spec (its columns with their vocabularies, patterns and limits, its
key, its checks by name), the source, the file's columns, the references (codes, BCP
positions, the spec's tables), the settings validation may read, the NUL check, the validating
code itself (the source text of ``etl.validate`` and ``etl.reader``, and of the kind's own
module and of the modules of its checks) and the versions of Python, its Unicode data and the
libraries that parse. A change to any of them changes the fingerprint: the next reload
validates every row again and appends the unchanged ones to ``raw_digest_confirmed`` (no row of
the table is rewritten), so the reload after it skips them again. Only the clock is left out:
validation compares instants with it solely to refuse the future, and a row accepted once stays
accepted as time goes on.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import math
import sys
import unicodedata
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.validate.spec import Context, References, SourceSpec

#: Settings validation never reads (the server, sign-in, the pages, the analyses, where
#: things are): changing one of them does not make a reload validate every row again.
UNRELATED_SETTINGS = frozenset({
    "database_url", "data_dir", "geodata_dir", "pg_port", "pg_bin_dir", "pg_auto_install",
    "database_name", "statement_timeout_ms", "host", "port", "proxy_hops", "hsts_max_age_s",
    "tile_url", "tile_attribution", "refresh_interval_s", "max_map_features", "near_radius_km",
    "anomaly_z", "mirror_gap_pct", "mirror_min_gap", "load_chunk_rows", "lock_timeout_s",
    "log_level", "secret_key", "session_lifetime_min", "login_lockout_failures",
    "login_lockout_min", "login_address_failures",
})
_UNRELATED_PREFIXES = ("demo_", "hotspot_", "impact_")
_CODE_PACKAGES = ("validate", "reader")
_LIBRARIES = ("numpy", "pandas", "pyarrow", "polars")
#: Odd multiplier of the mixing (the golden ratio's, as in Fibonacci hashing).
_MIX = np.uint64(0x9E3779B97F4A7C15)


class Unhashable(Exception):
    """A reference holds a value with no canonical text: no fingerprint, no skipping."""


def fingerprint(spec: SourceSpec, source: str, columns: Sequence[str], refs: References,
                ctx: Context) -> int | None:
    """The fingerprint of rows of ``spec`` loaded as ``source`` from a file with ``columns``
    (its header as the reader names them, in order); None when a reference cannot be put in
    canonical text (the load then skips nothing)."""
    h = hashlib.sha256()
    try:
        parts: list[Any] = [_canonical(spec), source, list(columns), ctx.region_bbox,
                            ctx.check_nul, _settings(ctx), _canonical(refs.codes),
                            _canonical(refs.bcp_lonlat), _canonical(refs.tables),
                            _code_digest(_spec_files(spec)), _versions()]
    except Unhashable:
        return None
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return int.from_bytes(h.digest()[:8], "big", signed=True)  # a bigint


def layout(kind: str, source: str, columns: Sequence[str]) -> int:
    """What a row digest is mixed with: the kind, the source and the file's columns (the same
    values under other headers are another row); not what validates them (``fingerprint``,
    kept per load)."""
    h = hashlib.sha256(repr((kind, source, list(columns))).encode("utf-8", "surrogatepass"))
    return int.from_bytes(h.digest()[:8], "big")


def mixed(digests: np.ndarray, print_: int) -> np.ndarray:
    """Row digests mixed with ``print_`` (a ``layout``), never 0 (0 stands for no digest)."""
    with np.errstate(over="ignore"):
        out = (digests ^ np.uint64(print_)) * _MIX
    out[out == 0] = np.uint64(1)
    return out


def _settings(ctx: Context) -> list[tuple[str, Any]]:
    if ctx.settings is None:
        return []
    dumped = ctx.settings.model_dump()
    return sorted((k, repr(v)) for k, v in dumped.items()
                  if k not in UNRELATED_SETTINGS and not k.startswith(_UNRELATED_PREFIXES))


def _canonical(value: Any) -> Any:
    """``value`` as nested tuples and scalars in one order (sets and dicts sorted; a dataclass
    by its fields, a function or class by its qualified name: its code is in the digest)."""
    if value is None or isinstance(value, str | bytes | bool | int):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, tuple(
            (f.name, _canonical(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, type) or inspect.isroutine(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
    if isinstance(value, functools.partial):
        return ("partial", _canonical(value.func), _canonical(value.args),
                _canonical(value.keywords))
    if isinstance(value, float):
        return "nan" if math.isnan(value) else value.hex()
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, dict):
        return tuple(sorted(((repr(_canonical(k)), _canonical(v)) for k, v in value.items())))
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(_canonical(v)) for v in value))
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, _canonical(value.tolist()))
    if isinstance(value, pd.DataFrame):
        return (tuple(map(str, value.columns)), tuple(map(str, value.dtypes)),
                _canonical(value.to_numpy().tolist()))
    raise Unhashable(type(value).__name__)


def _spec_files(spec: SourceSpec) -> tuple[str, ...]:
    """The source files of the kind: the module declaring ``spec`` and those of the functions
    it names (checks, lookups, reference readers), sorted."""
    found = {getattr(m, "__file__", None) for m in list(sys.modules.values())
             if getattr(m, "SPEC", None) is spec}
    named: list[Any] = [*spec.checks, *spec.lookups,
                        *(r[1] for r in spec.references if isinstance(r, tuple))]
    for fn in named:
        try:
            found.add(inspect.getsourcefile(fn))
        except TypeError:  # a builtin: no source of ours
            continue
    return tuple(sorted(str(Path(f).resolve()) for f in found if f))


@functools.cache
def _code_digest(files: tuple[str, ...]) -> str:
    """SHA-256 of the source text of the packages that read and validate rows
    (``etl.validate``, ``etl.reader``) and of the kind's own ``files``."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    paths = [p for package in _CODE_PACKAGES for p in sorted((root / package).glob("*.py"))]
    for path in [*paths, *map(Path, files)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@functools.cache
def _versions() -> tuple[str, ...]:
    return (sys.version, unicodedata.unidata_version,
            *(f"{name}=={metadata.version(name)}" for name in _LIBRARIES))

"""Synthetic incident reports along the real migration corridors, streamed to CSV in blocks.

The window is cut into consecutive blocks of days; each block is drawn with its own seeded
generator, sorted by time and appended to the file, so memory stays flat and the file is
chronological. Planted hotspots (space-time clusters) are recorded for the ground truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etl.demo import attributes as A
from etl.demo import profiles as P
from etl.demo.reference import TARGETS, Reference
from etl.demo.rhythm import pressure
from etl.demo.sampling import near_border, scatter

INCIDENT_COLUMNS = (
    "incident_id", "occurred_at", "lat", "lon", "bcp_code", "category", "subtype", "persons",
    "nationalities", "direction", "detection", "impact", "reporting_country", "sharing",
    "description",
)
BLOCK_ROWS = 50_000
BLOCK_DAYS_MAX = 28
HOTSPOT_KINDS = ("between_bcps", "facilitator")


@dataclass(frozen=True)
class Hotspot:
    """A planted space-time cluster of extra irregular crossings."""

    hotspot_id: str
    section_id: str
    pair_id: str
    country: str
    lat: float
    lon: float
    radius_km: float
    start: str  # first day, ISO date (local)
    end: str  # last day, inclusive
    extra_incidents: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Tables:
    """Per-section and per-BCP weights and sides, computed once."""

    sec_weight: np.ndarray
    sec_route: np.ndarray
    sec_trend: np.ndarray
    sec_a: np.ndarray
    sec_b: np.ndarray
    sec_pair: np.ndarray
    bcp_code: np.ndarray
    bcp_lon: np.ndarray
    bcp_lat: np.ndarray
    bcp_a: np.ndarray
    bcp_b: np.ndarray
    bcp_route: np.ndarray
    bcp_weight_migration: np.ndarray
    bcp_weight_crime: np.ndarray


def _tables(rng: np.random.Generator, ref: Reference) -> _Tables:
    b = ref.borders
    sec_a, sec_b = b.pair_countries()
    pair_len = pd.Series(b.sec_len_km).groupby(b.sec_pair).transform("sum").to_numpy()
    share = np.array([P.PAIR_PRESSURE.get(p, P.DEFAULT_PAIR)[0] for p in b.sec_pair])
    route = np.array([P.PAIR_PRESSURE.get(p, P.DEFAULT_PAIR)[1] for p in b.sec_pair], dtype=object)
    local = rng.lognormal(0.0, 0.7, len(b.sec_id))  # some stretches are simply busier
    bcps = ref.bcps
    a, c = bcps["country_a"].to_numpy(dtype=object), bcps["country_b"].to_numpy(dtype=object)
    pair = np.array(["-".join(sorted(x)) for x in zip(a, c, strict=True)])
    traffic = np.array([
        P.traffic_of(r.name_a, r.name_b, r.mode, r.e_road).cars for r in bcps.itertuples()
    ])
    pull = np.array([P.PAIR_PRESSURE.get(p, P.DEFAULT_PAIR)[0] for p in pair])
    return _Tables(
        sec_weight=share * b.sec_len_km / pair_len * local,
        sec_route=route,
        sec_trend=np.array([P.ROUTE_TREND[r] for r in route]),
        sec_a=sec_a.astype(object),
        sec_b=sec_b.astype(object),
        sec_pair=b.sec_pair,
        bcp_code=bcps["code"].to_numpy(dtype=object),
        bcp_lon=bcps["lon"].to_numpy(dtype=float),
        bcp_lat=bcps["lat"].to_numpy(dtype=float),
        bcp_a=a,
        bcp_b=c,
        bcp_route=np.array([P.PAIR_PRESSURE.get(p, P.DEFAULT_PAIR)[1] for p in pair], dtype=object),
        bcp_weight_migration=_norm(np.sqrt(traffic) * np.sqrt(pull)),
        bcp_weight_crime=_norm(traffic**0.8),
    )


def _reporter(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The target administration on each side pair (either one when both are targets)."""
    a_ok, b_ok = np.isin(a, TARGETS), np.isin(b, TARGETS)
    pick_a = np.where(a_ok & b_ok, rng.random(len(a)) < 0.5, a_ok)
    return np.where(pick_a, a, b)


def plan_hotspots(
    rng: np.random.Generator, ref: Reference, n_incidents: int, start: np.datetime64, days: int
) -> list[Hotspot]:
    """Choose a few hotspots on busy corridors: place, radius, period and extra incidents."""
    t = _tables(np.random.default_rng(rng.integers(2**63)), ref)
    busy = sorted({p for p, (share, _) in P.PAIR_PRESSURE.items() if share >= 3.0}
                  & set(t.sec_pair))
    count = min(6, 2 + days // 150, len(busy)) if n_incidents >= 200 else 0
    pairs = rng.choice(busy, size=count, replace=False,
                       p=_norm(np.array([P.PAIR_PRESSURE[p][0] for p in busy])))
    budget = max(15 * count, int(0.012 * n_incidents * count))
    budget = min(budget, n_incidents // 4)
    out: list[Hotspot] = []
    for i, pair in enumerate(pairs):
        secs = np.flatnonzero(t.sec_pair == pair)
        for _ in range(50):
            sec = rng.choice(secs, p=_norm(ref.borders.sec_len_km[secs]))
            country = _reporter(rng, t.sec_a[[sec]], t.sec_b[[sec]])
            lon, lat, ok = near_border(rng, ref, np.array([sec]), country,
                                       np.array([rng.uniform(1.5, 4.0)]))
            if ok[0]:
                break
        else:  # pragma: no cover - a busy pair always has room for a point
            continue
        length = min(days, int(rng.integers(10, 37)))
        starts = start + np.arange(days - length + 1)
        first = starts[rng.choice(len(starts), p=_norm(pressure(starts) ** 2))]
        out.append(Hotspot(
            hotspot_id=f"H{i + 1}",
            section_id=str(ref.borders.sec_id[sec]),
            pair_id=str(pair),
            country=str(country[0]),
            lat=round(float(lat[0]), 5),
            lon=round(float(lon[0]), 5),
            radius_km=round(float(rng.uniform(4.0, 8.0)), 1),
            start=str(first),
            end=str(first + length - 1),
            extra_incidents=int(budget // count),
        ))
    return out


def write_incidents(
    path: Path,
    ref: Reference,
    *,
    n_incidents: int,
    start: np.datetime64,
    days: int,
    seed: int,
    hotspots: list[Hotspot],
    header_comment: str | None = None,
) -> int:
    """Write ``n_incidents`` rows (hotspot extras included) to ``path``; return rows written."""
    tables = _tables(np.random.default_rng([seed, 1]), ref)
    dates = start + np.arange(days)
    extra_by_day = _hotspot_days(np.random.default_rng([seed, 2]), hotspots, start, days)
    background = max(0, n_incidents - int(sum(extra_by_day.values(), np.zeros(days)).sum()))
    years = (dates - dates[0]).astype(float) / 365.25
    weight = pressure(dates)
    block_days = int(np.clip(BLOCK_ROWS * days // max(n_incidents, 1), 1, BLOCK_DAYS_MAX))
    blocks = [slice(s, min(s + block_days, days)) for s in range(0, days, block_days)]
    per_block = np.random.default_rng([seed, 3]).multinomial(
        background, _norm(np.array([weight[b].sum() for b in blocks]))
    )
    written = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        if header_comment:
            fh.write(f"# {header_comment}\n")
        for i, (block, n) in enumerate(zip(blocks, per_block, strict=True)):
            rng = np.random.default_rng([seed, 100, i])
            frame = _block(rng, ref, tables, dates[block], weight[block], years[block], int(n),
                           {h: c[block] for h, c in extra_by_day.items()})
            frame.insert(0, "incident_id", [f"DEMO-{written + k + 1:08d}" for k in range(len(frame))])
            frame.to_csv(fh, header=(i == 0), index=False, lineterminator="\n")
            written += len(frame)
    return written


def _hotspot_days(
    rng: np.random.Generator, hotspots: list[Hotspot], start: np.datetime64, days: int
) -> dict[Hotspot, np.ndarray]:
    """Extra incidents of each hotspot per day of the window (rising, then fading)."""
    out: dict[Hotspot, np.ndarray] = {}
    for h in hotspots:
        first = int((np.datetime64(h.start) - start).astype(int))
        length = int((np.datetime64(h.end) - np.datetime64(h.start)).astype(int)) + 1
        shape = np.sin(np.pi * (np.arange(length) + 0.5) / length) + 0.3
        per_day = np.zeros(days, dtype=np.int64)
        per_day[first:first + length] = rng.multinomial(h.extra_incidents, _norm(shape))
        out[h] = per_day
    return out


def _block(
    rng: np.random.Generator,
    ref: Reference,
    t: _Tables,
    dates: np.ndarray,
    weight: np.ndarray,
    years: np.ndarray,
    n: int,
    extra: dict[Hotspot, np.ndarray],
) -> pd.DataFrame:
    day = np.repeat(dates, rng.multinomial(n, _norm(weight)))
    kind = rng.choice(len(A.KINDS), size=n, p=_norm(np.array([s.share for _, s in A.KINDS])))
    parts = [_locate(rng, ref, t, kind, day, float(years.mean()))]
    for h, per_day in extra.items():
        if per_day.sum():
            parts.append(_hotspot_incidents(rng, ref, t, h, np.repeat(dates, per_day)))
    loc = A.Located(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))
    return _attributes(rng, loc)


_FIELDS = ("kind", "day", "lon", "lat", "bcp_code", "country", "neighbour", "route", "at_bcp")


def _locate(
    rng: np.random.Generator, ref: Reference, t: _Tables, kind: np.ndarray, day: np.ndarray,
    year: float,
) -> A.Located:
    """Places: along a border section, inland, or at a BCP, always inside the reporter."""
    n = len(kind)
    specs = [s for _, s in A.KINDS]
    where = np.array([s.where for s in specs], dtype=object)[kind]
    bcp_share = np.array([s.bcp_share for s in specs])[kind]
    at_bcp = (where == "bcp") | (rng.random(n) < bcp_share)
    loc = A.Located(kind, day, np.full(n, np.nan), np.full(n, np.nan), np.full(n, "", object),
                    np.empty(n, object), np.empty(n, object), np.empty(n, object),
                    np.zeros(n, dtype=bool))
    todo = np.flatnonzero(~at_bcp)
    sec_p = _norm(t.sec_weight * np.maximum(0.2, 1 + t.sec_trend * year))
    for _ in range(4):
        if not len(todo):
            break
        sec = rng.choice(len(sec_p), size=len(todo), p=sec_p)
        country = _reporter(rng, t.sec_a[sec], t.sec_b[sec])
        inland = where[todo] == "inland"
        dist = np.where(
            inland,
            np.minimum(rng.exponential(15.0, len(todo)), 60.0),
            np.minimum(np.where(rng.random(len(todo)) < 0.7, rng.exponential(1.5, len(todo)),
                                rng.exponential(6.0, len(todo))), 25.0) + 0.1,
        )
        lon, lat, ok = near_border(rng, ref, sec, country, dist)
        idx = todo[ok]
        loc.lon[idx], loc.lat[idx], loc.country[idx] = lon[ok], lat[ok], country[ok]
        loc.neighbour[idx] = np.where(country[ok] == t.sec_a[sec][ok], t.sec_b[sec][ok],
                                      t.sec_a[sec][ok])
        loc.route[idx] = t.sec_route[sec][ok]
        todo = todo[~ok]
    at_bcp[todo] = True  # the rare point that never fitted: report it at a crossing instead
    loc.at_bcp[:] = at_bcp
    _at_bcps(rng, ref, t, loc, np.flatnonzero(at_bcp))
    return loc


def _at_bcps(
    rng: np.random.Generator, ref: Reference, t: _Tables, loc: A.Located, idx: np.ndarray
) -> None:
    """Incidents at a crossing: half named by ``bcp_code``, half by a point next to it."""
    crime = np.isin(A.KIND_CATEGORY[loc.kind[idx]], ["cross_border_crime", "other"])
    bcp = np.where(
        crime,
        rng.choice(len(t.bcp_code), size=len(idx), p=t.bcp_weight_crime),
        rng.choice(len(t.bcp_code), size=len(idx), p=t.bcp_weight_migration),
    )
    country = _reporter(rng, t.bcp_a[bcp], t.bcp_b[bcp])
    loc.country[idx] = country
    loc.neighbour[idx] = np.where(country == t.bcp_a[bcp], t.bcp_b[bcp], t.bcp_a[bcp])
    loc.route[idx] = t.bcp_route[bcp]
    by_point = rng.random(len(idx)) < 0.5
    lon, lat, ok = scatter(rng, ref, t.bcp_lon[bcp], t.bcp_lat[bcp], np.full(len(idx), 0.8),
                           country)
    use_point = by_point & ok
    loc.lon[idx[use_point]] = lon[use_point]
    loc.lat[idx[use_point]] = lat[use_point]
    loc.bcp_code[idx[~use_point]] = t.bcp_code[bcp][~use_point]


def _hotspot_incidents(
    rng: np.random.Generator, ref: Reference, t: _Tables, h: Hotspot, day: np.ndarray
) -> A.Located:
    n = len(day)
    kind = np.where(rng.random(n) < 0.85, A.kind_index(HOTSPOT_KINDS[0]),
                    A.kind_index(HOTSPOT_KINDS[1]))
    country = np.full(n, h.country, dtype=object)
    lon, lat, ok = scatter(rng, ref, np.full(n, h.lon), np.full(n, h.lat),
                           np.full(n, h.radius_km), country, tries=12)
    lon[~ok], lat[~ok] = h.lon, h.lat
    a, b = h.pair_id.split("-")
    route = P.PAIR_PRESSURE.get(h.pair_id, P.DEFAULT_PAIR)[1]
    return A.Located(kind, day, lon, lat, np.full(n, "", object), country,
                     np.full(n, b if h.country == a else a, dtype=object),
                     np.full(n, route, dtype=object), np.zeros(n, dtype=bool))


def _attributes(rng: np.random.Generator, loc: A.Located) -> pd.DataFrame:
    utc, occurred = A.local_times(rng, loc)
    order = np.argsort(utc, kind="stable")
    count = A.persons(rng, loc.kind)
    level = A.impact(rng, loc.kind, count)
    frame = pd.DataFrame({
        "occurred_at": occurred,
        "lat": _fixed(loc.lat),
        "lon": _fixed(loc.lon),
        "bcp_code": loc.bcp_code,
        "category": A.KIND_CATEGORY[loc.kind],
        "subtype": A.KIND_NAMES[loc.kind],
        "persons": count,
        "nationalities": A.nationalities(rng, loc, count),
        "direction": A.directions(rng, loc),
        "detection": A.detection(rng, loc.kind, loc.at_bcp),
        "impact": level,
        "reporting_country": loc.country,
        "sharing": A.sharing(rng, level),
        "description": A.descriptions(loc.kind, count),
    })
    return frame.iloc[order].reset_index(drop=True)


def _fixed(x: np.ndarray) -> np.ndarray:
    """Floats as text with 5 decimals ('' for NaN): faster than to_csv's float_format."""
    return np.array(["" if v != v else f"{v:.5f}" for v in x.tolist()], dtype=object)


def _norm(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def window(end: dt.date, days: int) -> np.datetime64:
    """First day of a window of ``days`` days ending on ``end`` (inclusive)."""
    return np.datetime64(end) - (days - 1)

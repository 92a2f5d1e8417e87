"""Synthetic daily traffic and waiting times for every crossing point of the BCP registry.

Convention (the flows format): each of the two services at a crossing reports its own rows,
with ``reporting_country`` set and ``direction`` seen from it (``entry`` = entering the
reporting country). The generator draws the traffic once, as country_a's service counts it,
then writes what country_b's service counted for the same vehicles and people: its ``exit``
row for country_a's ``entry`` and the other way round, with its own waiting times measured on
the same queue. The two sides match within a couple of percent, except in the planted
mismatches of the ground truth (``counterpart_ratio`` = country_b's count / country_a's count
for the traffic country_a sees in ``direction``). Crossings whose other side shares no data
(Syria, Iraq, Iran) have country_a's rows only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etl.demo import profiles as P
from etl.demo import rhythm as R
from etl.demo.reference import Reference

FLOW_COLUMNS = (
    "bcp_code", "reporting_country", "date", "direction", "category", "count",
    "wait_minutes_avg", "wait_minutes_max", "lanes_open",
)
FLIP = {"entry": "exit", "exit": "entry"}
VEHICLES = ("cars", "buses", "trucks")
NO_COUNTERPART = frozenset({"SY", "IQ", "IR"})
SCHENGEN_INTERNAL = frozenset({"HR-SI", "HR-HU"})  # no systematic checks since 2023
_ASIA = frozenset({"GE", "AM", "AZ", "IR", "IQ", "SY"})
_MUSLIM_MAJORITY = frozenset({"TR", "BA", "AL", "XK"})
_SEASON = {
    "cars": (0.75, 0.75, 0.85, 0.95, 1.0, 1.15, 1.45, 1.55, 1.1, 0.95, 0.85, 0.9),
    "buses": (0.7, 0.7, 0.8, 0.95, 1.0, 1.2, 1.5, 1.5, 1.1, 0.9, 0.8, 0.95),
    "trucks": (0.92, 0.95, 1.0, 1.02, 1.03, 1.02, 0.98, 0.9, 1.03, 1.05, 1.04, 0.92),
}
_WEEKDAY = {
    "cars": (0.95, 0.88, 0.88, 0.92, 1.15, 1.1, 1.2),
    "buses": (0.9, 0.85, 0.85, 0.9, 1.2, 1.1, 1.3),
    "trucks": (1.08, 1.1, 1.1, 1.1, 1.05, 0.8, 0.55),
}
_SERVICE_MIN = {"cars": 1.5, "buses": 6.0, "trucks": 4.0}
_PEAK_HOUR = {"cars": 1.3, "buses": 1.3, "trucks": 1.2}
_TRAINS_PER_DAY = 4.0
_PASSENGERS_PER_TRAIN = 140.0


@dataclass(frozen=True)
class FlowAnomaly:
    """A planted sudden drop or spike of traffic at one crossing."""

    bcp_code: str
    kind: str  # drop | spike
    start: str
    end: str
    factor: float
    directions: tuple[str, ...]
    categories: tuple[str, ...]
    story: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Mismatch:
    """A planted period where the two sides of a crossing disagree on the same traffic."""

    bcp_code: str
    start: str
    end: str
    direction: str  # as seen from country_a
    category: str
    counterpart_ratio: float  # country_b's count / country_a's count during the period

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def plan_flow_events(
    rng: np.random.Generator, ref: Reference, start: np.datetime64, days: int
) -> tuple[list[FlowAnomaly], list[Mismatch]]:
    """Choose a few anomalies and paired mismatches at crossings with enough traffic."""
    bcps = ref.bcps
    size = np.array([P.traffic_of(r.name_a, r.name_b, r.mode, r.e_road).cars
                     for r in bcps.itertuples()])
    road = (bcps["mode"].to_numpy() == "road") & (size >= 1000)
    candidates = bcps["code"].to_numpy()[road]
    n_anom = min(6, 2 + days // 150, len(candidates))
    chosen = rng.choice(candidates, size=n_anom, replace=False)
    anomalies = []
    for i, code in enumerate(chosen):
        length = min(days, int(rng.integers(1, 4)))
        first = start + int(rng.integers(0, days - length + 1))
        if i % 2 == 0:
            anomalies.append(FlowAnomaly(
                str(code), "drop", str(first), str(first + length - 1),
                round(float(rng.uniform(0.03, 0.2)), 2), ("entry", "exit"),
                ("persons", "cars", "buses", "trucks"),
                "illustrative: crossing closed or nearly closed (flooding, blockade, IT outage)",
            ))
        else:
            direction = str(rng.choice(["entry", "exit"]))
            anomalies.append(FlowAnomaly(
                str(code), "spike", str(first), str(first + length - 1),
                round(float(rng.uniform(2.2, 3.0)), 2), (direction,),
                ("persons", "cars", "buses"),
                "illustrative: sudden surge of travellers in one direction (event, diverted traffic)",
            ))
    paired = bcps[(bcps["mode"] == "road") & ~bcps["country_b"].isin(NO_COUNTERPART)
                  & ~bcps["code"].isin(chosen)]
    n_mis = min(4, 1 + days // 200, len(paired))
    mismatches = []
    for code in rng.choice(paired["code"].to_numpy(), size=n_mis, replace=False):
        length = min(days, int(rng.integers(5, 21)))
        first = start + int(rng.integers(0, days - length + 1))
        ratio = rng.uniform(0.6, 0.8) if rng.random() < 0.5 else rng.uniform(1.25, 1.5)
        mismatches.append(Mismatch(
            str(code), str(first), str(first + length - 1), str(rng.choice(["entry", "exit"])),
            str(rng.choice(["persons", "cars", "trucks"])), round(float(ratio), 2),
        ))
    return anomalies, mismatches


def write_flows(
    path: Path,
    ref: Reference,
    *,
    start: np.datetime64,
    days: int,
    seed: int,
    anomalies: list[FlowAnomaly],
    mismatches: list[Mismatch],
    header_comment: str | None = None,
    chunk_bcps: int = 10,
) -> int:
    """Write one row per crossing, day, direction and category; return rows written."""
    dates = start + np.arange(days)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        if header_comment:
            fh.write(f"# {header_comment}\n")
        rows = list(ref.bcps.itertuples())
        for first in range(0, len(rows), chunk_bcps):
            frames = [
                _crossing(np.random.default_rng([seed, 200, first + k]), row, dates,
                          anomalies, mismatches)
                for k, row in enumerate(rows[first:first + chunk_bcps])
            ]
            frame = pd.concat(frames, ignore_index=True)
            frame.to_csv(fh, header=(first == 0), index=False, lineterminator="\n",
                         float_format="%.1f")
            written += len(frame)
    return written


def _crossing(
    rng: np.random.Generator,
    bcp: object,
    dates: np.ndarray,
    anomalies: list[FlowAnomaly],
    mismatches: list[Mismatch],
) -> pd.DataFrame:
    """All rows of one crossing."""
    a, b = str(bcp.country_a), str(bcp.country_b)  # type: ignore[attr-defined]
    code, mode = str(bcp.code), str(bcp.mode)  # type: ignore[attr-defined]
    traffic = P.traffic_of(bcp.name_a, bcp.name_b, mode, bcp.e_road)  # type: ignore[attr-defined]
    pair = "-".join(sorted((a, b)))
    n = len(dates)
    years = (dates - dates[0]).astype(float) / 365.25
    common = rng.lognormal(0.0, 0.05, n) * (1 + 0.03 * years)  # the crossing's own day noise
    frames = []
    vehicles: dict[str, dict[str, np.ndarray]] = {"entry": {}, "exit": {}}
    for direction in ("entry", "exit"):
        if mode == "road":
            for cat in VEHICLES:
                base = getattr(traffic, cat)
                if base <= 0:
                    continue
                mean = base * common * _factor(dates, cat, direction, a, b) * rng.lognormal(
                    0.0, 0.07, n)
                vehicles[direction][cat] = _anomaly(mean, code, dates, direction, cat, anomalies)
            persons = sum(
                vehicles[direction][c] * P.OCCUPANCY[c] * (1.0 + 0.3 * (c == "cars")
                                                           * R.seasonal(dates, _SEASON["cars"])
                                                           / 1.55)
                for c in vehicles[direction]
            )
        elif mode == "rail":
            trains = _TRAINS_PER_DAY * common * rng.lognormal(0.0, 0.1, n)
            vehicles[direction]["rail"] = trains
            persons = trains * _PASSENGERS_PER_TRAIN * R.seasonal(dates, _SEASON["buses"])
        else:  # pedestrian and any other mode: people only
            persons = 200.0 * common * _factor(dates, "cars", direction, a, b)
        persons = np.asarray(persons, dtype=float)
        if mode != "road":  # road persons follow their (already disturbed) vehicles
            persons = _anomaly(persons, code, dates, direction, "persons", anomalies)
        frames.append(_rows(rng, code, dates, direction, "persons", persons, None, a, b,
                            mismatches))
        for cat, mean in vehicles[direction].items():
            waits = None if cat == "rail" else _waits(rng, mean, getattr(traffic, cat), cat,
                                                       pair in SCHENGEN_INTERNAL)
            frames.append(_rows(rng, code, dates, direction, cat, mean, waits, a, b,
                                mismatches))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["date", "reporting_country", "direction", "category"],
                           kind="stable")[list(FLOW_COLUMNS)]


def _factor(dates: np.ndarray, cat: str, direction: str, a: str, b: str) -> np.ndarray:
    """Season x weekday x holidays x summer diaspora travel, for one category and direction."""
    f = R.seasonal(dates, _SEASON[cat]) * np.asarray(_WEEKDAY[cat])[R.weekday(dates)]
    winter, eid = R.winter_holidays(dates), R.eid(dates)
    muslim = bool({a, b} & _MUSLIM_MAJORITY)
    if cat == "trucks":
        return f * (1 - 0.35 * winter) * (1 - 0.3 * eid * muslim)
    f = f * (1 + 0.35 * winter) * (1 + 0.45 * eid * muslim)
    if {a, b} & _ASIA:
        return f
    # Diaspora: home towards the south-east in early July, back north-west late in August.
    rank_a, rank_b = P.ROUTE_RANK.get(a, 0), P.ROUTE_RANK.get(b, 0)
    amplitude = 1.0 if rank_a != rank_b else 0.4
    home_is_entry = rank_a < rank_b
    going_home = (direction == "entry") == home_is_entry or rank_a == rank_b
    going_back = (direction == "exit") == home_is_entry or rank_a == rank_b
    return f * (1 + amplitude * (going_home * R.bump(dates, 7, 8, 12.0)
                                 + going_back * R.bump(dates, 8, 24, 9.0)))


def _anomaly(
    mean: np.ndarray, code: str, dates: np.ndarray, direction: str, cat: str,
    anomalies: list[FlowAnomaly],
) -> np.ndarray:
    out = mean.copy()
    for an in anomalies:
        if an.bcp_code == code and direction in an.directions and cat in an.categories:
            days = (dates >= np.datetime64(an.start)) & (dates <= np.datetime64(an.end))
            out[days] *= an.factor
    return out


def _waits(
    rng: np.random.Generator, mean: np.ndarray, base: float, cat: str, internal: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lanes open and average/maximum waits (minutes) that grow with load, hours at peaks."""
    capacity = P.LANE_CAPACITY[cat]
    total = int(np.clip(np.ceil(base * 1.4 / capacity), 1, {"cars": 12, "buses": 3,
                                                            "trucks": 8}[cat]))
    lanes = np.clip(np.ceil(mean / (capacity * 0.7)), 1, total)
    rho = mean / (lanes * capacity) * _PEAK_HOUR[cat]
    congestion = _SERVICE_MIN[cat] * (1 + 8 * rho**2)
    overflow = 240.0 * np.tanh(np.maximum(rho - 1, 0) / 1.2)
    avg = (congestion + 0.6 * overflow) * rng.lognormal(0.0, 0.12, len(mean))
    peak = np.maximum(avg, (2.2 * congestion + 1.6 * overflow) * rng.lognormal(0.0, 0.15,
                                                                               len(mean)))
    if internal:  # Schengen internal border: traffic rolls through
        avg, peak = rng.uniform(0.5, 3.0, len(mean)), rng.uniform(3.0, 15.0, len(mean))
    return lanes, avg, peak


def _rows(
    rng: np.random.Generator, code: str, dates: np.ndarray, direction: str, cat: str,
    mean: np.ndarray, waits: tuple[np.ndarray, np.ndarray, np.ndarray] | None, a: str, b: str,
    mismatches: list[Mismatch],
) -> pd.DataFrame:
    """Country_a's rows for one direction and category, then country_b's rows for the same
    traffic (none when country_b shares no data)."""
    count = rng.poisson(np.maximum(mean, 0.0))
    side_a = _side(code, a, dates, direction, cat, count, waits)
    if b in NO_COUNTERPART:
        return side_a
    ratio = rng.normal(1.0, 0.012, len(dates))
    for m in mismatches:
        if m.bcp_code == code and m.direction == direction and m.category == cat:
            days = (dates >= np.datetime64(m.start)) & (dates <= np.datetime64(m.end))
            ratio[days] = m.counterpart_ratio * rng.normal(1.0, 0.01, int(days.sum()))
    seen_b = None
    if waits is not None:  # the same queue, timed by the other service
        lanes, avg, peak = waits
        noise = rng.lognormal(0.0, 0.08, len(dates))
        seen_b = (lanes, avg * noise, np.maximum(avg * noise, peak * noise))
    side_b = _side(code, b, dates, FLIP[direction], cat, np.rint(count * ratio).astype(int),
                   seen_b)
    return pd.concat([side_a, side_b], ignore_index=True)


def _day_text(dates: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of each day (computed once per date range and reused)."""
    key = (int(dates[0].astype("datetime64[D]").astype(np.int64)), len(dates))
    if _DAY_TEXT.get("key") != key:
        _DAY_TEXT.update(key=key, text=np.datetime_as_string(dates, unit="D"))
    return _DAY_TEXT["text"]  # type: ignore[return-value]


_DAY_TEXT: dict[str, object] = {}


def _side(
    code: str, reporting: str, dates: np.ndarray, direction: str, cat: str, count: np.ndarray,
    waits: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    frame = pd.DataFrame({
        "bcp_code": code,
        "reporting_country": reporting,
        "date": _day_text(dates),
        "direction": direction,
        "category": cat,
        "count": count,
    })
    # numbers written as text made by numpy: pandas would format them value by value (slow)
    if waits is None:
        frame["wait_minutes_avg"] = ""
        frame["wait_minutes_max"] = ""
        frame["lanes_open"] = ""
        return frame
    lanes, avg, peak = waits
    quiet = count == 0
    average = np.where(quiet, 0.0, np.round(avg, 1))
    frame["wait_minutes_avg"] = average.astype(str)
    frame["wait_minutes_max"] = np.where(quiet, 0.0, np.maximum(np.round(peak, 1),
                                                                average)).astype(str)
    frame["lanes_open"] = np.where(quiet, 0, lanes).astype(np.int64).astype(str)
    return frame

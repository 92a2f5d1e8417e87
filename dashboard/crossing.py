"""The crossing page's tables: each one query (``dashboard.queries.crossing``) and one analysis
(``dashboard.analysis``), used by the page's callbacks *and* by its CSV export routes, so that
a chart and its CSV can never disagree.

Every function takes the BCP's header (:func:`dashboard.queries.crossing.header`), the view
(:class:`dashboard.viewstate.CrossingView`) and the settings, and returns a DataFrame (or a
small result object) whose columns are what the CSV holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from dashboard.analysis import flows as flow_analysis
from dashboard.analysis import mirror, risk, waits
from dashboard.queries import crossing as q
from dashboard.viewstate import CrossingView
from etl.settings import Settings
from etl.warehouse.schema import FLOW_CATEGORIES

Header = dict[str, Any]


def sides(head: Header) -> list[str]:
    """The reporting countries with flows at this BCP (country_a first)."""
    have = {s["reporting_country"] for s in head.get("flow_sides") or []}
    return [c for c in (head["country_a"], head["country_b"]) if c in have]


def side_of(head: Header, view: CrossingView) -> str:
    """The side whose flows are shown: the view's if it reports, else the first that does."""
    reporting = sides(head)
    if view.side in reporting:
        return str(view.side)
    return reporting[0] if reporting else str(head["country_a"])


def last_flow_day(head: Header) -> Any:
    """The newest day with flows from either side (None without flows)."""
    days = [s["last"] for s in head.get("flow_sides") or []]
    return max(days) if days else None


def _period_flows(engine: Engine, head: Header, view: CrossingView, *,
                  reporting: str | None = None, categories: tuple[str, ...] | None = None,
                  ) -> pd.DataFrame:
    f = view.filters
    return q.flows(engine, head["code"], f.date_from, f.date_to, reporting=reporting,
                   categories=categories)


def _categories(frame: pd.DataFrame, wanted: tuple[str, ...] | None) -> list[str]:
    present = set(frame["category"].unique())
    return [c for c in (wanted or FLOW_CATEGORIES) if c in present]


def flows_table(engine: Engine, settings: Settings, head: Header, view: CrossingView,
                categories: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Daily counts of the shown side with 7-day means, last year's 7-day means, the seasonal
    baseline, robust z and flags (``categories``: all that have rows when None)."""
    f = view.filters
    first, last = flow_analysis.fetch_window(f.date_from, f.date_to)
    shift = pd.Timedelta(days=flow_analysis.YOY_DAYS)
    side = side_of(head, view)
    now = q.flows(engine, head["code"], first, last, reporting=side, categories=categories)
    before = q.flows(engine, head["code"], (pd.Timestamp(first) - shift).date(),
                     (pd.Timestamp(last) - shift).date(), reporting=side, categories=categories)
    table = flow_analysis.flow_table(now, before, side, _categories(now, categories),
                                     f.date_from, f.date_to, settings.anomaly_z)
    table.insert(1, "reporting_country", side)
    return table


def waits_table(engine: Engine, head: Header, view: CrossingView,
                categories: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Average and maximum wait per day and direction of the shown side, with the band."""
    side = side_of(head, view)
    frame = _period_flows(engine, head, view, reporting=side,
                          categories=categories or waits.WAIT_CATEGORIES)
    parts = [waits.wait_days(frame, side, c)
             for c in _categories(frame, categories or waits.WAIT_CATEGORIES)]
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=list(waits.COLUMNS)))
    table.insert(1, "reporting_country", side)
    return table


def band_table(days: pd.DataFrame) -> pd.DataFrame:
    """Share of days per band and direction, per category of ``days``."""
    parts = []
    for category in dict.fromkeys(days["category"]):
        shares = waits.band_shares(days[days["category"] == category])
        shares.insert(0, "category", category)
        parts.append(shares)
    if not parts:
        return pd.DataFrame(columns=["category", "direction", "band", "days", "share_pct"])
    return pd.concat(parts, ignore_index=True)


def mirror_result(engine: Engine, settings: Settings, head: Header, view: CrossingView,
                  categories: tuple[str, ...] | None = None) -> mirror.Reconciliation:
    """The two sides' counts compared, day by day."""
    frame = _period_flows(engine, head, view, categories=categories)
    f = view.filters
    days = pd.date_range(f.date_from, f.date_to, freq="D")
    return mirror.reconcile(frame, head["country_a"], head["country_b"],
                            _categories(frame, categories), days,
                            threshold_pct=settings.mirror_gap_pct,
                            min_gap=settings.mirror_min_gap)


def near(head: Header, view: CrossingView) -> q.Near:
    """Which incidents are near the crossing in this view."""
    section = (head.get("section") or {}).get("section_id")
    scope = view.near if (view.near != "section" or section) else "radius"
    return q.Near(radius_km=view.radius_km, scope=scope, section_id=section)


def incidents(engine: Engine, head: Header, view: CrossingView) -> q.NearIncidents:
    """Incidents near the crossing: list, total, weekly counts, map points."""
    return q.near_incidents(engine, head["code"], head["lon"], head["lat"], view.filters,
                            near(head, view))


INCIDENT_COLUMNS = ("id", "source", "incident_id", "occurred_at", "category", "subtype",
                    "persons", "detection", "impact", "reporting_country", "section_id",
                    "distance_km", "at_bcp", "lon", "lat")


def incidents_table(engine: Engine, head: Header, view: CrossingView) -> pd.DataFrame:
    """Every incident near the crossing in the period (up to the export limit), newest first."""
    rows = q.near_incident_rows(engine, head["code"], head["lon"], head["lat"], view.filters,
                                near(head, view))
    return pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))


def weekly_table(found: q.NearIncidents) -> pd.DataFrame:
    """Incidents near the crossing per week (Monday, UTC) and subtype."""
    return pd.DataFrame(found.weekly, columns=["week", "subtype", "n"])


@dataclass(frozen=True)
class Peers:
    """This BCP and its peers, by detections per 10,000 crossings and average wait."""

    table: pd.DataFrame
    names: dict[str, str]


def bcp_name(row: dict[str, Any]) -> str:
    """``Batrovci – Bajakovo``."""
    return f"{row['name_a']} – {row['name_b']}"


def risk_result(engine: Engine, head: Header, view: CrossingView) -> Peers:
    """Detections per 10,000 crossings and the average wait of the BCP and its peers. The
    crossings are persons in both directions as counted by one side (the BCP's country_a when
    it reports, else country_b), so a crossing is never counted twice."""
    members = [head, *head.get("peers", [])]
    names = {m["code"]: bcp_name(m) for m in members}
    detected, flow_sides = q.detections_and_flows(engine, list(names), view.filters)
    found = {d["code"]: int(d["detections"]) for d in detected}
    by_side = {(s["code"], s["reporting_country"]): s for s in flow_sides}
    rows = []
    for m in members:
        side = next((by_side[(m["code"], c)] for c in (m["country_a"], m["country_b"])
                     if (m["code"], c) in by_side and by_side[(m["code"], c)]["persons"]), None)
        rows.append({"code": m["code"], "name": names[m["code"]],
                     "detections": found.get(m["code"], 0),
                     "crossings": side["persons"] if side else None,
                     "wait_avg_min": side["wait_avg_min"] if side else None})
    return Peers(risk.risk_table(rows, head["code"]), names)

"""An ILLUSTRATIVE impact-level attribution for the demo, derived from its planted hotspots.

A real impact level is a decision of the national coordination centre. The demo has no centre,
so it pretends one reacted to the hotspots it planted: the section of each hotspot is ``high``,
the section of the most recent hotspot ``critical`` (only that one: critical is temporary),
other sections within ``NEAR_KM`` of a hotspot ``medium``, every other section ``low`` without
a reason. Every elevated row says in its reason that it is an illustrative demo attribution.
All rows are dated at noon UTC of the demo's last day, so a later demo never predates an
earlier one (the loader rejects an older attribution that would replace a newer one).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from etl.demo.incidents import Hotspot
from etl.demo.reference import KM_PER_DEG_LAT, KM_PER_DEG_LON, Borders

COLUMNS = ("section_id", "impact_level", "reason", "attributed_at", "attributed_by")
#: Sections whose line passes this close to a hotspot's centre are raised to medium.
NEAR_KM = 15.0
ATTRIBUTED_BY = "borderwatch demo (illustrative)"
PREFIX = "illustrative demo attribution"
_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class DemoAttribution:
    """One elevated section of the demo and the hotspot behind it."""

    section_id: str
    impact_level: str
    hotspot_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def section_distances_km(borders: Borders, lon: float, lat: float) -> np.ndarray:
    """Distance (km, equirectangular at ``lat``) from a point to each section's line."""
    kx, ky = KM_PER_DEG_LON * np.cos(np.radians(lat)), KM_PER_DEG_LAT
    ax, ay = (borders.seg_x0 - lon) * kx, (borders.seg_y0 - lat) * ky
    dx, dy = borders.seg_dx * kx, borders.seg_dy * ky
    length2 = dx * dx + dy * dy
    t = np.clip(-(ax * dx + ay * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    seg = np.hypot(ax + t * dx, ay + t * dy)
    out = np.full(len(borders.sec_id), np.inf)
    for i, (first, count) in enumerate(zip(borders.sec_first, borders.sec_count, strict=True)):
        if count:
            out[i] = seg[first:first + count].min()
    return out


def attribute(borders: Borders, hotspots: Sequence[Hotspot]) -> list[DemoAttribution]:
    """The elevated sections (sorted by id): high/critical on hotspots, medium near them."""
    if not hotspots:
        return []
    latest = max(hotspots, key=lambda h: (h.end, h.hotspot_id))
    best: dict[str, DemoAttribution] = {}

    def offer(a: DemoAttribution) -> None:
        held = best.get(a.section_id)
        if held is None or _RANK[a.impact_level] > _RANK[held.impact_level]:
            best[a.section_id] = a

    for h in hotspots:
        period = f"{h.start}..{h.end}"
        if h is latest:
            offer(DemoAttribution(
                h.section_id, "critical", h.hotspot_id,
                f"{PREFIX}: planted hotspot {h.hotspot_id}, the most recent one ({period}, "
                f"{h.extra_incidents} extra irregular crossings within {h.radius_km:g} km): "
                "temporarily critical",
            ))
        else:
            offer(DemoAttribution(
                h.section_id, "high", h.hotspot_id,
                f"{PREFIX}: planted hotspot {h.hotspot_id} ({period}, {h.extra_incidents} "
                f"extra irregular crossings within {h.radius_km:g} km)",
            ))
        near = section_distances_km(borders, h.lon, h.lat)
        for i in np.flatnonzero(near <= NEAR_KM):
            sid = str(borders.sec_id[i])
            offer(DemoAttribution(
                sid, "medium", h.hotspot_id,
                f"{PREFIX}: planted hotspot {h.hotspot_id} on {h.section_id} ({period}), "
                f"{near[i]:.0f} km from this section",
            ))
    return sorted(best.values(), key=lambda a: a.section_id)


def write_impact_levels(path: Path, borders: Borders, hotspots: Sequence[Hotspot],
                        end: dt.date) -> tuple[int, list[DemoAttribution]]:
    """Write one row per section to ``path`` (the impact-levels format); return rows written
    and the elevated sections."""
    elevated = attribute(borders, hotspots)
    by_id = {a.section_id: a for a in elevated}
    at = f"{end.isoformat()}T12:00:00Z"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for sid in sorted(str(s) for s in borders.sec_id):
            a = by_id.get(sid)
            if a is None:
                writer.writerow((sid, "low", "", "", ""))
            else:
                writer.writerow((sid, a.impact_level, a.reason, at, ATTRIBUTED_BY))
    return len(borders.sec_id), elevated

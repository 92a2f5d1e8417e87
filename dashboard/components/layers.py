"""Map layers as compact GeoJSON dicts (pure builders: rows in, FeatureCollection out).

Properties are kept short (the browser may receive thousands of features); styling happens in
the browser (``assets/borderwatch_map.js``) from these properties and the layer's ``hideout``.
Any text that ends up as HTML (tooltips) is escaped here.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any

from h3.api import basic_int as h3int

from dashboard.components.palette import (
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    DENSITY_COLORS,
    IMPACT_LABELS,
    IMPACT_STYLES,
    bcp_mode,
)
from dashboard.limits import REASON_CHARS, clip
from etl.warehouse.schema import INCIDENT_CATEGORIES

Feature = dict[str, Any]
FeatureCollection = dict[str, Any]

#: Category -> small integer used in point properties (``c``); the hideout maps it to a colour.
CATEGORY_INDEX: dict[str, int] = {c: i for i, c in enumerate(INCIDENT_CATEGORIES)}
COORD_DIGITS = 5


def collection(features: Iterable[Feature]) -> FeatureCollection:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


def point(lon: float, lat: float, properties: dict[str, Any]) -> Feature:
    """A Point feature with coordinates rounded to about a metre."""
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [round(float(lon), COORD_DIGITS), round(float(lat), COORD_DIGITS)],
        },
        "properties": properties,
    }


def shape(geometry: dict[str, Any], properties: dict[str, Any]) -> Feature:
    """A feature with an already-built GeoJSON geometry."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def esc(value: object, limit: int | None = None) -> str:
    """HTML-escaped text of ``value`` ('' for None), cut to ``limit`` characters first
    (``dashboard.limits.FIELD_CHARS`` unless said otherwise)."""
    return "" if value is None else html.escape(clip(value) if limit is None else clip(value, limit))


# -- reference layers ------------------------------------------------------------------------


def basemap_layer(countries: Sequence[Any]) -> FeatureCollection:
    """Country polygons (``t``: one of the eight administrations) plus one name label point each.

    Parameters
    ----------
    countries
        :class:`dashboard.queries.reference.Country` records.
    """
    polygons = [shape(c.geometry, {"iso2": c.iso2, "t": int(c.is_target)}) for c in countries]
    labels = [point(c.label_lon, c.label_lat, {"label": clip(c.name), "t": int(c.is_target)})
              for c in countries]
    return collection(polygons + labels)


def section_label(section_id: str, level: str) -> str:
    """Text label of a border section: its id and impact level in words."""
    return f"{section_id} · {IMPACT_LABELS.get(level, level).upper()}"


def attribution_date(value: object) -> str:
    """``YYYY-MM-DD`` (UTC) of an attribution time, '' when there is none."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else ""


def suggested(row: dict[str, Any]) -> str:
    """The level ``borderwatch analyse impact`` suggests when it differs from the decided one."""
    level = row.get("suggested_level")
    return str(level) if level and level != row.get("impact_level") else ""


def section_tooltip(row: dict[str, Any]) -> str:
    """The attribution of a section as escaped HTML: label, reason, date and author.

    A section that never received an attribution is low by default, and says so.
    """
    head = f"<b>{esc(section_label(row['section_id'], row['impact_level']))}</b>"
    reason = row.get("impact_reason")
    when = attribution_date(row.get("impact_updated_at"))
    parts = [head]
    if reason:
        parts.append(f'<span class="bw-tip-reason">{esc(reason, REASON_CHARS)}</span>')
    if when:
        by = row.get("impact_attributed_by")
        parts.append(f'<span class="bw-tip-when">attributed {when}'
                     + (f" by {esc(by)}" if by else "") + "</span>")
    else:
        parts.append('<span class="bw-tip-when">no attribution loaded: low by default</span>')
    if suggested(row):
        parts.append(f'<span class="bw-tip-suggested">Suggested by the analysis: '
                     f'{esc(IMPACT_LABELS.get(suggested(row), suggested(row)).upper())} '
                     f'({esc(row.get("suggested_reason"), REASON_CHARS)})</span>')
    return "".join(parts)


def sections_layer(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Border sections with impact level (``lvl``) and a text label (never colour alone).

    ``label`` is the short permanent text (id and level); ``tip`` the attribution shown on
    hover (level, reason, date of attribution, author); ``at`` the date alone. The reason is
    cut to ``REASON_CHARS`` (``dashboard.limits``), so no map load grows with one long reason.
    """
    return collection(
        shape(
            r["geometry"],
            {
                "id": r["section_id"],
                "pair": r["pair_id"],
                "lvl": r["impact_level"],
                "label": section_label(r["section_id"], r["impact_level"])
                + (f" · suggested {IMPACT_LABELS.get(suggested(r), suggested(r)).upper()}"
                   if suggested(r) else ""),
                "sug": suggested(r),
                "reason": clip(r.get("impact_reason") or "", REASON_CHARS),
                "at": attribution_date(r.get("impact_updated_at")),
                "tip": section_tooltip(r),
            },
        )
        for r in rows
    )


def sections_hideout(label_pane: str) -> dict[str, Any]:
    """Line style per impact level and the pane of the labels (below the markers)."""
    return {"levels": IMPACT_STYLES, "labelPane": label_pane}


def bcp_tooltip(row: dict[str, Any]) -> str:
    """Both local names with their countries, the mode, E-road and joint/one-stop status."""
    _, _, mode_label = bcp_mode(row.get("mode"))
    status = [
        s for s, on in (("joint controls", row.get("joint_control")), ("one-stop", row.get("one_stop"))) if on
    ]
    details = " · ".join([mode_label, *([esc(row["e_road"])] if row.get("e_road") else []), *status])
    return (
        f"<b>{esc(row['name_a'])}</b> ({esc(row['country_a'])}) – "
        f"<b>{esc(row['name_b'])}</b> ({esc(row['country_b'])})<br>{details}"
    )


def bcps_layer(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """BCP points: glyph and shape by mode, ``j`` set for joint-control or one-stop crossings."""
    features = []
    for r in rows:
        glyph, shape_class, _ = bcp_mode(r.get("mode"))
        features.append(
            point(
                r["lon"],
                r["lat"],
                {
                    "code": r["code"],
                    "g": glyph,
                    "s": shape_class,
                    "j": int(bool(r.get("joint_control") or r.get("one_stop"))),
                    "tooltip": bcp_tooltip(r),
                },
            )
        )
    return collection(features)


def bcp_badges(badges: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Counts of the incidents placed at a BCP (by its code only), drawn on the BCP's corner
    instead of a stack of dots that would hide it (``n``: incidents, ``bcp``: its code)."""
    return collection(point(b["lon"], b["lat"], {"bcp": b["bcp"], "n": int(b["n"])})
                      for b in badges)


#: From this zoom on, BCP symbols show their mode glyph; below it they are small dots.
BCP_GLYPH_ZOOM = 7


def bcp_hideout(pane: str, zoom: float) -> dict[str, Any]:
    """The BCP layer's pane and whether to draw compact symbols (zoomed out)."""
    return {"pane": pane, "compact": zoom < BCP_GLYPH_ZOOM}


def patrol_label(row: dict[str, Any]) -> str:
    """``BA–HR · 5 km`` (the pair and the depth of the patrol zone)."""
    depth = float(row["depth_km"])
    depth_text = f"{depth:g} km"
    return f"{row['pair_id'].replace('-', '–')} · {depth_text}"


def patrol_layer(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Joint patrol area polygons plus a label point (pair and depth) inside each."""
    polygons, labels = [], []
    for r in rows:
        label = patrol_label(r)
        tip = (
            f"<b>Joint patrol area {esc(label)}</b><br>Agreement {esc(r['agreement_id'])} "
            f"({esc(r['status'])})" + (f"<br>{esc(r['legal_basis'])}" if r.get("legal_basis") else "")
        )
        polygons.append(shape(r["geometry"], {"id": r["agreement_id"], "tooltip": tip}))
        labels.append(point(r["label_lon"], r["label_lat"], {"label": label}))
    return collection(polygons + labels)


# -- incident layers --------------------------------------------------------------------------


def incidents_hideout(pane: str) -> dict[str, Any]:
    """Colours by category index and the pane the custom markers must use."""
    return {"colors": [CATEGORY_COLORS[c] for c in INCIDENT_CATEGORIES], "pane": pane}


def incident_points(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Raw incident points: ``id`` and category index ``c`` only (details are fetched on click)."""
    return collection(
        point(r["lon"], r["lat"], {"id": int(r["id"]), "c": CATEGORY_INDEX.get(r["category"], 3)})
        for r in rows
    )


def incident_clusters(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Server-side clusters: ``count``, dominant category ``c`` and a per-category tooltip."""
    features = []
    for r in rows:
        per = {c: int(r.get(c) or 0) for c in INCIDENT_CATEGORIES}
        dominant = max(INCIDENT_CATEGORIES, key=lambda c: per[c])
        lines = "<br>".join(f"{esc(CATEGORY_LABELS[c])}: {per[c]:,}" for c in INCIDENT_CATEGORIES if per[c])
        features.append(
            point(
                r["lon"],
                r["lat"],
                {
                    "count": int(r["count"]),
                    "c": CATEGORY_INDEX[dominant],
                    "tooltip": f"<b>{int(r['count']):,} incidents</b><br>{lines}",
                },
            )
        )
    return collection(features)


def hidden_counts(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Incidents the user may see only as a number: ``count`` at an area's centre, nothing else
    (no category, so the cluster ring stays neutral)."""
    return collection(
        point(r["lon"], r["lat"], {
            "count": int(r["count"]),
            "tooltip": f"<b>{int(r['count']):,} incidents</b><br>in this area, counted only "
                       "(not shared with your role)",
        })
        for r in rows
    )


def new_points(rows: Sequence[dict[str, Any]]) -> FeatureCollection:
    """Incidents new since the last refresh (highlighted with a ring)."""
    return collection(
        point(r["lon"], r["lat"], {"id": int(r["id"]), "c": CATEGORY_INDEX.get(r["category"], 3)})
        for r in rows
    )


def selection_point(lon: float | None, lat: float | None) -> FeatureCollection:
    """The selected incident's marker ring (empty when nothing is selected)."""
    if lon is None or lat is None:
        return collection([])
    return collection([point(lon, lat, {"sel": 1})])


def density_breaks(counts: Sequence[int], classes: int = len(DENSITY_COLORS)) -> list[int]:
    """Lower bounds of up to ``classes`` density classes (quantiles of the cell counts).

    The first bound is always the smallest count; bounds are strictly increasing, so small or
    uniform data get fewer classes.
    """
    if not counts:
        return []
    ordered = sorted(counts)
    bounds: list[int] = []
    for k in range(classes):
        value = ordered[min(len(ordered) - 1, (k * len(ordered)) // classes)]
        if not bounds or value > bounds[-1]:
            bounds.append(value)
    return bounds


def density_class(count: int, breaks: Sequence[int]) -> int:
    """Index of the class of ``count`` given lower bounds ``breaks``."""
    k = 0
    for i, bound in enumerate(breaks):
        if count >= bound:
            k = i
    return k


#: Hexagon vertices are rounded to about 10 m (cells are kilometres wide): smaller payloads.
HEX_DIGITS = 4
#: Most hexagons per update: a hexagon weighs about 2.5 points, 4,000 of them stay under 1 MB.
HEX_CAP = 4000


def hex_layer(cells: Sequence[tuple[int, int]], breaks: Sequence[int]) -> FeatureCollection:
    """H3 hexagons (boundaries from h3-py) with incident count ``n`` and density class ``k``.

    The tooltip ("12 incidents") is written in the browser from ``n``; with ``HEX_CAP`` cells
    an update stays under 1 MB.
    """
    features = []
    for cell, n in cells:
        ring = [[round(lng, HEX_DIGITS), round(lat, HEX_DIGITS)] for lat, lng in h3int.cell_to_boundary(cell)]
        ring.append(ring[0])
        properties = {"n": n, "k": density_class(n, breaks)}
        features.append(shape({"type": "Polygon", "coordinates": [ring]}, properties))
    return collection(features)


def density_colors(classes: int) -> list[str]:
    """``classes`` colours spread over the density ramp (lightest first)."""
    if classes <= 0:
        return []
    if classes == 1:
        return [DENSITY_COLORS[len(DENSITY_COLORS) // 2]]
    top = len(DENSITY_COLORS) - 1
    return [DENSITY_COLORS[round(i * top / (classes - 1))] for i in range(classes)]


def hex_hideout(breaks: Sequence[int]) -> dict[str, Any]:
    """Fill colour of each density class in use, for the hotspot layer's style function."""
    return {"colors": density_colors(len(breaks))}

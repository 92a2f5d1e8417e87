"""Static figures of the briefing pack (matplotlib, object API: safe in a server thread).

The regional map is drawn offline from the warehouse's own geometries (no tiles): the
situation map's basemap, its border sections by impact level (same colours and line
patterns) and its hotspot cells: the current analysis' Gi* classes in the hotspot layer's
colours, or the incident density classes when there is no analysis
(:mod:`dashboard.briefing.hotspots`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import h3
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from dashboard.briefing.data import REGION, BriefingData
from dashboard.briefing.hotspots import GISTAR, fills, legend_rows
from dashboard.components.palette import IMPACT_LABELS, IMPACT_STYLES, level_color
from dashboard.queries.benchmarks import Cell, Framework
from etl.warehouse.schema import SECTION_IMPACT_LEVELS

DPI = 170
SEA = "#DCE8F2"
TARGET_FILL = "#FFFFFF"
NEIGHBOUR_FILL = "#ECECEC"
LAND_EDGE = "#7A7A7A"
#: Drawing order of Gi* cells: above every section line (``3 + level index``), below labels.
HOTSPOT_ON_TOP = 3 + len(SECTION_IMPACT_LEVELS)


def _rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    polys = geometry.get("coordinates") or []
    if geometry.get("type") == "Polygon":
        polys = [polys]
    return [[(x, y) for x, y in poly[0]] for poly in polys if poly]


def _lines(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    parts = geometry.get("coordinates") or []
    if geometry.get("type") == "LineString":
        parts = [parts]
    return [[(x, y) for x, y in part] for part in parts if part]


def _dashes(pattern: object) -> Any:
    if not pattern:
        return "solid"
    on, off = (float(v) for v in str(pattern).split()[:2])
    return (0, (on / 2.5, off / 2.5))


def _png(fig: Figure, dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def regional_map(data: BriefingData, width_cm: float = 18.0) -> bytes:
    """The region: countries, hotspot cells (Gi* class or density class), border sections by
    impact level; PNG bytes."""
    box = REGION
    ratio = 1.0 / math.cos(math.radians((box.south + box.north) / 2))
    height_cm = width_cm * (box.north - box.south) * ratio / (box.east - box.west) + 1.6
    fig = Figure(figsize=(width_cm / 2.54, height_cm / 2.54))
    ax = fig.add_axes((0.0, 0.12, 1.0, 0.88))
    ax.set_facecolor(SEA)
    targets = {a.iso2 for a in data.admins}
    for is_target in (False, True):
        polys = [ring for c in data.countries if (c.iso2 in targets) == is_target
                 for ring in _rings(c.geometry)]
        ax.add_collection(PolyCollection(
            polys, facecolors=TARGET_FILL if is_target else NEIGHBOUR_FILL,
            edgecolors=LAND_EDGE, linewidths=0.6 if is_target else 0.3, zorder=1))
    _hotspots(ax, data)
    _sections(ax, data.sections)
    for c in data.countries:
        if c.iso2 in targets and box.west < c.label_lon < box.east:
            ax.text(c.label_lon, c.label_lat, c.name, fontsize=6.5, ha="center", va="center",
                    color="#1D2733", zorder=HOTSPOT_ON_TOP + 1, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "fc": (1, 1, 1, 0.7), "ec": "none"})
    ax.set_xlim(box.west, box.east)
    ax.set_ylim(box.south, box.north)
    ax.set_aspect(ratio)
    ax.set_xticks([])
    ax.set_yticks([])
    handles, columns = _legend(data)
    fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=6.2, frameon=False,
               bbox_to_anchor=(0.5, 0.0), handlelength=2.6, columnspacing=1.2)
    return _png(fig)


def _hotspots(ax: Any, data: BriefingData) -> None:
    cells = fills(data.hotspots)
    if not cells:
        return
    polys = [[(lon, lat) for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell))]
             for cell, _ in cells]
    colors = [color for _, color in cells]
    if data.hotspots.kind == GISTAR:
        # Gi* cells are a few pixels wide and lie along the borders (the study area is the
        # border zone): drawn solid above the section lines, which would hide them, and below
        # the labels; outlined in their own colour so a lone cell stays visible in print.
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=colors,
                                         linewidths=0.35, zorder=HOTSPOT_ON_TOP))
    else:
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors="none",
                                         alpha=0.85, zorder=2))


def _sections(ax: Any, sections: Sequence[dict[str, Any]]) -> None:
    for level in SECTION_IMPACT_LEVELS:
        style = IMPACT_STYLES[level]
        segs = [part for s in sections if s["impact_level"] == level
                for part in _lines(s["geometry"])]
        if segs:
            ax.add_collection(LineCollection(
                segs, colors=str(style["color"]), linewidths=float(str(style["weight"])) * 0.45,
                linestyles=_dashes(style["dashArray"]), zorder=3 + SECTION_IMPACT_LEVELS.index(level)))


def _legend(data: BriefingData) -> tuple[list[Any], int]:
    """The legend's handles and columns: section levels and density classes five a row, or
    (Gi*) a row of section levels, one of the hot classes and one of the cold classes (the
    legend fills column by column, so the rows are interleaved)."""
    sections: list[Any] = [
        Line2D([], [], color=str(IMPACT_STYLES[lv]["color"]),
               linewidth=float(str(IMPACT_STYLES[lv]["weight"])) * 0.45,
               linestyle=_dashes(IMPACT_STYLES[lv]["dashArray"]),
               label=f"Section impact: {IMPACT_LABELS[lv].lower()}")
        for lv in SECTION_IMPACT_LEVELS
    ]
    classes = [[Patch(facecolor=color, edgecolor="none", label=label) for color, label in row]
               for row in legend_rows(data.hotspots)]
    if data.hotspots.kind != GISTAR:
        return sections + [p for row in classes for p in row], 5
    rows = [sections, *classes]
    columns = max(len(r) for r in rows)
    blank = Patch(facecolor="none", edgecolor="none", label=" ")
    rows = [r + [blank] * (columns - len(r)) for r in rows]
    return [row[c] for c in range(columns) for row in rows], columns


def country_levels(cells: Sequence[Cell], fw: Framework, width_cm: float = 18.0) -> bytes:
    """One administration's level per component in the round (filled dot, the level's colour)
    and in the previous round (hollow dot, joined by an arrow); PNG bytes."""
    comps = list(fw.components)
    by_id = {c.component_id: c for c in cells}
    height_cm = 1.6 + 0.29 * len(comps)
    fig = Figure(figsize=(width_cm / 2.54, height_cm / 2.54))
    ax = fig.add_axes((0.30, 1.3 / height_cm, 0.66, 1 - 1.55 / height_cm))
    for y, comp in enumerate(comps):
        cell = by_id.get(comp.component_id)
        if cell is None:
            continue
        if cell.previous is not None and cell.previous != cell.level:
            ax.annotate("", xy=(cell.level, y), xytext=(cell.previous, y),
                        arrowprops={"arrowstyle": "->", "color": "#555", "lw": 0.9})
        if cell.previous is not None:
            ax.plot([cell.previous], [y], "o", mfc="white", mec="#555", ms=5.5, zorder=3)
        ax.plot([cell.level], [y], "o", color=level_color(cell.level), mec="#333", ms=7, zorder=4)
    ax.set_yticks(range(len(comps)), [c.name for c in comps], fontsize=6.5)
    ax.set_ylim(len(comps) - 0.5, -0.5)
    steps = [lv.level for lv in fw.levels]
    ax.set_xticks(steps, [f"{lv.level} {lv.label}".replace(" and ", "\nand ").replace(
        "Partially ", "Partially\n") for lv in fw.levels], fontsize=6.3)
    ax.set_xlim(min(steps, default=0) - 0.3, max(steps, default=3) + 0.3)
    ax.grid(axis="x", color="#E0E0E0", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig, dpi=130)

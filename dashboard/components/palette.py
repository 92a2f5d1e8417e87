"""Colours, labels and glyphs shared by the map layers, the legend and the panels.

Category colours follow the Okabe-Ito palette (distinguishable with colour-vision deficiency);
impact levels always come with a text label and a line pattern, never colour alone.
"""

from __future__ import annotations

from etl.warehouse.schema import INCIDENT_CATEGORIES, SECTION_IMPACT_LEVELS

CATEGORY_LABELS: dict[str, str] = {
    "unauthorised_crossing": "Unauthorised border crossing",
    "cross_border_crime": "Cross-border crime",
    "crisis": "Crisis situation",
    "other": "Other",
}
CATEGORY_COLORS: dict[str, str] = {
    "unauthorised_crossing": "#D55E00",
    "cross_border_crime": "#0072B2",
    "crisis": "#CC79A7",
    "other": "#6B6B6B",
}
assert set(CATEGORY_LABELS) == set(INCIDENT_CATEGORIES) == set(CATEGORY_COLORS)

IMPACT_LABELS: dict[str, str] = {
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "Critical",
}
IMPACT_STYLES: dict[str, dict[str, object]] = {
    "low": {"color": "#2E7D32", "weight": 3, "dashArray": None},
    "medium": {"color": "#F9A825", "weight": 4, "dashArray": "10 6"},
    "high": {"color": "#E65100", "weight": 5, "dashArray": "4 5"},
    "critical": {"color": "#B71C1C", "weight": 7, "dashArray": None},
}
assert set(IMPACT_LABELS) == set(SECTION_IMPACT_LEVELS) == set(IMPACT_STYLES)

#: Yellow-orange-red, five density classes (lowest first).
DENSITY_COLORS: tuple[str, ...] = ("#FFFFB2", "#FECC5C", "#FD8D3C", "#F03B20", "#BD0026")

#: BCP mode -> (glyph letter, shape class, label). Unknown modes fall back to "other".
BCP_MODES: dict[str, tuple[str, str, str]] = {
    "road": ("R", "circle", "Road"),
    "rail": ("T", "square", "Rail (train)"),
    "pedestrian": ("P", "diamond", "Pedestrian"),
    "river": ("W", "square", "River / lake"),
    "sea": ("S", "square", "Sea port"),
    "air": ("A", "square", "Airport"),
    "other": ("B", "square", "Other"),
}

PATROL_COLOR = "#6A3D9A"
NEW_COLOR = "#00B3FF"
SELECTED_COLOR = "#FFD400"


def bcp_mode(mode: str | None) -> tuple[str, str, str]:
    """Glyph, shape and label of a BCP mode (``other`` for anything unknown)."""
    return BCP_MODES.get((mode or "").lower(), BCP_MODES["other"])


#: IBM benchmark levels (0 not in place ... 3 implemented and monitored): a diverging
#: red-blue scale, distinguishable with colour-vision deficiency; always shown with the word.
LEVEL_COLORS: dict[int, str] = {0: "#D73027", 1: "#FC8D59", 2: "#91BFDB", 3: "#4575B4"}
#: Text colour readable on each level colour.
LEVEL_TEXT: dict[int, str] = {0: "#FFFFFF", 1: "#1A1A1A", 2: "#1A1A1A", 3: "#FFFFFF"}
NOT_ASSESSED_COLOR = "#D9D9D9"
#: Neighbouring (non-target) countries on the status map.
CONTEXT_COLOR = "#F2F2F2"


def level_color(level: int | None) -> str:
    """Fill colour of a benchmark level (grey when not assessed)."""
    return NOT_ASSESSED_COLOR if level is None else LEVEL_COLORS.get(level, NOT_ASSESSED_COLOR)

"""The incident detail panel: every stored field, the nearest BCP and the border section."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html
from h3.api import basic_int as h3int

from dashboard.components.palette import CATEGORY_COLORS, CATEGORY_LABELS, IMPACT_LABELS
from dashboard.limits import DESCRIPTION_CHARS, EXTRA_FIELDS, FIELD_CHARS, REASON_CHARS, clip

#: Fields with their own text limit (the rest: ``FIELD_CHARS``).
_LIMITS = {"Description": DESCRIPTION_CHARS, "Impact reason": REASON_CHARS}


def _text(value: Any, limit: int = FIELD_CHARS) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return clip(", ".join(str(v) for v in value[:EXTRA_FIELDS]), limit)
    if isinstance(value, float):
        return f"{value:,.1f}"
    return clip(value, limit)


def _km(metres: Any) -> str:
    return "—" if metres is None else f"{float(metres) / 1000:,.1f} km"


def _h3(cell: Any) -> str:
    return "—" if cell is None else h3int.int_to_str(int(cell))


def _group(title: str, items: list[tuple[str, Any]]) -> html.Div:
    rows: list[Any] = []
    for label, value in items:
        rows += [html.Dt(clip(label)), html.Dd(_text(value, _LIMITS.get(label, FIELD_CHARS)))]
    return html.Div([html.H4(title), html.Dl(rows)], className="bw-detail-group")


def detail_panel(record: dict[str, Any] | None) -> list[Any]:
    """Children of the detail panel for one incident (as ``queries.incidents.detail`` returns it).

    Parameters
    ----------
    record
        The incident with its joined context, or None when it no longer exists or the user may
        not see it (the same words for both, so they reveal nothing).
    """
    if record is None:
        return [html.P("This incident is not in the warehouse, or not shared with your role.",
                       className="bw-muted")]
    category = record.get("category") or "other"
    level = record.get("section_impact")
    bcp_name = (
        f"{record['bcp_name_a']} ({record['bcp_country_a']}) – "
        f"{record['bcp_name_b']} ({record['bcp_country_b']})"
        if record.get("bcp_name_a")
        else None
    )
    country = (
        f"{record['country_name']} ({record['country']})"
        if record.get("country_name")
        else record.get("country")
    )
    attrs = record.get("attrs") or {}
    return [
        html.Div(
            [
                html.Span(
                    className="bw-swatch bw-swatch-dot",
                    style={"background": CATEGORY_COLORS.get(category, "#666")},
                ),
                html.Span(CATEGORY_LABELS.get(category, category), className="bw-detail-category"),
            ],
            className="bw-detail-head",
        ),
        html.H3(f"Incident {clip(record.get('incident_id'))}", className="bw-detail-title"),
        _group(
            "Event",
            [
                ("Occurred", record.get("occurred_at")),
                ("Category", CATEGORY_LABELS.get(category, category)),
                ("Subtype", record.get("subtype")),
                ("Persons", record.get("persons")),
                ("Nationalities", record.get("nationalities")),
                ("Direction", record.get("direction")),
                ("Detection", record.get("detection")),
                ("Impact", record.get("impact")),
                ("Description", record.get("description")),
            ],
        ),
        _group(
            "Place",
            [
                ("Latitude, longitude", f"{record['lat']:.5f}, {record['lon']:.5f}"),
                ("Country", country),
                ("Border section", record.get("section_id")),
                ("Section pair", record.get("section_pair")),
                ("Section impact level", IMPACT_LABELS.get(level, level).upper() if level else None),
                ("Impact reason", record.get("section_impact_reason")),
                ("Distance to border", _km(record.get("border_distance_m"))),
                ("Nearest BCP", bcp_name or record.get("nearest_bcp")),
                ("BCP code", record.get("nearest_bcp")),
                ("Distance to BCP", _km(record.get("nearest_bcp_m"))),
                ("BCP named in report", record.get("bcp_code")),
                ("H3 r5 / r7 / r9", " / ".join(_h3(record.get(k)) for k in ("h3_r5", "h3_r7", "h3_r9"))),
            ],
        ),
        _group(
            "Report",
            [
                ("Source", record.get("source")),
                ("Reporting country", record.get("reporting_country")),
                ("Sharing", record.get("sharing")),
                ("Warehouse id", record.get("id")),
                ("Load run", record.get("run_id")),
                ("Loaded", record.get("created_at")),
                ("Last updated", record.get("updated_at")),
                ("Content hash", record.get("content_hash")),
            ],
        ),
        *_extra(attrs, bool(record.get("attrs_too_big"))),
    ]


def _extra(attrs: dict[str, Any], too_big: bool) -> list[html.Div]:
    """The incident's extra fields: at most ``EXTRA_FIELDS``, then how many more."""
    if too_big:
        return [_group("Other fields", [("(not shown)", "larger than the detail panel shows")])]
    if not attrs:
        return []
    keys = sorted(attrs)
    items: list[tuple[str, Any]] = [(k, attrs[k]) for k in keys[:EXTRA_FIELDS]]
    if len(keys) > EXTRA_FIELDS:
        items.append(("…", f"and {len(keys) - EXTRA_FIELDS:,} more fields"))
    return [_group("Other fields", items)]

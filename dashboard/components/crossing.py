"""Pure builders of the crossing page: the header, the tables, the CSV links, the BCP search.

No queries here: each builder takes the rows or DataFrames the page's callbacks got from
``dashboard.crossing`` and returns Dash components (tested without a server).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from dash import dcc, html

from dashboard.components.palette import CATEGORY_LABELS, IMPACT_LABELS, bcp_mode
from dashboard.limits import REASON_CHARS, clip

#: Rows shown in a table on the page (the CSV holds them all).
TABLE_ROWS = 50
#: What a role that sees incidents only as aggregates (a forum viewer) reads instead of the
#: incidents near the crossing and its detections.
COUNTS_ONLY = ("Your role sees incidents as counts only: the incidents near this crossing and "
               "its detections per 10,000 crossings are not shown. The situation map shows them "
               "as counts per area.")
#: Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans({"ı": "i", "İ": "I", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss",
                       "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE"})


def fold(text: str) -> str:
    """Lower case without accents: ``Horgoš`` -> ``horgos``, ``İpsala`` -> ``ipsala``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def bcp_title(row: dict[str, Any]) -> str:
    """``Batrovci – Bajakovo``."""
    return f"{clip(row['name_a'])} – {clip(row['name_b'])}"


def search_options(bcps: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Options of the BCP search box: both local names, the code and the E-road, found by any
    of them with or without accents (``search`` holds the folded forms too)."""
    options = []
    for r in bcps:
        road = f", {r['e_road']}" if r.get("e_road") else ""
        label = f"{bcp_title(r)} ({r['country_a']}–{r['country_b']}{clip(road)})"
        words = " ".join(clip(w) for w in (r["name_a"], r["name_b"], r["code"], r.get("e_road") or ""))
        options.append({"label": label, "value": r["code"],
                        "search": f"{words} {fold(words)} {r['code'].replace('-', ' ')}"})
    return sorted(options, key=lambda o: fold(o["label"]))


def search_box(ident: str, options: list[dict[str, str]],
               placeholder: str = "Find a crossing: name, code or E-road") -> dcc.Dropdown:
    """The BCP search box (a searchable dropdown; choosing an option opens its page)."""
    return dcc.Dropdown(id=ident, options=options, placeholder=placeholder, clearable=True,
                        searchable=True, className="bw-bcp-search", optionHeight=40)


def bcp_path(code: str, query: str = "") -> str:
    """The path of a crossing page (``/bcp/RS-HR-BATROVCI?...``)."""
    return f"/bcp/{quote(code, safe='-_')}{query}"


# -------------------------------------------------------------------------------- header


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


def _fact(label: str, *value: Any) -> list[Any]:
    return [html.Dt(label), html.Dd(list(value))]


def impact_badge(level: str | None) -> html.Span:
    """The impact level of a border section as a labelled badge (never colour alone)."""
    level = level or "low"
    return html.Span(IMPACT_LABELS.get(level, level), className=f"bw-impact-badge bw-impact-{level}")


def header_panel(head: dict[str, Any], map_href: str, link: Callable[[str], str]) -> html.Section:
    """Both local names, countries, mode, joint/one-stop controls, coordinates and their
    confidence, the border section with its impact level, the joint patrol areas the crossing
    lies in, its peers and who reports flows.

    Parameters
    ----------
    head
        ``dashboard.queries.crossing.header``.
    map_href
        Link to the situation map centred on the crossing.
    link
        BCP code -> the link to its page (keeps the period).
    """
    _, _, mode_label = bcp_mode(head.get("mode"))
    a, b = head["country_a"], head["country_b"]
    name_a, name_b = clip(head.get("country_a_name") or a), clip(head.get("country_b_name") or b)
    section = head.get("section")
    if section:
        reason = (f" — {clip(section['impact_reason'], REASON_CHARS)}"
                  if section.get("impact_reason") else "")
        section_fact = [html.Code(section["section_id"]), " ", impact_badge(section["impact_level"]),
                        html.Span(reason, className="bw-muted"),
                        html.Span(f" ({section['distance_m']:,.0f} m from the crossing)",
                                  className="bw-muted")]
    else:
        section_fact = [html.Span("no border section of this pair in the geodata", className="bw-muted")]
    areas = head.get("patrol_areas") or []
    area_fact = ([html.Span(f"{clip(x['agreement_id'])} ({x['country_a']}–{x['country_b']}, "
                            f"{x['depth_km']:g} km, {clip(x['status'])})", className="bw-chip")
                  for x in areas] or [html.Span("none", className="bw-muted")])
    peers = head.get("peers") or []
    peer_fact: list[Any] = ([dcc.Link(bcp_title(p), href=link(p["code"]), className="bw-chip")
                             for p in peers]
                 or [html.Span(f"no other {mode_label.lower()} crossing on this border",
                               className="bw-muted")])
    reporting = {s["reporting_country"]: s for s in head.get("flow_sides") or []}
    sides = []
    for c, name in ((a, name_a), (b, name_b)):
        s = reporting.get(c)
        sides.append(html.Span(
            f"{name}: {s['first']:%d %b %Y} – {s['last']:%d %b %Y}" if s
            else f"{name}: shares no data", className="bw-chip" + ("" if s else " is-missing")))
    confidence = clip(head.get("coord_confidence") or "not stated")
    controls = ", ".join(x for x, on in (("joint controls", head.get("joint_control")),
                                         ("one-stop", head.get("one_stop"))) if on) or "separate controls"
    facts = html.Dl([
        *_fact("Countries", f"{name_a} ({a}) – {name_b} ({b})"),
        *_fact("Mode", mode_label + (f" · {clip(head['e_road'])}" if head.get("e_road") else "")),
        *_fact("Controls", controls),
        *_fact("Coordinates", f"{head['lat']:.5f} N, {head['lon']:.5f} E",
               html.Span(f" (confidence: {confidence})", className="bw-muted")),
        *_fact("Border section", *section_fact),
        *_fact("Joint patrol areas", *area_fact),
        *_fact("Peers (same border, same mode)", *peer_fact),
        *_fact("Flows reported by", *sides),
    ], className="bw-facts")
    return html.Section([
        html.Div([
            html.H1([html.Span(clip(head["name_a"]), lang=a.lower()), " – ",
                     html.Span(clip(head["name_b"]), lang=b.lower())]),
            html.Span(head["code"], className="bw-code"),
            dcc.Link("Show on the situation map", href=map_href, className="bw-button is-secondary"),
        ], className="bw-crossing-title"),
        facts,
    ], className="bw-card bw-crossing-head")


# --------------------------------------------------------------------------------- tables


#: Format kinds of a number column: the format of its value as a float.
NUMBER_FORMATS = {"int": "{:,.0f}", "pct": "{:+.1f} %", "share": "{:.0f} %", "num": "{:,.1f}",
                  "rate": "{:,.2f}", "z": "{:+.1f}"}


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "—"
    if kind in NUMBER_FORMATS:
        return NUMBER_FORMATS[kind].format(float(value))
    if kind == "date":
        return value.strftime("%a %d %b %Y") if isinstance(value, date | datetime) else str(value)
    if kind == "time":
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    if kind == "bool":
        return "yes" if value else ""
    if kind == "label":
        return CATEGORY_LABELS.get(str(value), clip(str(value).replace("_", " ")))
    return clip(value)


Column = tuple[str, str, str]  # (frame column, heading, format kind)


def data_table(frame: pd.DataFrame, columns: Sequence[Column], *, empty: str,
               rows: int = TABLE_ROWS, cell: Callable[[str, Any, dict[str, Any]], Any] | None = None,
               ident: str | None = None) -> html.Div:
    """A plain HTML table of the first ``rows`` rows (the count of all rows under it).

    ``cell(column, text, row)`` may turn a cell's text into a component (a link).
    """
    if frame.empty:
        return html.Div(html.P(empty, className="bw-muted"), id=ident or "")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for _, h, _ in columns]))
    body = []
    for rec in frame.head(rows).to_dict("records"):
        tds = []
        for col, _, kind in columns:
            text = _fmt(rec.get(col), kind)
            content = cell(col, text, rec) if cell else text
            tds.append(html.Td(content, className=f"is-{kind}"))
        body.append(html.Tr(tds))
    more = (html.P(f"Showing {rows:,} of {len(frame):,} rows; the CSV holds them all.",
                   className="bw-muted") if len(frame) > rows else None)
    return html.Div([html.Table([head, html.Tbody(body)], className="bw-table"), more],
                    id=ident or "", className="bw-table-wrap")


def csv_link(href: str, label: str, ident: str) -> html.A:
    """A download link of one table's CSV."""
    return html.A(f"⬇ CSV: {label}", href=href, id=ident, className="bw-csv", download="")


def section(title: str, ident: str, intro: Any, *children: Any) -> html.Section:
    """One section of the page: a heading, a short explanation, its content."""
    return html.Section([html.H2(title), html.P(intro, className="bw-intro"), *children],
                        id=ident, className="bw-card bw-crossing-section")


def not_found(code: str, options: list[dict[str, str]], search_id: str) -> html.Div:
    """The page for a code that is no BCP: say so and offer the search."""
    return html.Div([
        html.Section([
            html.H1("No such crossing point"),
            html.P([f"There is no BCP with the code “{clip(code, 40)}” in the registry. Find one by its "
                    "name, code or E-road, or ", dcc.Link("go back to the situation map", href="/"),
                    "."]),
            search_box(search_id, options),
        ], className="bw-card"),
    ], className="bw-crossing")

"""Pure builders of the benchmarks page's tables and panels (Dash components, no database).

The scorecard is an HTML table rather than a chart: each cell carries the level as a word on
its colour, an arrow against the previous round and the evidence as its tooltip, and stays
readable by screen readers and copyable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from dash import html

from dashboard.components.palette import CATEGORY_LABELS, LEVEL_TEXT, level_color
from dashboard.queries.benchmarks import (
    MET,
    OVERDUE,
    Administration,
    Cell,
    Framework,
    Overall,
    Spread,
)
from dashboard.queries.programme import FlowFigures, Strategy, TrainingTotals
from etl.warehouse.schema import INCIDENT_CATEGORIES

#: Longest evidence or recommendation text put in a tooltip (characters).
TOOLTIP_CHARS = 600
FLOW_LABELS = {"persons": "Persons", "cars": "Cars", "buses": "Buses", "trucks": "Trucks",
               "rail": "Trains"}


def arrow(change: int | None) -> tuple[str, str]:
    """Symbol and words for a level change against the previous round."""
    if change is None:
        return "•", "first assessment"
    if change > 0:
        return "▲", f"up {change} since the previous round"
    if change < 0:
        return "▼", f"down {-change} since the previous round"
    return "=", "unchanged since the previous round"


def _cut(text: str | None, limit: int = TOOLTIP_CHARS) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell_tooltip(cell: Cell, fw: Framework, component: str, today: date) -> str:
    """The hover text of a scorecard cell: level, change, evidence, recommendation."""
    _, words = arrow(cell.change)
    lines = [f"{component}: {cell.level} {fw.label(cell.level)} ({words}"
             + (f", was {fw.label(cell.previous)} in {cell.previous_round})" if cell.previous_round
                else ")")]
    if cell.evidence:
        lines.append("Evidence: " + _cut(cell.evidence))
    if cell.recommendation:
        status = cell.recommendation_status(today)
        due = f"deadline {cell.deadline.isoformat()}, " if cell.deadline else ""
        lines.append(f"Recommendation ({due}{status}): " + _cut(cell.recommendation))
    return "\n".join(lines)


def scorecard_table(cells: Sequence[Cell], fw: Framework, admins: Sequence[Administration],
                    overall: dict[str, Overall], today: date,
                    country_id: Callable[[str], Any]) -> html.Table:
    """Countries x components grouped by result area, with each country's overall mean.

    Parameters
    ----------
    country_id
        Id of the button that opens a country (a pattern-matching id from the page).
    """
    by_key = {(c.country, c.component_id): c for c in cells}
    areas = fw.areas()
    head_areas = [html.Th("", className="bw-sc-corner"), html.Th("", className="bw-sc-corner")]
    head_areas += [html.Th(area, colSpan=len(comps), className="bw-sc-area", scope="colgroup")
                   for area, comps in areas]
    head_comps = [html.Th("Administration", scope="col", className="bw-sc-first"),
                  html.Th("Overall", scope="col")]
    head_comps += [html.Th(c.name, scope="col", className="bw-sc-comp", title=c.component_id)
                   for _, comps in areas for c in comps]
    body = []
    for admin in admins:
        o = overall.get(admin.iso2)
        row: list[Any] = [
            html.Th(html.Button(admin.name, id=country_id(admin.iso2), n_clicks=0,
                                className="bw-linkish", title=f"Open {admin.name}"),
                    scope="row"),
            _overall_cell(o, fw),
        ]
        for _, comps in areas:
            for comp in comps:
                cell = by_key.get((admin.iso2, comp.component_id))
                row.append(_level_cell(cell, fw, comp.name, today))
        body.append(html.Tr(row, **{"data-country": admin.iso2}))  # type: ignore[arg-type]
    return html.Table(
        [html.Thead([html.Tr(head_areas), html.Tr(head_comps)]), html.Tbody(body)],
        className="bw-scorecard",
    )


def _level_cell(cell: Cell | None, fw: Framework, component: str, today: date) -> html.Td:
    if cell is None:
        return html.Td("not assessed", className="bw-sc-cell is-empty",
                       title=f"{component}: not assessed in this round")
    symbol, _ = arrow(cell.change)
    status = cell.recommendation_status(today)
    return html.Td(
        [html.Span(fw.label(cell.level), className="bw-sc-word"),
         html.Span(symbol, className="bw-sc-arrow",
                   **{"aria-hidden": "true"}),  # type: ignore[arg-type]
         html.Span("!", className="bw-sc-overdue", title="overdue recommendation")
         if status == OVERDUE else None],
        className="bw-sc-cell",
        title=cell_tooltip(cell, fw, component, today),
        style={"background": level_color(cell.level), "color": LEVEL_TEXT.get(cell.level, "#000")},
        **{"data-level": str(cell.level),  # type: ignore[arg-type]
           "data-component": cell.component_id},
    )


def _overall_cell(o: Overall | None, fw: Framework) -> html.Td:
    if o is None or o.mean is None:
        return html.Td("not assessed", className="bw-sc-cell is-empty")
    step = fw.nearest_level(o.mean)
    symbol, words = arrow(None if o.previous_mean is None else
                          (1 if o.mean > o.previous_mean else -1 if o.mean < o.previous_mean else 0))
    title = (f"Mean level {o.mean:.2f} over {o.assessed} of {o.total} components; "
             + (f"previous round {o.previous_mean:.2f}" if o.previous_mean is not None
                else "no previous round"))
    return html.Td([html.Span(f"{o.mean:.2f}", className="bw-sc-word"),
                    html.Span(symbol, className="bw-sc-arrow", title=words)],
                   className="bw-sc-cell bw-sc-overall", title=title,
                   style={"background": level_color(step), "color": LEVEL_TEXT.get(step, "#000")})


def gaps_table(items: Sequence[Spread], fw: Framework, admins: Sequence[Administration]) -> Any:
    """The components with the widest gaps between countries."""
    if not items:
        return html.P("No gap between countries in this round.", className="bw-muted")
    names = {c.component_id: c.name for c in fw.components}
    who = {a.iso2: a.name for a in admins}

    def people(codes: tuple[str, ...]) -> str:
        return ", ".join(who.get(c, c) for c in codes)

    rows = [html.Tr([html.Td(names.get(s.component_id, s.component_id)),
                     html.Td(f"{s.low} {fw.label(s.low)}: {people(s.lowest)}"),
                     html.Td(f"{s.high} {fw.label(s.high)}: {people(s.highest)}"),
                     html.Td(str(s.gap), className="bw-num")]) for s in items]
    return html.Table([html.Thead(html.Tr([html.Th("Component"), html.Th("Lowest"),
                                           html.Th("Highest"), html.Th("Gap")])),
                       html.Tbody(rows)], className="bw-table")


def recommendations_table(cells: Sequence[Cell], fw: Framework, today: date) -> Any:
    """One administration's recommendations of a round, with deadline and status (overdue
    flagged), in framework order."""
    names = {c.component_id: (c.ordering, c.name) for c in fw.components}
    mine = sorted((c for c in cells if c.recommendation),
                  key=lambda c: names.get(c.component_id, (999, ""))[0])
    if not mine:
        return html.P("No recommendation in this round.", className="bw-muted")
    rows = []
    for c in mine:
        status = c.recommendation_status(today) or ""
        label = {MET: f"met (level raised by {c.next_round})" if c.next_round else "met",
                 OVERDUE: "OVERDUE"}.get(status, status)
        rows.append(html.Tr(
            [html.Td(names.get(c.component_id, (0, c.component_id))[1]),
             html.Td(_cut(c.recommendation, 300)),
             html.Td(c.deadline.isoformat() if c.deadline else "—", className="bw-nowrap"),
             html.Td(label, className=f"bw-status is-{status}")],
            className="is-overdue" if status == OVERDUE else None))
    return html.Table([html.Thead(html.Tr([html.Th("Component"), html.Th("Recommendation"),
                                           html.Th("Deadline"), html.Th("Status")])),
                       html.Tbody(rows)], className="bw-table bw-recs")


def key_figures(incidents: dict[str, int] | None, flows: Sequence[FlowFigures],
                trainings: TrainingTotals | None, current: Sequence[Strategy],
                period: str) -> html.Div:
    """One administration's key figures for the period (the same as its briefing page)."""
    counts = incidents or {}
    inc_rows = [html.Tr([html.Td(CATEGORY_LABELS[c]), html.Td(f"{counts.get(c, 0):,}",
                                                              className="bw-num")])
                for c in INCIDENT_CATEGORIES]
    inc_rows.append(html.Tr([html.Th("All incidents"),
                             html.Th(f"{sum(counts.values()):,}", className="bw-num")]))
    flow_rows = [html.Tr([html.Td(FLOW_LABELS.get(f.category, f.category)),
                          html.Td(f"{f.crossings:,}", className="bw-num"),
                          html.Td("—" if f.wait_avg is None else f"{f.wait_avg:.1f}",
                                  className="bw-num")]) for f in flows]
    t = trainings or TrainingTotals()
    strat = [html.Li(f"{s.title or s.document} (adopted {s.adopted_on}, "
                     f"{s.status.replace('_', ' ')}"
                     + (f", {s.implemented_pct:g}% of measures implemented)" if
                        s.implemented_pct is not None else ")")) for s in current]
    return html.Div([
        html.H4(f"Key figures, {period}"),
        html.Div([
            html.Table([html.Thead(html.Tr([html.Th("Incidents by category"), html.Th("")])),
                        html.Tbody(inc_rows)], className="bw-table"),
            html.Table([html.Thead(html.Tr([html.Th("Crossings"), html.Th("entries + exits"),
                                            html.Th("avg wait (min)")])),
                        html.Tbody(flow_rows or [html.Tr(html.Td("no flows reported",
                                                                 colSpan=3))])],
                       className="bw-table"),
            html.Div([html.P(f"Trainings: {t.trainings:,}, participants: {t.participants:,}"),
                      html.P("In force:" if strat else "No strategy in force."),
                      html.Ul(strat)]),
        ], className="bw-figures"),
    ], className="bw-keyfigures")

"""The situation page's sidebar: counts, filters, time slider with playback, live mode, feed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dash import dcc, html

from dashboard.components.palette import CATEGORY_LABELS
from dashboard.ids import PageIds
from dashboard.viewstate import Filters, ViewState


@dataclass(frozen=True)
class TimeAxis:
    """The slider's day axis: day 0 is ``base``, the last day is ``base + days``."""

    base: date
    days: int

    def offset(self, day: date) -> int:
        """Slider position of ``day`` (clamped to the axis)."""
        return min(self.days, max(0, (day - self.base).days))

    def day(self, offset: int) -> date:
        """Date at slider position ``offset``."""
        return self.base + timedelta(days=int(offset))

    def marks(self, count: int = 4) -> dict[int, dict[str, Any]]:
        """``count`` evenly spaced labels, first and last day included: "12 Mar" on an axis of
        up to 180 days, "Mar 2024" on a longer one ("Dec 24" read like a date, and a year's
        axis began and ended on the same "07 Dec")."""
        fmt = "%d %b" if self.days <= 180 else "%b %Y"
        positions = sorted({round(i * self.days / max(1, count - 1)) for i in range(count)})
        return {i: {"label": self.day(i).strftime(fmt), "style": {"fontSize": "11px"}} for i in positions}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for a ``dcc.Store``."""
        return {"base": self.base.isoformat(), "days": self.days}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeAxis:
        """Inverse of :meth:`to_dict`."""
        return cls(base=date.fromisoformat(str(data["base"])), days=int(data["days"]))


def date_label(date_from: date, date_to: date) -> str:
    """``2024-01-01 – 2024-03-31 (91 days)``."""
    days = (date_to - date_from).days + 1
    return f"{date_from.isoformat()} – {date_to.isoformat()} ({days} day{'s' if days != 1 else ''})"


def subtype_options(mapping: dict[str, list[str]], categories: list[str] | None) -> list[dict[str, str]]:
    """Dropdown options of the subtypes of ``categories`` (all categories when empty)."""
    chosen = categories or list(mapping)
    values = sorted({s for c in chosen for s in mapping.get(c, [])})
    return [{"label": s.replace("_", " "), "value": s} for s in values]


def _field(label: str, control: Any, html_for: str | None = None) -> html.Div:
    return html.Div([html.Label(label, htmlFor=html_for), control], className="bw-field")


def _live(ids: PageIds, live: bool, refresh_interval_s: int) -> html.Div:
    return html.Div(
        [
            dcc.Checklist(
                id=ids("live"),
                options=[{"label": f" Live: refresh every {refresh_interval_s} s", "value": "live"}],
                value=["live"] if live else [],
            ),
            html.Span("0 new", id=ids("new-count"), className="bw-new-counter is-zero"),
            html.Button(
                "Clear",
                id=ids("new-clear"),
                n_clicks=0,
                className="bw-button is-secondary",
                title="Clear the new-incident highlights",
            ),
            html.Span("", id=ids("refreshed"), className="bw-refreshed"),
        ],
        className="bw-live",
    )


def _dates(ids: PageIds, f: Filters, axis: TimeAxis) -> html.Div:
    return html.Div(
        [
            html.Span("Date range", className="bw-field-label"),
            html.Div(date_label(f.date_from, f.date_to), id=ids("dates"), className="bw-dates"),
            html.Div(
                dcc.RangeSlider(
                    id=ids("slider"),
                    min=0,
                    max=axis.days,
                    step=1,
                    value=[axis.offset(f.date_from), axis.offset(f.date_to)],
                    marks=axis.marks(),
                    allowCross=False,
                    updatemode="mouseup",
                    allow_direct_input=False,
                ),
                className="bw-slider",
            ),
            html.Div(
                [
                    html.Button(
                        "▶ Play",
                        id=ids("play"),
                        n_clicks=0,
                        className="bw-button is-secondary",
                        title="Play the time window forward",
                    ),
                    dcc.RadioItems(
                        id=ids("step"),
                        options=[{"label": "by day", "value": 1}, {"label": "by week", "value": 7}],
                        value=7,
                        inline=True,
                        inputStyle={"marginRight": "3px", "marginLeft": "6px"},
                    ),
                ],
                className="bw-playback",
            ),
        ],
        className="bw-field",
    )


def _filters(
    ids: PageIds,
    f: Filters,
    subtypes: dict[str, list[str]],
    countries: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
) -> html.Div:
    def dropdown(name: str, placeholder: str, options: list[dict[str, str]], value: tuple[str, ...]):  # type: ignore[no-untyped-def]
        return dcc.Dropdown(
            id=ids(name), multi=True, placeholder=placeholder, options=options, value=list(value)
        )

    return html.Div(
        [
            _field(
                "Category",
                dropdown(
                    "cat",
                    "All categories",
                    [{"label": v, "value": k} for k, v in CATEGORY_LABELS.items()],
                    f.categories,
                ),
            ),
            _field(
                "Subtype",
                dropdown(
                    "sub",
                    "All subtypes",
                    subtype_options(subtypes, list(f.categories)),
                    f.subtypes,
                ),
            ),
            _field(
                "Country",
                dropdown(
                    "country",
                    "All countries",
                    [{"label": f"{c['name']} ({c['iso2']})", "value": c["iso2"]} for c in countries],
                    f.countries,
                ),
            ),
            _field(
                "Border",
                dropdown(
                    "pair",
                    "All borders",
                    [
                        {"label": f"{p['name_a']} – {p['name_b']} ({p['pair_id']})", "value": p["pair_id"]}
                        for p in pairs
                    ],
                    f.pairs,
                ),
            ),
        ],
        className="bw-filter-grid",
    )


def sidebar(
    ids: PageIds,
    state: ViewState,
    axis: TimeAxis,
    subtypes: dict[str, list[str]],
    countries: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
    refresh_interval_s: int,
    search: Any = None,
) -> html.Aside:
    """Counts, live mode, the time slider with playback, filters, and the incident feed
    (``search``: the BCP search box, under the title)."""
    f = state.filters
    counts = html.Div(
        [
            html.Span([html.B("…", id=ids("total")), " match the filters"]),
            html.Span([html.B("…", id=ids("in-view")), " on the map"]),
        ],
        className="bw-counts",
    )
    return html.Aside(
        [
            html.Div(
                [
                    html.H2("Situation map"),
                    *([search] if search is not None else []),
                    counts,
                    _live(ids, state.live, refresh_interval_s),
                    _dates(ids, f, axis),
                    _filters(ids, f, subtypes, countries, pairs),
                ],
                className="bw-controls",
            ),
            html.H3("Latest incidents", className="bw-feed-title"),
            html.Div(id=ids("feed"), className="bw-feed", role="list"),
        ],
        className="bw-sidebar",
    )


def playback_range(span: Sequence[int], step: int, last: int) -> tuple[int, int]:
    """The days a playback runs through: the chosen range, or the whole axis (``0``..``last``)
    when the chosen range is no longer than one frame."""
    first, final = min(int(span[0]), last), min(int(span[1]), last)
    if final - first + 1 <= max(1, int(step)):
        return 0, last
    return first, final


def playback_frame(
    span: Sequence[int], step: int, within: tuple[int, int], *, start: bool
) -> tuple[list[int], bool]:
    """The next time-window frame of the playback, and whether playback is finished.

    Parameters
    ----------
    span
        Current slider value ``[from, to]`` (day offsets).
    step
        Frame length and advance in days (1 = by day, 7 = by week).
    within
        First and last day offset the playback runs through (:func:`playback_range`).
    start
        True when playback starts: the first frame begins on the first day of ``within``.
    """
    step = max(1, int(step))
    low, high = within
    if start:
        first = low
    else:
        first = int(span[0]) + step
        if first > high:
            return [int(span[0]), int(span[1])], True
    return [first, min(first + step - 1, high)], False

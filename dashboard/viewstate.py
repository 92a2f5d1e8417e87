"""The view state of the situation map (filters, centre, zoom, layers) and its URL form.

A link holds the whole view: ``?from=2024-01-01&to=2024-03-31&cat=crisis&pair=HR-RS&lat=44.8
&lon=19.5&z=8&layers=sections,incidents&live=1&sel=42``. Parsing is tolerant: a value that cannot
be read is dropped and reported (``key=value`` of exactly what was dropped, for the page's
"ignored link parameters" banner), never an error page:

- a date outside ``EARLIEST_DATE``..``LATEST_DATE`` is refused like an unreadable one (the day
  after 9999-12-31 does not exist, and every query asks for it);
- a list keeps its readable values and reports the others; at most ``MAX_LIST_VALUES`` values;
- ``layers`` with no readable value falls back to the default layers (an empty ``layers=`` is
  a choice: every overlay off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from etl.warehouse.schema import INCIDENT_CATEGORIES

#: Overlay key -> name shown in the layers control (order = order in the control).
LAYERS: dict[str, str] = {
    "sections": "Border sections (impact level)",
    "bcps": "Border crossing points",
    "incidents": "Incidents",
    "hotspots": "Hotspots (Gi* classes)",
    "density": "Incident density (H3)",
    "patrol": "Joint patrol areas",
}
DEFAULT_LAYERS: tuple[str, ...] = ("sections", "bcps", "incidents")

#: The whole region (Western Balkans and Türkiye) at a typical screen width.
DEFAULT_CENTER: tuple[float, float] = (42.0, 26.0)
DEFAULT_ZOOM = 5
MIN_ZOOM, MAX_ZOOM = 3, 18
DEFAULT_WINDOW_DAYS = 90
#: Dates a view may show: incidents and flows of this programme lie well inside (ISO 8601 days).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2099, 12, 31)
#: Most values of one list parameter (categories, subtypes, countries, border pairs, layers).
MAX_LIST_VALUES = 100
#: A reported value is cut to this many characters.
REPORTED_CHARS = 40

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_PAIR = re.compile(r"^[A-Za-z]{2}-[A-Za-z]{2}$")
_ID = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True)
class Filters:
    """What the incident layers, counts and the feed are restricted to.

    Parameters
    ----------
    date_from, date_to
        Inclusive date range (UTC days).
    categories, subtypes, countries, pairs
        Allowed values; empty means "all".
    """

    date_from: date
    date_to: date
    categories: tuple[str, ...] = ()
    subtypes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()

    @property
    def start(self) -> datetime:
        """First instant of the range (UTC)."""
        return datetime.combine(self.date_from, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant after the range (UTC, exclusive)."""
        return datetime.combine(self.date_to + timedelta(days=1), time(), tzinfo=UTC)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (for a ``dcc.Store``)."""
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "cat": list(self.categories),
            "sub": list(self.subtypes),
            "country": list(self.countries),
            "pair": list(self.pairs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Filters:
        """Inverse of :meth:`to_dict`; values are validated like URL values."""
        today = datetime.now(UTC).date()
        state, _ = parse_query({k: _join(v) for k, v in data.items()}, today=today)
        return state.filters


@dataclass(frozen=True)
class ViewState:
    """Everything a link to the situation map reproduces."""

    filters: Filters
    lat: float = DEFAULT_CENTER[0]
    lon: float = DEFAULT_CENTER[1]
    zoom: int = DEFAULT_ZOOM
    layers: tuple[str, ...] = DEFAULT_LAYERS
    live: bool = False
    selected: int | None = None
    explicit_dates: bool = field(default=False, compare=False)

    def to_query(self) -> str:
        """The URL search string (with the leading ``?``) of this view."""
        f = self.filters
        params: list[tuple[str, str]] = [
            ("from", f.date_from.isoformat()),
            ("to", f.date_to.isoformat()),
        ]
        for key, values in (
            ("cat", f.categories),
            ("sub", f.subtypes),
            ("country", f.countries),
            ("pair", f.pairs),
        ):
            if values:
                params.append((key, ",".join(values)))
        params += [
            ("lat", f"{self.lat:.5f}"),
            ("lon", f"{self.lon:.5f}"),
            ("z", str(self.zoom)),
            ("layers", ",".join(self.layers)),
        ]
        if self.live:
            params.append(("live", "1"))
        if self.selected is not None:
            params.append(("sel", str(self.selected)))
        return "?" + urlencode(params, safe=",-")


def default_filters(today: date, data_end: date | None = None) -> Filters:
    """The last ``DEFAULT_WINDOW_DAYS`` days up to today (or the newest data, if later)."""
    end = min(LATEST_DATE, max(today, data_end) if data_end else today)
    end = max(end, EARLIEST_DATE + timedelta(days=DEFAULT_WINDOW_DAYS - 1))
    return Filters(date_from=end - timedelta(days=DEFAULT_WINDOW_DAYS - 1), date_to=end)


def _join(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _split(value: object) -> list[str]:
    return [v.strip() for v in _join(value).split(",") if v.strip()]


def _date(value: object) -> date | None:
    text = _join(value).strip()
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None
    return day if day is not None and EARLIEST_DATE <= day <= LATEST_DATE else None


def _float(value: object, low: float, high: float) -> float | None:
    text = _join(value)
    try:
        number = float(text) if len(text) <= 32 else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def _shown(key: str, value: object, note: str = "") -> str:
    """``key=value`` as the banner shows a dropped value (cut to ``REPORTED_CHARS``)."""
    text = _join(value)
    if len(text) > REPORTED_CHARS:
        text = text[:REPORTED_CHARS] + "…"
    return f"{key}={text}" + (f" ({note})" if note else "")


def parse_query(
    query: dict[str, object], *, today: date, data_end: date | None = None
) -> tuple[ViewState, list[str]]:
    """Read a view state from URL query parameters.

    Parameters
    ----------
    query
        Parameter name -> value (a string, or a list for repeated parameters), as Dash Pages
        passes them to ``layout(**query)``.
    today
        The date that defines the default date window.
    data_end
        Newest incident date in the warehouse, if known (extends the default window).

    Returns
    -------
    tuple
        The view state, and what was dropped as unreadable, as ``key=value`` texts (in the
        order of the parameters; a list parameter names only the values it dropped).
    """
    problems: list[str] = []
    defaults = default_filters(today, data_end)

    def values(key: str, pattern: re.Pattern[str], allowed: tuple[str, ...] = ()) -> tuple[str, ...]:
        raw = _split(query.get(key))
        readable = [v for v in raw if pattern.match(v) and (not allowed or v in allowed)]
        good = tuple(dict.fromkeys(readable))[:MAX_LIST_VALUES]
        dropped = [v for v in raw if v not in good]
        if dropped:
            problems.append(_shown(key, dropped))
        return good

    date_from, date_to = defaults.date_from, defaults.date_to
    explicit = False
    if "from" in query or "to" in query:
        parsed_from, parsed_to = _date(query.get("from")), _date(query.get("to"))
        if "from" in query and parsed_from is None:
            problems.append(_shown("from", query.get("from")))
        if "to" in query and parsed_to is None:
            problems.append(_shown("to", query.get("to")))
        new_to = parsed_to or date_to
        new_from = parsed_from or max(EARLIEST_DATE, new_to - timedelta(days=DEFAULT_WINDOW_DAYS - 1))
        if new_from > new_to:
            problems.append(_shown("from", query.get("from"), "after to"))
        elif parsed_from or parsed_to:
            date_from, date_to, explicit = new_from, new_to, True

    filters = Filters(
        date_from=date_from,
        date_to=date_to,
        categories=values("cat", _CODE, INCIDENT_CATEGORIES),
        subtypes=values("sub", _CODE),
        countries=tuple(dict.fromkeys(v.upper() for v in values("country", _ISO2))),
        pairs=tuple(dict.fromkeys(v.upper() for v in values("pair", _PAIR))),
    )

    state = ViewState(filters=filters, explicit_dates=explicit)
    lat = _float(query.get("lat"), -85, 85) if "lat" in query else None
    lon = _float(query.get("lon"), -180, 180) if "lon" in query else None
    zoom = _float(query.get("z"), MIN_ZOOM, MAX_ZOOM) if "z" in query else None
    for key, got in (("lat", lat), ("lon", lon), ("z", zoom)):
        if key in query and got is None:
            problems.append(_shown(key, query.get(key)))
    if lat is not None and lon is not None:
        state = replace(state, lat=lat, lon=lon)
    if zoom is not None:
        state = replace(state, zoom=int(round(zoom)))
    if "layers" in query:
        chosen = values("layers", _CODE, tuple(LAYERS))
        unreadable = not chosen and _split(query.get("layers"))
        state = replace(state, layers=DEFAULT_LAYERS if unreadable else chosen)
    if "live" in query:
        state = replace(state, live=_join(query.get("live")).strip() in ("1", "true", "yes"))
    if "sel" in query:
        sel = _join(query.get("sel")).strip()
        if _ID.match(sel):
            state = replace(state, selected=int(sel))
        else:
            problems.append(_shown("sel", sel))
    return state, list(dict.fromkeys(problems))


# -- the benchmarks page ---------------------------------------------------------------------

_ROUND = re.compile(r"^\d{4}(?:-(?:H[12]|Q[1-4]|\d{2}|\d{2}-\d{2}))?$")


@dataclass(frozen=True)
class BenchmarkView:
    """Everything a link to the benchmarks page reproduces: the assessment round, the period of
    the key figures (and of the briefing), and the country opened in the drill-down.

    ``?round=2020&from=2025-01-01&to=2025-03-31&country=RS``
    """

    filters: Filters
    round: str | None = None
    country: str | None = None

    def to_query(self) -> str:
        """The URL search string (with the leading ``?``)."""
        params: list[tuple[str, str]] = []
        if self.round:
            params.append(("round", self.round))
        params += [("from", self.filters.date_from.isoformat()),
                   ("to", self.filters.date_to.isoformat())]
        if self.country:
            params.append(("country", self.country))
        return "?" + urlencode(params, safe=",-")


def parse_benchmark_query(
    query: dict[str, object], *, today: date, data_end: date | None = None,
    rounds: tuple[str, ...] = (), countries: tuple[str, ...] = (),
) -> tuple[BenchmarkView, list[str]]:
    """Read the benchmarks page's view from URL query parameters.

    Parameters
    ----------
    query
        Parameter name -> value, as Dash Pages passes them to ``layout(**query)``.
    today, data_end
        As for :func:`parse_query` (the default period is the situation map's).
    rounds
        Known round labels, oldest first; the default round is the newest. A round that is
        not known is ignored (named in the problems).
    countries
        Known ISO alpha-2 codes of the administrations a drill-down may open.

    Returns
    -------
    tuple
        The view, and what was ignored as unreadable (``key=value``, as :func:`parse_query`).
    """
    period: dict[str, object] = {k: query[k] for k in ("from", "to") if k in query}
    state, problems = parse_query(period, today=today, data_end=data_end)
    chosen = rounds[-1] if rounds else None
    if "round" in query:
        raw = _join(query.get("round")).strip().upper()
        if _ROUND.match(raw) and raw in rounds:
            chosen = raw
        else:
            problems.append(_shown("round", query.get("round")))
    country = None
    if "country" in query:
        raw = _join(query.get("country")).strip().upper()
        if _ISO2.match(raw) and raw in countries:
            country = raw
        elif raw:
            problems.append(_shown("country", query.get("country")))
    view = BenchmarkView(filters=state.filters, round=chosen, country=country)
    return view, list(dict.fromkeys(problems))


# -- the crossing page (/bcp/<code>) ---------------------------------------------------------

#: Radius of "incidents near the crossing" a link may ask for (km).
MIN_RADIUS_KM, MAX_RADIUS_KM = 0.5, 100.0
#: Longest period the crossing page analyses (three years of daily flows).
MAX_CROSSING_DAYS = 3 * 366
NEAR_SCOPES = ("radius", "section")
#: Every URL parameter of a crossing page (and of its CSV links).
CROSSING_PARAMETERS = ("from", "to", "cat", "sub", "country", "pair", "side", "flow", "wait", "r",
                       "near")
FLOW_CHOICES = ("persons", "cars", "buses", "trucks", "rail")
WAIT_CHOICES = ("cars", "buses", "trucks")


@dataclass(frozen=True)
class CrossingView:
    """Everything a link to a crossing page reproduces (besides the BCP code in its path).

    Parameters
    ----------
    filters
        The period, and the incident categories and subtypes (the map's countries and border
        pairs ride along so that the way back to the map keeps them).
    side
        Reporting country whose flows are shown (None: the page's default side).
    flow, wait
        Traffic category of the flows and mirror charts; vehicle category of the waits.
    radius_km, near
        Incidents near the crossing: within ``radius_km``, or on its border section.
    """

    filters: Filters
    side: str | None = None
    flow: str = "persons"
    wait: str = "trucks"
    radius_km: float = 10.0
    near: str = "radius"
    explicit_dates: bool = field(default=False, compare=False)

    def to_query(self) -> str:
        """The URL search string (with the leading ``?``) of this view."""
        f = self.filters
        params: list[tuple[str, str]] = [("from", f.date_from.isoformat()),
                                         ("to", f.date_to.isoformat())]
        for key, values in (("cat", f.categories), ("sub", f.subtypes),
                            ("country", f.countries), ("pair", f.pairs)):
            if values:
                params.append((key, ",".join(values)))
        if self.side:
            params.append(("side", self.side))
        params += [("flow", self.flow), ("wait", self.wait), ("r", f"{self.radius_km:g}"),
                   ("near", self.near)]
        return "?" + urlencode(params, safe=",-")

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (for a ``dcc.Store``); read back with :func:`parse_crossing_query`."""
        data: dict[str, object] = dict(self.filters.to_dict())
        data.update(side=self.side or "", flow=self.flow, wait=self.wait,
                    r=self.radius_km, near=self.near)
        return data

    def map_query(self) -> str:
        """The situation map's URL search string for the same period and filters."""
        return ViewState(filters=self.filters).to_query()


def parse_crossing_query(
    query: dict[str, object], *, today: date, data_end: date | None = None,
    radius_km: float = 10.0,
) -> tuple[CrossingView, list[str]]:
    """Read a crossing page's view from URL query parameters (tolerant, as :func:`parse_query`).

    The period and filters are read exactly as the situation map reads them (the default
    window ends at ``data_end``, the BCP's newest flow); a period longer than
    ``MAX_CROSSING_DAYS`` is cut to its last ``MAX_CROSSING_DAYS`` days.

    Returns
    -------
    tuple
        The view, and what was ignored as unreadable (``key=value``, as :func:`parse_query`).
    """
    shared = {k: v for k, v in query.items() if k in ("from", "to", "cat", "sub", "country", "pair")}
    state, problems = parse_query(shared, today=today, data_end=data_end)
    filters = state.filters
    if (filters.date_to - filters.date_from).days >= MAX_CROSSING_DAYS:
        filters = replace(filters, date_from=filters.date_to - timedelta(days=MAX_CROSSING_DAYS - 1))
        problems.append(_shown("from", query.get("from"), f"over {MAX_CROSSING_DAYS} days"))
    view = CrossingView(filters=filters, radius_km=radius_km, explicit_dates=state.explicit_dates)

    def choice(key: str, allowed: tuple[str, ...]) -> str | None:
        if key not in query:
            return None
        value = _join(query.get(key)).strip().lower()
        if value in allowed:
            return value
        problems.append(_shown(key, query.get(key)))
        return None

    side = _join(query.get("side")).strip().upper() if "side" in query else ""
    if side and _ISO2.match(side):
        view = replace(view, side=side)
    elif side:
        problems.append(_shown("side", query.get("side")))
    view = replace(view, flow=choice("flow", FLOW_CHOICES) or view.flow,
                   wait=choice("wait", WAIT_CHOICES) or view.wait,
                   near=choice("near", NEAR_SCOPES) or view.near)
    if "r" in query:
        radius = _float(query.get("r"), MIN_RADIUS_KM, MAX_RADIUS_KM)
        if radius is None:
            problems.append(_shown("r", query.get("r")))
        else:
            view = replace(view, radius_km=round(radius, 1))
    return view, list(dict.fromkeys(problems))

"""The types and ranges of what a browser may send: every callback input and state.

A callback declares what it accepts in its signature, with these types::

    def update_incidents(filters: FiltersData, bounds: Bounds | None, zoom: Zoom | None, ...)

and :mod:`dashboard.guard` checks each value of a ``/_dash-update-component`` request against
them (pydantic, strict: a JSON number is not a string, and nothing is converted) before the
callback runs. A value outside its type or range is answered 400 in the one error shape. The
types say what the *browser* sends (JSON values), so they are lists, dicts and strings; the
callback then parses them further (``Filters.from_dict``, ``TimeAxis.from_dict``).

Ranges are generous for what the page produces and tight for what the code computes with:
a zoom of ``1e308`` once made the cluster grid compute ``2 ** zoom`` for a minute.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from dashboard.viewstate import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_LIST_VALUES,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
)

#: Leaflet zoom levels (web maps use 0 to 24; the map itself allows ``MIN_ZOOM``-``MAX_ZOOM``).
MAX_LEAFLET_ZOOM = 24
#: Longitudes a Leaflet map reports after panning around the world a few times.
MAX_ABS_LONGITUDE = 3600.0
#: Longest text of a plain string input (a code, a URL the page built, a class name).
MAX_TEXT = 2048
#: Most items of a list a page builds (pattern-matching inputs: one per feed item).
MAX_ITEMS = 500
#: Largest warehouse id (PostgreSQL ``bigint``).
MAX_ID = 2**63 - 1
#: Largest click or tick counter (JavaScript's largest exact integer).
MAX_COUNTER = 2**53 - 1
#: Days on a time axis: the whole ``EARLIEST_DATE``..``LATEST_DATE`` range.
MAX_AXIS_DAYS = (LATEST_DATE - EARLIEST_DATE).days


def _iso_day(value: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("not a YYYY-MM-DD date")
    day = date.fromisoformat(value)
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"outside {EARLIEST_DATE}..{LATEST_DATE}")
    return value


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
#: A code chosen in a dropdown (category, subtype, ISO country, border pair, layer key).
Code = Annotated[str, StringConstraints(max_length=100)]
#: The values of a multi-select dropdown.
Codes = Annotated[list[Code], Field(max_length=MAX_LIST_VALUES)]
#: ``YYYY-MM-DD`` between ``EARLIEST_DATE`` and ``LATEST_DATE``.
IsoDay = Annotated[
    str, StringConstraints(max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_iso_day)
]
Zoom = Annotated[float, Field(ge=0, le=MAX_LEAFLET_ZOOM, allow_inf_nan=False)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-MAX_ABS_LONGITUDE, le=MAX_ABS_LONGITUDE, allow_inf_nan=False)]
#: ``n_clicks`` / ``n_intervals``.
Counter = Annotated[int, Field(ge=0, le=MAX_COUNTER)]
#: A warehouse id (incident, run, ...).
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
#: Days from the start of a time axis.
AxisDay = Annotated[int, Field(ge=0, le=MAX_AXIS_DAYS)]

#: Leaflet bounds: ``[[south, west], [north, east]]``.
LatLng = Annotated[tuple[Latitude, Longitude], Field()]
Bounds = tuple[LatLng, LatLng]


@with_config(ConfigDict(extra="ignore"))
class LatLngDict(TypedDict):
    """A Leaflet ``LatLng`` object as dash-leaflet reports a centre."""

    lat: Latitude
    lng: Longitude


#: dash-leaflet's ``center``: ``{"lat", "lng"}`` or ``[lat, lng]``.
Center = LatLngDict | LatLng
#: Category -> its subtypes (the subtype filter's options).
SubtypeMap = Annotated[dict[Code, Codes], Field(max_length=MAX_LIST_VALUES)]
#: ``n_clicks`` of every component of a pattern-matching id (one per feed item, ...).
Clicks = Annotated[list[Counter | None], Field(max_length=MAX_ITEMS)]
#: The checked overlays of a layers control (their names), or the values of a checklist.
Names = Annotated[list[Text], Field(max_length=50)]
#: A layer's style options (``hideout``), echoed back as state: small and flat.
Hideout = Annotated[dict[Code, str | bool | int | float | None | list[Text]], Field(max_length=30)]


#: The filters store (``Filters.to_dict``): what the incident layers and counts show. The
#: functional form because ``from`` is a Python keyword.
FiltersData = with_config(ConfigDict(extra="forbid"))(TypedDict(  # type: ignore[operator]
    "FiltersData",
    {"from": IsoDay, "to": IsoDay, "cat": Codes, "sub": Codes, "country": Codes, "pair": Codes},
    total=False,
))


@with_config(ConfigDict(extra="forbid"))
class AxisData(TypedDict):
    """A time slider's axis store (``TimeAxis.to_dict``)."""

    base: IsoDay
    days: AxisDay


#: A range slider's value: ``[first day, last day]`` on its axis.
DaySpan = Annotated[list[AxisDay], Field(min_length=2, max_length=2)]


@with_config(ConfigDict(extra="forbid"))
class RefreshData(TypedDict):
    """The live-mode store: the newest incident id seen, and the new ones highlighted."""

    watermark: Id
    new_ids: Annotated[list[Id], Field(max_length=MAX_ITEMS)]


@with_config(ConfigDict(extra="forbid"))
class Selected(TypedDict):
    """The selected incident store: its id and where it was picked."""

    id: Id | None
    src: Literal["url", "map", "feed"]


@with_config(ConfigDict(extra="allow"))
class FeatureProperties(TypedDict, total=False):
    """What a click on a map feature carries that a callback reads."""

    id: Id
    cluster: bool


@with_config(ConfigDict(extra="allow"))
class ClickedFeature(TypedDict):
    """dash-leaflet's ``clickData``: the GeoJSON feature clicked (geometry unread)."""

    type: Literal["Feature"]
    properties: NotRequired[FeatureProperties | None]


#: A date picker's value (``YYYY-MM-DD``, perhaps with a time); the page parses it further.
DateText = Annotated[str, StringConstraints(max_length=32)]


@with_config(ConfigDict(extra="allow"))
class GraphClick(TypedDict):
    """A Plotly graph's ``clickData``: the points clicked (their fields unread here)."""

    points: Annotated[list[dict[Code, Any]], Field(max_length=MAX_ITEMS)]


#: A playback step: a day or a week.
Step = Literal[1, 7]
#: The hotspot layer's colour-by switch (``dashboard.components.hotspots.MODES``).
HotspotMode = Literal["class", "pattern"]
#: ``location.pathname`` and ``location.search`` (Dash Pages' router).
Pathname = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Search = Annotated[str, StringConstraints(max_length=4096)]


# -- the crossing page (/bcp/<code>) ---------------------------------------------------------

#: A BCP code (``RS-HR-BATROVCI``): what the search box and a BCP click carry.
BcpCode = Annotated[str, StringConstraints(max_length=40, pattern=r"^[A-Za-z0-9_-]{1,40}$")]
#: A reporting side of a crossing (ISO 3166 alpha-2); empty in the state store: the default side.
Side = Annotated[str, StringConstraints(max_length=2, pattern=r"^([A-Za-z]{2})?$")]
#: Traffic category of the flows and mirror charts (``viewstate.FLOW_CHOICES``).
FlowChoice = Literal["persons", "cars", "buses", "trucks", "rail"]
#: Vehicle category of the waiting times (``viewstate.WAIT_CHOICES``).
WaitChoice = Literal["cars", "buses", "trucks"]
#: Which incidents are near a crossing (``viewstate.NEAR_SCOPES``).
NearScope = Literal["radius", "section"]
#: What a number box may hold while someone types (the view keeps its radius when the number
#: is outside ``MIN_RADIUS_KM``..``MAX_RADIUS_KM``): finite and of a sane size.
TypedNumber = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
#: The radius a view holds (km).
RadiusKm = Annotated[float, Field(ge=MIN_RADIUS_KM, le=MAX_RADIUS_KM, allow_inf_nan=False)]


#: The crossing page's view store: the BCP code and ``CrossingView.to_dict`` (the functional
#: form because ``from`` is a Python keyword).
CrossingState = with_config(ConfigDict(extra="forbid"))(TypedDict(  # type: ignore[operator]
    "CrossingState",
    {"code": BcpCode, "from": IsoDay, "to": IsoDay, "side": Side, "flow": FlowChoice,
     "wait": WaitChoice, "r": RadiusKm, "near": NearScope, "cat": NotRequired[Codes],
     "sub": NotRequired[Codes], "country": NotRequired[Codes], "pair": NotRequired[Codes]},
))

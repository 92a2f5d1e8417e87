"""The view state's URL form: tolerant parsing and an exact round trip."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.viewstate import (
    DEFAULT_LAYERS,
    DEFAULT_WINDOW_DAYS,
    EARLIEST_DATE,
    LATEST_DATE,
    LAYERS,
    MAX_LIST_VALUES,
    Filters,
    ViewState,
    default_filters,
    parse_query,
)
from etl.warehouse.schema import INCIDENT_CATEGORIES

TODAY = date(2024, 6, 30)


def _parse(query: str, **kwargs: object) -> tuple[ViewState, list[str]]:
    # as Dash Pages passes query parameters to layout(): blank values kept
    parsed = parse_qs(urlsplit(query).query, keep_blank_values=True)
    raw = {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
    return parse_query(raw, today=TODAY, **kwargs)  # type: ignore[arg-type]


codes = st.lists(st.sampled_from(["AL", "BA", "HR", "XK", "RS", "TR"]), unique=True, max_size=3)
pairs = st.lists(st.sampled_from(["HR-RS", "BA-HR", "AL-GR", "BG-TR"]), unique=True, max_size=2)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(date(2009, 1, 1), date(2030, 1, 1)),
    days=st.integers(0, 800),
    cats=st.lists(st.sampled_from(INCIDENT_CATEGORIES), unique=True),
    subs=st.lists(st.sampled_from(["green_border", "drugs", "flood"]), unique=True),
    countries=codes,
    border=pairs,
    lat=st.floats(-85, 85).map(lambda v: round(v, 5)),
    lon=st.floats(-180, 180).map(lambda v: round(v, 5)),
    zoom=st.integers(3, 18),
    layers=st.lists(st.sampled_from(list(LAYERS)), unique=True),
    live=st.booleans(),
    selected=st.none() | st.integers(1, 10**12),
)
def test_url_round_trip(
    start: date,
    days: int,
    cats: list[str],
    subs: list[str],
    countries: list[str],
    border: list[str],
    lat: float,
    lon: float,
    zoom: int,
    layers: list[str],
    live: bool,
    selected: int | None,
) -> None:
    state = ViewState(
        filters=Filters(
            start, start + timedelta(days=days), tuple(cats), tuple(subs), tuple(countries), tuple(border)
        ),
        lat=lat,
        lon=lon,
        zoom=zoom,
        layers=tuple(layers),
        live=live,
        selected=selected,
    )
    parsed, problems = _parse(state.to_query())
    assert problems == []
    assert parsed == state


def test_defaults_without_parameters() -> None:
    state, problems = _parse("")
    assert problems == []
    assert state.filters == default_filters(TODAY)
    assert (state.filters.date_to - state.filters.date_from).days == DEFAULT_WINDOW_DAYS - 1
    assert state.layers == DEFAULT_LAYERS and not state.live and state.selected is None
    later = date(2024, 8, 1)
    assert _parse("", data_end=later)[0].filters.date_to == later


def test_bad_values_are_dropped_and_named() -> None:
    state, problems = _parse(
        "?from=yesterday&cat=crisis,bogus&country=R1,RS&pair=HRRS&lat=95&lon=20&z=99"
        "&layers=incidents,<script>&sel=abc"
    )
    assert problems == [
        "from=yesterday", "cat=bogus", "country=R1", "pair=HRRS", "lat=95", "z=99", "layers=<script>",
        "sel=abc",
    ]
    assert state.filters.categories == ("crisis",)
    assert state.filters.countries == ("RS",)
    assert state.filters.pairs == ()
    assert state.layers == ("incidents",)
    assert state.selected is None
    assert state.zoom == ViewState(filters=state.filters).zoom


def test_reversed_dates_fall_back_to_default_window() -> None:
    state, problems = _parse("?from=2024-05-01&to=2024-04-01")
    assert problems == ["from=2024-05-01 (after to)"]
    assert state.filters == default_filters(TODAY)


def test_lower_case_codes_are_normalised() -> None:
    state, problems = _parse("?country=rs,hr&pair=hr-rs")
    assert problems == []
    assert state.filters.countries == ("RS", "HR") and state.filters.pairs == ("HR-RS",)


def test_filters_store_round_trip() -> None:
    filters = Filters(date(2024, 1, 1), date(2024, 1, 31), ("crisis",), ("flood",), ("RS",), ("HR-RS",))
    assert Filters.from_dict(filters.to_dict()) == filters
    assert filters.end - filters.start == timedelta(days=31)


def test_dates_beyond_the_calendar_are_refused_and_named() -> None:
    """``?to=9999-12-31`` used to be accepted: the day after it overflows, and every callback
    that asked for the end of the range failed with an OverflowError."""
    for query, problem in (("?to=9999-12-31", "to=9999-12-31"), ("?from=0001-01-01", "from=0001-01-01"),
                           ("?from=1900-01-01&to=1900-02-01", "from=1900-01-01")):
        state, problems = _parse(query)
        assert problem in problems, query
        assert EARLIEST_DATE <= state.filters.date_from <= state.filters.date_to <= LATEST_DATE
        assert state.filters.end > state.filters.start
    edge, problems = _parse(f"?from={EARLIEST_DATE}&to={LATEST_DATE}")
    assert problems == [] and (edge.filters.date_from, edge.filters.date_to) == (EARLIEST_DATE, LATEST_DATE)
    stored = Filters.from_dict({"from": "9999-12-30", "to": "9999-12-31"})
    assert stored.end > stored.start
    assert default_filters(TODAY, data_end=date(9999, 12, 31)).date_to == LATEST_DATE


def test_unreadable_layers_fall_back_to_the_default() -> None:
    """``layers=nope`` used to turn every overlay off."""
    state, problems = _parse("?layers=nope")
    assert state.layers == DEFAULT_LAYERS and problems == ["layers=nope"]
    chosen, problems = _parse("?layers=patrol,nope")
    assert chosen.layers == ("patrol",) and problems == ["layers=nope"]
    none, problems = _parse("?layers=")  # every overlay switched off on purpose: kept
    assert none.layers == () and problems == []


def test_only_what_was_dropped_is_reported() -> None:
    """``cat=bogus,crisis`` applies crisis: the banner names bogus only, not the whole parameter."""
    state, problems = _parse("?cat=bogus,crisis")
    assert state.filters.categories == ("crisis",) and problems == ["cat=bogus"]
    state, problems = _parse("?cat=crisis,crisis&country=RS")
    assert state.filters.categories == ("crisis",) and problems == []


def test_long_and_repeated_values_stay_bounded() -> None:
    huge = ",".join(f"x{i}" for i in range(5000))
    state, problems = _parse(f"?cat={huge}&sub={huge}&from={'9' * 10000}&sel={'1' * 10000}")
    assert state.filters.categories == () and len(state.filters.subtypes) <= MAX_LIST_VALUES
    assert len(", ".join(problems)) < 1000
    twice, problems = _parse("?z=6&z=7&country=RS&country=HR")
    assert twice.filters.countries == ("RS", "HR") and "z=6,7" in problems

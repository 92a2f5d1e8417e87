"""The briefing map's hotspot caption, as pure functions: coverage of the pack's period,
staleness, the cells per class."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dashboard.briefing.hotspots import (
    DENSITY,
    GISTAR,
    RUN_FAILED,
    MapHotspots,
    caption,
    coverage,
    side,
    staleness,
    uncovered,
)
from dashboard.queries.hotspots import Analysis, RunState
from dashboard.viewstate import Filters

PACK = Filters(date(2025, 9, 1), date(2025, 10, 31))
NOW = datetime(2025, 11, 5, 9, 0, tzinfo=UTC)


def _analysis(first: date, last: date, stale_days: int = 0,
              computed: datetime = datetime(2025, 11, 2, 8, 30, tzinfo=UTC)) -> Analysis:
    return Analysis(computed_at=computed, period_from=first, period_to=last, step_days=7,
                    steps=8, resolution=6, k=1, zone_km=30.0, categories=(), cells=100,
                    incidents=2000, significant=3, stale_days=stale_days)


def test_the_days_of_the_pack_the_analysis_does_not_cover() -> None:
    assert uncovered((date(2025, 1, 6), date(2025, 11, 2)), PACK) == []
    assert uncovered((date(2025, 9, 1), date(2025, 10, 26)), PACK) == [
        (date(2025, 10, 27), date(2025, 10, 31))]
    assert uncovered((date(2025, 9, 8), date(2025, 10, 26)), PACK) == [
        (date(2025, 9, 1), date(2025, 9, 7)), (date(2025, 10, 27), date(2025, 10, 31))]
    assert uncovered((date(2024, 1, 1), date(2024, 12, 29)), PACK) == [
        (date(2025, 9, 1), date(2025, 10, 31))]

    assert coverage(_analysis(date(2025, 1, 6), date(2025, 11, 2)), PACK) == \
        "Its period covers the pack's period."
    assert coverage(_analysis(date(2025, 9, 8), date(2025, 10, 30)), PACK) == (
        "It does not cover 2025-09-01 to 2025-09-07 and 2025-10-31 of the pack's period "
        "(8 days of 61 days).")
    assert coverage(_analysis(date(2024, 1, 1), date(2024, 12, 29)), PACK) == (
        "Its period does not overlap the pack's period: the classes describe 2024-01-01 to "
        "2024-12-29, not the pack's period.")


def test_age_and_staleness() -> None:
    fresh = _analysis(date(2025, 9, 1), date(2025, 10, 26))
    assert staleness(fresh, NOW) == ("Computed 2025-11-02 08:30 UTC, 3 days before this pack; "
                                     "no load has changed incidents since.")
    stale = _analysis(date(2025, 9, 1), date(2025, 10, 26), stale_days=1,
                      computed=datetime(2025, 11, 5, 8, 0, tzinfo=UTC))
    assert staleness(stale, NOW) == (
        "Computed 2025-11-05 08:00 UTC, less than a day before this pack; stale: loads changed "
        "incidents on 1 day since, which its classes do not include (borderwatch analyse "
        "hotspots recomputes it).")


def test_cells_per_class_and_which_map_is_drawn() -> None:
    counts = {"hot_99": 2, "hot_95": 0, "hot_90": 1, "cold_90": 0, "cold_95": 0, "cold_99": 1}
    assert side(counts, "hot") == "3 hot spot cells (2 at 99 %, 1 at 90 % confidence)"
    assert side(counts, "cold") == "1 cold spot cell (1 at 99 % confidence)"
    assert side(dict.fromkeys(counts, 0), "hot") == "no hot spot cell"

    gi = MapHotspots(GISTAR, _analysis(date(2025, 9, 1), date(2025, 10, 26)),
                     cells=((1, "hot_99"), (2, "hot_99"), (3, "hot_90"), (4, "cold_99")))
    assert gi.class_counts() == counts
    text = caption(gi, PACK, NOW)
    assert text.startswith("Hotspots: Getis-Ord Gi* classes of the current hotspot analysis "
                           "over 2025-09-01 to 2025-10-26 (8 weekly steps, all categories")
    assert "3 hot spot cells" in text and "It does not cover 2025-10-27 to 2025-10-31" in text
    failed = RunState(run_id=9, status="failed", started_at=datetime(2025, 11, 4, 7, 0, tzinfo=UTC),
                      finished_at=None, message="boom")
    assert ("The latest recompute (started 2025-11-04 07:00 UTC) failed: this is the analysis "
            "before it.") in caption(MapHotspots(GISTAR, gi.analysis, gi.cells, last_run=failed),
                                     PACK, NOW)
    none = caption(MapHotspots(DENSITY), PACK, NOW)
    assert none.startswith("Hotspots: incident density of the pack's period")
    assert none.endswith("no hotspot analysis has been computed yet (borderwatch analyse "
                         "hotspots).")
    assert "failed and no earlier analysis exists" in caption(
        MapHotspots(DENSITY, why=RUN_FAILED, last_run=failed), PACK, NOW)

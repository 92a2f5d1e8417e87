"""etl.validate: every problem of a row, vectorised over a chunk (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from etl.sources import benchmarks, flows, incidents
from etl.validate import REGION_BBOX, ROW, Context, References, SourceSpec, Validator

REFS = References(
    codes={
        "bcp": {"RS-HU-HORGOS", "RS-HR-BATROVCI"},
        "country": {"RS", "HR", "HU", "XK"},
        "component": {"border_control", "risk_analysis"},
        "level": {0, 1, 2, 3},
    },
    bcp_lonlat={"RS-HU-HORGOS": (19.9788, 46.1737), "RS-HR-BATROVCI": (19.101, 45.054)},
    tables={"bcp_countries": {"RS-HU-HORGOS": ("RS", "HU"), "RS-HR-BATROVCI": ("RS", "HR")}},
)
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
GOOD = {
    "incident_id": "a1", "occurred_at": "2024-05-01T10:00:00+02:00", "lat": "46.15",
    "lon": "19.9", "bcp_code": "", "category": "unauthorised_crossing",
    "subtype": "between_bcps", "persons": "3", "nationalities": "SYR;AFG", "direction": "entry",
    "detection": "patrol", "impact": "low", "reporting_country": "RS", "sharing": "national",
    "description": "seen",
}


def _validator(spec: SourceSpec = incidents.SPEC, extras: tuple[str, ...] = ()) -> Validator:
    return Validator(spec, REFS, Context(NOW, REGION_BBOX), extras=extras)


def _frame(rows: list[dict[str, str]], start: int = 1) -> pd.DataFrame:
    frame = pd.DataFrame(rows, dtype=object)
    frame[ROW] = np.arange(start, start + len(rows))
    return frame


def _check(rows: list[dict[str, str]], spec: SourceSpec = incidents.SPEC):
    names = {c: c for c in rows[0]}
    return _validator(spec).validate(_frame(rows), names)


def _codes(result) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    return {r.row_number: [x.code for x in r.reasons] for r in result.rejects}


def test_a_good_row_is_accepted_and_typed() -> None:
    result = _check([GOOD])
    assert result.rejects == [] and result.duplicates == 0
    acc = result.accepted
    assert acc["occurred_at"][0] == datetime(2024, 5, 1, 8, tzinfo=UTC).timestamp() * 1e6
    assert acc["nationalities"][0] == "SYR;AFG" and acc["persons"][0] == 3
    assert (acc["lon"][0], acc["lat"][0]) == (19.9, 46.15)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"occurred_at": "yesterday"}, "bad_date", "occurred_at"),
        ({"occurred_at": ""}, "missing_value", "occurred_at"),
        ({"occurred_at": "2030-01-01"}, "future_date", "occurred_at"),
        ({"occurred_at": "1950-01-01"}, "date_out_of_range", "occurred_at"),
        ({"lat": "19.9", "lon": "46.15"}, "latlon_swapped", "lat"),
        ({"lat": "52.5", "lon": "13.4"}, "outside_region", "lat"),
        ({"lat": "north"}, "bad_coordinate", "lat"),
        ({"lat": "95", "lon": "19"}, "bad_coordinate", "lat"),
        ({"lon": ""}, "missing_coordinate", "lon"),
        ({"lat": "", "lon": ""}, "missing_location", None),
        ({"category": "unauthorized_crossing"}, "unknown_category", "category"),
        ({"subtype": "smuggling"}, "unknown_subtype", "subtype"),
        ({"bcp_code": "XX-NOWHERE"}, "unknown_bcp_code", "bcp_code"),
        ({"persons": "-2"}, "negative_count", "persons"),
        ({"persons": "2.5"}, "bad_number", "persons"),
        ({"persons": "9999999999"}, "number_out_of_range", "persons"),
        ({"nationalities": "Syria"}, "bad_nationalities", "nationalities"),
        ({"reporting_country": "ZZ"}, "unknown_reporting_country", "reporting_country"),
        ({"description": "nul\x00byte"}, "bad_text", "description"),
        ({"incident_id": ""}, "missing_value", "incident_id"),
    ],
)
def test_each_problem_has_its_reason(change: dict[str, str], code: str, field: str | None) -> None:
    result = _check([{**GOOD, **change}])
    assert len(result.rejects) == 1
    reasons = result.rejects[0].reasons
    assert (code, field) in [(r.code, r.field) for r in reasons], reasons
    assert all(r.message for r in reasons)
    assert result.rejects[0].raw["incident_id"] == (change.get("incident_id", "a1"))


def test_every_problem_of_a_row_is_collected_and_suggestions_given() -> None:
    row = {**GOOD, "occurred_at": "soon", "category": "unauthorized_crossing",
           "subtype": "between_bcp", "persons": "-1", "direction": "sideways"}
    result = _check([row])
    reasons = {r.code: r.message for r in result.rejects[0].reasons}
    assert set(reasons) == {"bad_date", "unknown_category", "unknown_subtype",
                            "negative_count", "unknown_direction"}
    assert "did you mean 'unauthorised_crossing'" in reasons["unknown_category"]
    assert "did you mean 'between_bcps'" in reasons["unknown_subtype"]
    assert "valid: entry, exit, unknown" in reasons["unknown_direction"]


def test_swap_message_names_both_readings() -> None:
    result = _check([{**GOOD, "lat": "19.9", "lon": "46.15"}])
    message = result.rejects[0].reasons[0].message
    assert "lat 19.9 / lon 46.15" in message and "swapped" in message


def test_normalisation_of_values() -> None:
    row = {**GOOD, "category": " Cross-Border Crime ", "direction": "EXIT", "impact": "Very High",
           "nationalities": "syr; afg;", "bcp_code": "rs-hu-horgos", "reporting_country": "rs"}
    result = _check([row])
    assert result.rejects == []
    acc = result.accepted
    assert acc["category"][0] == "cross_border_crime" and acc["impact"][0] == "very_high"
    assert acc["direction"][0] == "exit" and acc["nationalities"][0] == "SYR;AFG"
    assert acc["bcp_code"][0] == "RS-HU-HORGOS" and acc["reporting_country"][0] == "RS"


def test_direction_defaults_to_unknown_and_bcp_only_rows_sit_at_the_bcp() -> None:
    row = {**GOOD, "direction": "", "lat": "", "lon": "", "bcp_code": "RS-HR-BATROVCI"}
    acc = _check([row]).accepted
    assert acc["direction"][0] == "unknown"
    assert (acc["lon"][0], acc["lat"][0]) == (19.101, 45.054)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-05-01", "2024-05-01T00:00:00"),
        ("2024-05-01 10:00", "2024-05-01T10:00:00"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00"),
        ("2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00"),
        ("2024-05-01T10:00:00.5-0330", "2024-05-01T13:30:00.500000"),
        ("2024-05-01T10:00+2:00", "2024-05-01T08:00:00"),
    ],
)
def test_timestamps_without_offset_are_utc(text: str, iso: str) -> None:
    rows = [{**GOOD, "incident_id": "x", "occurred_at": "2024-01-01T00:00:00+01:00"},
            {**GOOD, "occurred_at": text}]
    micros = _check(rows).accepted["occurred_at"][1]
    assert datetime.fromtimestamp(micros / 1e6, UTC).replace(tzinfo=None).isoformat() == iso


def test_duplicates_inside_a_file_across_chunks() -> None:
    v = _validator()
    names = {c: c for c in GOOD}
    first = v.validate(_frame([GOOD, {**GOOD, "incident_id": "b"}]), names)
    assert first.rejects == [] and len(first.accepted_rows) == 2
    second = v.validate(
        _frame([GOOD, {**GOOD, "persons": "9"}, {**GOOD, "incident_id": "c"},
                {**GOOD, "incident_id": "c", "persons": "1"}, {**GOOD, "occurred_at": "bad"}],
               start=3),
        names,
    )
    assert second.duplicates == 1  # row 3: the same row again
    assert second.accepted_rows.tolist() == [5]
    codes = _codes(second)
    assert codes == {4: ["duplicate_conflict"], 6: ["duplicate_conflict"],
                     7: ["bad_date", "duplicate_conflict"]}
    assert "row 1" in second.rejects[0].reasons[0].message
    assert "row 5" in second.rejects[1].reasons[0].message


def test_extra_columns_are_part_of_the_content() -> None:
    v = _validator(extras=("Plate",))
    names = {**{c: c for c in GOOD}, "Plate": "Plate"}
    result = v.validate(_frame([{**GOOD, "Plate": "A"}, {**GOOD, "Plate": "B"}]), names)
    assert result.accepted["attr:Plate"].tolist() == ["A"]
    assert _codes(result) == {2: ["duplicate_conflict"]}


def test_flows_rules() -> None:
    good = {"bcp_code": "RS-HU-HORGOS", "date": "2024-05-01", "direction": "entry",
            "category": "cars", "count": "10", "wait_minutes_avg": "5", "wait_minutes_max": "9",
            "lanes_open": "2"}
    rows = [good, {**good, "date": "01/05/2024"}, {**good, "wait_minutes_max": "1", "category": "buses"},
            {**good, "count": "-1", "lanes_open": "40000", "category": "trucks"},
            {**good, "direction": "in"}, {**good, "date": "2030-01-01"}]
    rows += [{**good, "reporting_country": "hu", "category": "buses"},
             {**good, "reporting_country": "HR", "category": "trucks"}]
    result = _check(rows, flows.SPEC)
    assert _codes(result) == {
        2: ["bad_date"], 3: ["inconsistent_wait"], 4: ["negative_count", "number_out_of_range"],
        5: ["unknown_direction"], 6: ["future_date"], 8: ["foreign_reporting_country"],
    }
    assert result.accepted["date"][0] == (pd.Timestamp("2024-05-01") - pd.Timestamp(0)).days
    # empty reporting_country: the BCP's country_a; a given one, upper case
    assert list(result.accepted["reporting_country"]) == ["RS", "HU"]


def test_benchmark_rounds_and_references() -> None:
    good = {"country": "RS", "round": "2010", "component": "border_control", "level": "2",
            "evidence": "", "recommendation": "", "deadline": ""}
    rows = [good, {**good, "round": "2024-h1"}, {**good, "round": "2024-Q3"},
            {**good, "round": "spring"}, {**good, "component": "Border_Control", "round": "2011"},
            {**good, "level": "7", "round": "2012"}, {**good, "country": "ZZ"},
            {**good, "round": "2030"}]
    result = _check(rows, benchmarks.SPEC)
    assert _codes(result) == {4: ["bad_round"], 6: ["unknown_level"], 7: ["unknown_country"],
                              8: ["future_date"]}
    acc = result.accepted
    assert acc["round"].tolist() == ["2010", "2024-H1", "2024-Q3", "2011"]
    days = [pd.Timestamp(0) + pd.Timedelta(days=d) for d in acc["round_date"]]
    assert [d.date().isoformat() for d in days] == [
        "2010-01-01", "2024-01-01", "2024-07-01", "2011-01-01"]
    assert acc["component"][3] == "border_control"

"""``incidents_bad.csv``: a few dozen malformed incident rows of every kind, for ``rejects``.

Each row says in its extra ``demo_note`` column what is wrong with it; the ground truth lists
the reason codes the validator is expected to give. One row is valid on purpose: the next row
repeats its id with different content (a ``duplicate_conflict`` needs a first occurrence).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from etl.demo.incidents import INCIDENT_COLUMNS
from etl.demo.reference import Reference

BAD_COLUMNS = (*INCIDENT_COLUMNS, "demo_note")


def write_bad_incidents(path: Path, ref: Reference, *, end: dt.date) -> list[dict[str, object]]:
    """Write the malformed rows; return, per row, its number, id, note and expected codes."""
    bcp = ref.bcps.iloc[0]
    lat, lon = f"{bcp['lat']:.5f}", f"{bcp['lon']:.5f}"
    when = f"{end.isoformat()}T10:15:00+01:00"
    future = f"{(dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()}T08:00:00Z"
    base = {
        "occurred_at": when, "lat": lat, "lon": lon, "bcp_code": "",
        "category": "unauthorised_crossing", "subtype": "between_bcps", "persons": "4",
        "nationalities": "SYR;AFG", "direction": "exit", "detection": "patrol", "impact": "low",
        "reporting_country": str(bcp["country_a"]), "sharing": "national",
        "description": "Illustrative malformed demo row",
    }
    cases: list[tuple[dict[str, str], str, tuple[str, ...]]] = [
        ({"lat": "", "lon": ""}, "no lat/lon and no bcp_code", ("missing_location",)),
        ({"lat": "  ", "lon": " "}, "coordinates that are only spaces", ("missing_location",)),
        ({"lat": lat.replace(".", ",")}, "decimal comma in lat", ("bad_coordinate",)),
        ({"lon": "N" + lon}, "lon with a hemisphere letter", ("bad_coordinate",)),
        ({"lon": ""}, "lat without lon", ("missing_coordinate",)),
        ({"lat": ""}, "lon without lat", ("missing_coordinate",)),
        ({"lat": lon, "lon": lat}, "lat and lon swapped", ("latlon_swapped",)),
        ({"lat": "48.85661", "lon": "2.35222"}, "a point in Paris", ("outside_region",)),
        ({"lat": "0", "lon": "0"}, "null island (0, 0)", ("outside_region",)),
        ({"lat": "145.2"}, "latitude beyond 90", ("bad_coordinate",)),
        ({"occurred_at": "31/12/2024 22:10"}, "day-first date", ("bad_date",)),
        ({"occurred_at": "yesterday night"}, "date in words", ("bad_date",)),
        ({"occurred_at": "2024-13-45T10:00:00"}, "month 13", ("bad_date",)),
        ({"occurred_at": ""}, "no date", ("missing_value",)),
        ({"occurred_at": future}, "a date 30 days ahead", ("future_date",)),
        ({"occurred_at": "1985-06-01"}, "a date before 1990", ("date_out_of_range",)),
        ({"category": "unauthorized_crossing"}, "US spelling of the category",
         ("unknown_category",)),
        ({"category": "smuggling"}, "a subtype given as category", ("unknown_category",)),
        ({"category": ""}, "no category", ("missing_value",)),
        ({"subtype": "between_bcp"}, "subtype missing its s", ("unknown_subtype",)),
        ({"subtype": "drug"}, "subtype in the singular", ("unknown_subtype",)),
        ({"lat": "", "lon": "", "bcp_code": str(bcp["code"]) + "X"}, "misspelt BCP code",
         ("unknown_bcp_code",)),
        ({"lat": "", "lon": "", "bcp_code": "XX-YY-NOWHERE"}, "a BCP that does not exist",
         ("unknown_bcp_code",)),
        ({"persons": "-3"}, "negative persons", ("negative_count",)),
        ({"persons": "three"}, "persons in words", ("bad_number",)),
        ({"persons": "2.5"}, "half a person", ("bad_number",)),
        ({"nationalities": "Syrian"}, "nationality as a word", ("bad_nationalities",)),
        ({"nationalities": "SY;AF"}, "alpha-2 instead of alpha-3", ("bad_nationalities",)),
        ({"direction": "inbound"}, "unknown direction", ("unknown_direction",)),
        ({"detection": "drone"}, "unknown detection", ("unknown_detection",)),
        ({"impact": "critical"}, "section level used as event impact", ("unknown_impact",)),
        ({"reporting_country": "SRB"}, "alpha-3 reporting country",
         ("unknown_reporting_country",)),
        ({"reporting_country": "UK"}, "a country outside the warehouse",
         ("unknown_reporting_country",)),
        ({"sharing": "public"}, "unknown sharing scope", ("unknown_sharing",)),
        ({"occurred_at": "tomorrow", "category": "unauthorized", "persons": "-1"},
         "three problems in one row", ("bad_date", "unknown_category", "negative_count")),
    ]
    rows: list[list[str]] = []
    truth: list[dict[str, object]] = []

    def add(values: dict[str, str], incident_id: str, note: str, codes: tuple[str, ...]) -> None:
        row = {**base, **values, "incident_id": incident_id, "demo_note": note}
        rows.append([row[c] for c in BAD_COLUMNS])
        truth.append({"row": len(rows), "incident_id": incident_id, "problem": note,
                      "expected_codes": list(codes)})

    for i, (values, note, codes) in enumerate(cases, start=1):
        add(values, f"DEMO-BAD-{i:03d}", note, codes)
    add({}, "", "no incident_id", ("missing_value",))
    add({}, "DEMO-BAD-DUP", "valid row (accepted): the next row repeats its id", ())
    add({"persons": "5"}, "DEMO-BAD-DUP", "same id as the row before, other content",
        ("duplicate_conflict",))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(BAD_COLUMNS)
        writer.writerows(rows)
        # A row with more fields than the header (an unquoted comma in the text).
        fh.write(",".join([*rows[-2][:-1], "two, unquoted", "extra"]).replace(
            "DEMO-BAD-DUP", "DEMO-BAD-WIDE", 1) + "\n")
    truth.append({"row": len(rows) + 1, "incident_id": "DEMO-BAD-WIDE",
                  "problem": "more fields than the header", "expected_codes": ["malformed_row"]})
    return truth

"""Daily crossing flows per BCP: traffic counts and waiting times, as one side reports them.

Natural key: (``bcp_code``, ``reporting_country``, ``date``, ``direction``, ``category``).
``bcp_code`` must be a known BCP (``bcp.code``). Each of the two services at a crossing reports
its own counts: ``reporting_country`` is one of the BCP's two countries (default: the BCP's
``country_a``, so files written before the column existed keep loading), and ``direction`` is
seen from it (``entry`` = entering the reporting country). What one side counts leaving should
match what the other side counts entering (the crossing page reconciles the two). Waiting times
follow the US CBP / Green Lanes model (minutes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.validate import Column, Parsed, Problems, SourceSpec
from etl.warehouse.references import bcp_countries
from etl.warehouse.schema import DIRECTIONS, FLOW_CATEGORIES


def _wait_order(parsed: Parsed, problems: Problems) -> None:
    """The maximum waiting time cannot be below the average."""
    avg = parsed.values["wait_minutes_avg"]
    mx = parsed.values["wait_minutes_max"]
    both = np.isfinite(avg) & np.isfinite(mx)
    bad = both & (np.where(both, mx, 0) < np.where(both, avg, 0))
    problems.add(
        bad, "inconsistent_wait", "wait_minutes_max",
        lambda i: f"wait_minutes_max {mx[i]:g} is below wait_minutes_avg {avg[i]:g}",
    )


def _reporting_side(parsed: Parsed, problems: Problems) -> None:
    """``reporting_country`` is one of the BCP's two countries; empty means its ``country_a``.

    Rows whose BCP or country is unknown are already rejected for that (and not twice).
    """
    codes = pd.Series(parsed.values["bcp_code"], dtype=object)
    sides: dict[str, tuple[str, str]] = parsed.refs.tables["bcp_countries"]
    side_a = codes.map({c: ab[0] for c, ab in sides.items()}).to_numpy(dtype=object)
    side_b = codes.map({c: ab[1] for c, ab in sides.items()}).to_numpy(dtype=object)
    given = parsed.values["reporting_country"]
    empty = np.array([v is None for v in given], dtype=bool)
    reporting = np.where(empty, side_a, given)
    known = ~empty & pd.notna(side_a)
    foreign = known & (reporting != side_a) & (reporting != side_b)
    shown_bcp = codes.to_numpy(dtype=object)
    problems.add(
        foreign, "foreign_reporting_country", "reporting_country",
        lambda i: (f"reporting_country {reporting[i]} is not one of the two countries of BCP "
                   f"{shown_bcp[i]} ({side_a[i]}, {side_b[i]})"),
    )
    parsed.values["reporting_country"] = np.where(foreign | pd.isna(reporting), None, reporting)


SPEC = SourceSpec(
    kind="flows",
    table="flow",
    title="crossing flows",
    natural_key=("bcp_code", "reporting_country", "date", "direction", "category"),
    columns=(
        Column("bcp_code", "ref", required=True, ref="bcp", aliases=("bcp",)),
        Column("reporting_country", "ref", ref="country"),
        Column("date", "date", required=True, not_future=True),
        Column("direction", "enum", required=True, choices=DIRECTIONS),
        Column("category", "enum", required=True, choices=FLOW_CATEGORIES),
        Column("count", "int", required=True, min_value=0),
        Column("wait_minutes_avg", "float", min_value=0, max_value=10080),
        Column("wait_minutes_max", "float", min_value=0, max_value=10080),
        Column("lanes_open", "int", min_value=0, max_value=32767),
    ),
    checks=(_wait_order, _reporting_side),
    references=(("bcp_countries", bcp_countries),),
    requires="bcp",
)

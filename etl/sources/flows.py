"""Daily crossing flows per BCP: traffic counts and waiting times.

Natural key: (``bcp_code``, ``date``, ``direction``, ``category``); ``bcp_code`` must be a
known BCP (``bcp.code``). Waiting times follow the US CBP / Green Lanes model (minutes).
"""

from __future__ import annotations

import numpy as np

from etl.validate import Column, Parsed, Problems, SourceSpec
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


SPEC = SourceSpec(
    kind="flows",
    table="flow",
    title="crossing flows",
    natural_key=("bcp_code", "date", "direction", "category"),
    columns=(
        Column("bcp_code", "ref", required=True, ref="bcp", aliases=("bcp",)),
        Column("date", "date", required=True, not_future=True),
        Column("direction", "enum", required=True, choices=DIRECTIONS),
        Column("category", "enum", required=True, choices=FLOW_CATEGORIES),
        Column("count", "int", required=True, min_value=0),
        Column("wait_minutes_avg", "float", min_value=0, max_value=10080),
        Column("wait_minutes_max", "float", min_value=0, max_value=10080),
        Column("lanes_open", "int", min_value=0, max_value=32767),
    ),
    checks=(_wait_order,),
    requires="bcp",
)

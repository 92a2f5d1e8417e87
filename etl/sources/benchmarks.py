"""IBM benchmark assessments: one level per country, round and framework component.

Natural key: (``country``, ``round``, ``component``). ``component`` is an
``ibm_component.component_id`` and ``level`` an ``ibm_level.level`` (reference framework,
``borderwatch load geodata``). ``round`` is a year (2010), half (2024-H1), quarter (2024-Q3),
month (2024-05) or date (2024-05-31); ``round_date`` is the start of that period.
"""

from __future__ import annotations

from etl.validate import Column, SourceSpec

SPEC = SourceSpec(
    kind="benchmarks",
    table="benchmark_assessment",
    title="benchmark assessments",
    natural_key=("country", "round", "component"),
    columns=(
        Column("country", "ref", required=True, ref="country"),
        Column("round", "round", required=True),
        Column("component", "ref", required=True, ref="component", target="component_id",
               aliases=("component_id",)),
        Column("level", "int", required=True, ref="level", min_value=0),
        Column("evidence", "text", max_length=2_000),
        Column("recommendation", "text", max_length=2_000),
        Column("deadline", "date"),
    ),
    requires="component",
)

"""National IBM strategies and action plans: what each country adopted, until when, and how far
its action plan has got.

Natural key: (``country``, ``document``, ``adopted_on``): a new strategy (or a revised one,
adopted again) is a new row; a later file with the same key updates its status or its share of
measures implemented. Documents not yet adopted are not recorded.
"""

from __future__ import annotations

import numpy as np

from etl.validate import Column, Parsed, Problems, SourceSpec
from etl.warehouse.schema import STRATEGY_DOCUMENTS, STRATEGY_STATUSES


def _validity(parsed: Parsed, problems: Problems) -> None:
    """A document cannot expire before it was adopted."""
    adopted = parsed.values["adopted_on"]
    until = parsed.values["valid_until"]
    both = np.isfinite(adopted) & np.isfinite(until)
    bad = both & (np.where(both, until, 0) < np.where(both, adopted, 0))

    def message(i: int) -> str:
        day = np.datetime64(int(until[i]), "D")
        start = np.datetime64(int(adopted[i]), "D")
        return f"valid_until {day} is before adopted_on {start}"

    problems.add(bad, "inconsistent_dates", "valid_until", message)


SPEC = SourceSpec(
    kind="strategies",
    table="national_strategy",
    natural_key=("country", "document", "adopted_on"),
    columns=(
        Column("country", "ref", required=True, ref="country"),
        Column("document", "enum", required=True, choices=STRATEGY_DOCUMENTS),
        Column("adopted_on", "date", required=True, not_future=True),
        Column("title", "text", max_length=500),
        Column("valid_until", "date"),
        Column("status", "enum", required=True, choices=STRATEGY_STATUSES),
        Column("measures_implemented_pct", "float", min_value=0, max_value=100,
               aliases=("implemented_pct",)),
    ),
    checks=(_validity,),
)

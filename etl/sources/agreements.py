"""Joint patrol agreements (``geodata/joint_patrol_agreements.csv``), a part of the reference
geodata loaded by ``borderwatch load geodata``: who may patrol with whom, how deep.

Natural key ``agreement_id``. Not a ``borderwatch load`` kind of its own: the agreements come
with the geodata release, whose loader derives the patrol areas from them
(``etl.derive``). ``depth_km`` is configurable per agreement (only the Serbia-Croatia 5 km
zone is documented; see ``geodata/MANIFEST.md``).
"""

from __future__ import annotations

import numpy as np

from etl.upsert_store import UpsertStore
from etl.validate import Column, Parsed, Problems, SourceSpec

STATUSES = ("documented", "illustrative")


def _valid_period(parsed: Parsed, problems: Problems) -> None:
    """A positive depth, and an end that is not before the start."""
    depth = parsed.values["depth_km"]
    problems.add(np.nan_to_num(depth, nan=1.0) <= 0, "number_out_of_range", "depth_km",
                 lambda i: f"depth_km {depth[i]:g} is not above 0")
    start, end = parsed.values["valid_from"], parsed.values["valid_to"]
    both = np.isfinite(start) & np.isfinite(end)
    problems.add(both & (np.where(both, end, 0) < np.where(both, start, 0)), "bad_date",
                 "valid_to", "valid_to is before valid_from")


SPEC = SourceSpec(
    kind="joint_patrol_agreements",
    table="joint_patrol_agreement",
    title="joint patrol agreements",
    natural_key=("agreement_id",),
    columns=(
        Column("agreement_id", "text", required=True, max_length=32),
        Column("country_a", "ref", required=True, ref="country"),
        Column("country_b", "ref", required=True, ref="country"),
        Column("depth_km", "float", required=True, min_value=0),
        Column("valid_from", "date"),
        Column("valid_to", "date"),
        Column("legal_basis", "text", max_length=500),
        Column("status", "enum", required=True, choices=STATUSES),
        Column("notes", "text"),
    ),
    checks=(_valid_period,),
    duplicates="reject_all",
    store=UpsertStore,
)

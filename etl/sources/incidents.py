"""Incident reports (EUROSUR events layer): columns, types and natural key in one place.

Natural key: (``source``, ``incident_id``). A row is located by ``lat``/``lon`` (WGS84), a
GeoJSON/GeoPackage point, or only a ``bcp_code`` (then placed at that BCP), and enriched on
load with country, nearest border section, nearest BCP and H3 cells (``etl.enrich``).
"""

from __future__ import annotations

from typing import Any

from etl.analytics import rollup
from etl.validate import Column, SourceSpec
from etl.warehouse.schema import IMPACT_LEVELS, INCIDENT_CATEGORIES

#: FRAN-aligned subtypes (1A, 1B, 2, 3, 4, 5, 6, 7), crime, crisis and 'other' subtypes.
SUBTYPES = (
    "between_bcps", "clandestine_at_bcp", "facilitator", "illegal_stay", "refusal_of_entry",
    "asylum_application", "false_document", "return", "secondary_movement",
    "smuggling_goods", "excise_goods", "drugs", "weapons", "trafficking_human_beings",
    "stolen_vehicle", "document_fraud_network",
    "mass_arrival", "natural_disaster", "public_health", "public_order",
    "suspicious_person", "suspicious_vehicle", "suspicious_vessel",
)
DIRECTIONS = ("entry", "exit", "unknown")
DETECTIONS = ("bcp_check", "surveillance", "patrol", "other")
SHARING = ("national", "bilateral", "regional")



def _refresh_rollup(run: Any) -> None:
    """The map's incident summary follows the load, in its transaction."""
    rollup.refresh_after_load(run.conn, run.run_id)


SPEC = SourceSpec(
    kind="incidents",
    table="incident",
    title="incident reports",
    natural_key=("incident_id",),
    skip_known=True,
    source_in_key=True,
    located=True,
    columns=(
        Column("incident_id", "text", required=True, max_length=100, aliases=("id",)),
        Column("occurred_at", "timestamp", required=True, not_future=True),
        Column("lat", "float", target=None, aliases=("latitude",)),
        Column("lon", "float", target=None, aliases=("lng", "long", "longitude")),
        Column("bcp_code", "ref", ref="bcp"),
        Column("category", "enum", required=True, choices=INCIDENT_CATEGORIES),
        Column("subtype", "enum", choices=SUBTYPES),
        Column("persons", "int", min_value=0),
        Column("nationalities", "codes"),
        Column("direction", "enum", choices=DIRECTIONS, default="unknown"),
        Column("detection", "enum", choices=DETECTIONS),
        Column("impact", "enum", choices=IMPACT_LEVELS),
        Column("reporting_country", "ref", ref="country"),
        Column("sharing", "enum", choices=SHARING),
        Column("description", "text", max_length=2_000),
    ),
    after_load=_refresh_rollup,
)

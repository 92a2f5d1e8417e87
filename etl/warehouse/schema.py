"""The warehouse tables (SQLAlchemy Core + GeoAlchemy2). Geometries are stored in EPSG:4326.

This module and ``migrations/`` are the one home of the schema; ``tests/etl/test_migrations.py``
checks that the migrations produce exactly these tables.
"""

from __future__ import annotations

from datetime import date, timedelta

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

SRID = 4326

metadata = MetaData()

IMPACT_LEVELS = ("low", "medium", "high", "very_high")
SECTION_IMPACT_LEVELS = ("low", "medium", "high", "critical")
INCIDENT_CATEGORIES = ("unauthorised_crossing", "cross_border_crime", "crisis", "other")
FLOW_CATEGORIES = ("persons", "cars", "buses", "trucks", "rail")
DIRECTIONS = ("entry", "exit")
#: National IBM documents (``strategies`` input kind) and their status.
STRATEGY_DOCUMENTS = ("ibm_strategy", "action_plan", "schengen_action_plan", "other")
STRATEGY_STATUSES = ("in_force", "under_revision", "expired", "superseded")
#: Training topics and the agencies whose staff take part (``trainings`` input kind).
TRAINING_TOPICS = (
    "ibm_strategy", "risk_analysis", "document_security", "border_checks", "border_surveillance",
    "fundamental_rights", "trafficking_in_human_beings", "migrant_smuggling", "integrity",
    "information_systems", "language", "other",
)
AGENCIES = (
    "border_police", "customs", "phytosanitary", "veterinary", "police", "immigration",
    "prosecution", "coast_guard", "other",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


country = Table(
    "country",
    metadata,
    Column("iso2", String(2), primary_key=True, comment="ISO 3166 alpha-2; XK for Kosovo*"),
    Column("iso3", String(3), nullable=False),
    Column("name", Text, nullable=False, comment="Display name, e.g. 'Kosovo*'"),
    Column("is_target", Boolean, nullable=False, comment="One of the eight administrations"),
    Column("footnote", Text, comment="e.g. the UNSCR 1244 footnote for Kosovo*"),
    Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
)

border_line = Table(
    "border_line",
    metadata,
    Column("pair_id", String(5), primary_key=True, comment="Alphabetical pair, e.g. HU-RS"),
    Column("country_a", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("country_b", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("length_km", Float, nullable=False),
    Column("geom", Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False),
    CheckConstraint("country_a < country_b", name="ck_border_line_pair_order"),
)

border_section = Table(
    "border_section",
    metadata,
    Column("section_id", String(12), primary_key=True, comment="Stable id, e.g. HU-RS-03"),
    Column("pair_id", String(5), ForeignKey("border_line.pair_id"), nullable=False, index=True),
    Column("seq", SmallInteger, nullable=False),
    Column("length_km", Float, nullable=False),
    Column("impact_level", String(10), nullable=False, server_default="low"),
    Column("impact_reason", Text),
    Column("impact_updated_at", DateTime(timezone=True)),
    Column("geom", Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False),
    CheckConstraint(_in("impact_level", SECTION_IMPACT_LEVELS), name="ck_section_impact"),
)

section_impact_history = Table(
    "section_impact_history",
    metadata,
    Column("history_id", BigInteger, primary_key=True, autoincrement=True),
    Column("section_id", String(12), nullable=False,
           comment="border_section.section_id (no foreign key: the history outlives a section "
           "that a new geodata release removes)"),
    Column("level", String(10), nullable=False),
    Column("reason", Text),
    Column("attributed_at", DateTime(timezone=True), nullable=False),
    Column("attributed_by", Text),
    Column("load_run_id", Integer, ForeignKey("load_run.run_id"), nullable=False,
           comment="The impact_levels load that applied it"),
    Index("ix_section_impact_history_section", "section_id", "attributed_at"),
    CheckConstraint(_in("level", SECTION_IMPACT_LEVELS), name="ck_section_impact_history_level"),
    comment="Every impact-level attribution that changed a border section, in load order "
    "(written by borderwatch load impact-levels)",
)

bcp = Table(
    "bcp",
    metadata,
    Column("code", String(32), primary_key=True, comment="Stable code, e.g. RS-HR-BATROVCI"),
    Column("name_a", Text, nullable=False, comment="Local name on country_a's side"),
    Column("name_b", Text, nullable=False, comment="Local name on country_b's side"),
    Column("country_a", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("country_b", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("mode", String(16), nullable=False, comment="road, rail, pedestrian, ..."),
    Column("e_road", Text),
    Column("joint_control", Boolean, nullable=False, server_default="false"),
    Column("one_stop", Boolean, nullable=False, server_default="false"),
    Column("coord_confidence", Text),
    Column("border_distance_m", Float),
    Column("source", Text, nullable=False, server_default="geodata"),
    Column("attrs", JSONB, nullable=False, server_default="{}"),
    Column("geom", Geometry("POINT", srid=SRID, spatial_index=True), nullable=False),
    *_timestamps(),
)

load_run = Table(
    "load_run",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False,
           comment="incidents, flows, benchmarks, bcps, geodata, impact_levels"),
    Column("source", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("checksum", String(64), comment="sha256 of the input file"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(12), nullable=False, server_default="running"),
    Column("dry_run", Boolean, nullable=False, server_default="false"),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rows_inserted", Integer, nullable=False, server_default="0"),
    Column("rows_updated", Integer, nullable=False, server_default="0"),
    Column("rows_unchanged", Integer, nullable=False, server_default="0"),
    Column("rows_rejected", Integer, nullable=False, server_default="0"),
    Column("duration_s", Float),
    Column("message", Text),
    Column("header", ARRAY(Text), comment="Header of the file as written (file loads)"),
    Column("fingerprint", BigInteger, comment="What validated the rows of the load "
           "(etl.validate.fingerprint); NULL: not recorded"),
    CheckConstraint(_in("status", ("running", "succeeded", "failed")), name="ck_load_run_status"),
)

raw_digest_confirmed = Table(
    "raw_digest_confirmed",
    metadata,
    Column("run_id", Integer, nullable=False, comment="The load that validated the rows again "
           "(load_run.run_id; no foreign key: a bulk load would check it per row)"),
    Column("raw_digest", BigInteger, nullable=False),
    Column("content_hash", String(32), nullable=False),
    comment="Stored rows that a load validated again under its fingerprint and found "
            "unchanged: their raw digest and content hash (etl.stores.FactStore.known)",
)

rejected_row = Table(
    "rejected_row",
    metadata,
    Column("reject_id", BigInteger, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("load_run.run_id", ondelete="CASCADE"), nullable=False),
    Column("row_number", Integer, nullable=False, comment="1-based data row in the input file"),
    Column("raw", JSONB, nullable=False, comment="The row as read, every value as original text"),
    Column("reasons", JSONB, nullable=False, comment="[{code, field, message}, ...]"),
    Index("ix_rejected_row_run", "run_id", "row_number"),
)

incident = Table(
    "incident",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("incident_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("category", String(24), nullable=False),
    Column("subtype", String(40)),
    Column("persons", Integer),
    Column("nationalities", ARRAY(String(3))),
    Column("direction", String(8), nullable=False, server_default="unknown"),
    Column("detection", String(16)),
    Column("impact", String(10)),
    Column("reporting_country", String(2)),
    Column("sharing", String(10)),
    Column("description", Text),
    Column("bcp_code", String(32), comment="BCP named in the report"),
    Column("country", String(2), comment="Enriched: country containing the point"),
    Column("section_id", String(12), comment="Enriched: nearest border section"),
    Column("border_distance_m", Float, comment="Enriched: distance to that section"),
    Column("nearest_bcp", String(32), comment="Enriched: nearest BCP within bcp_radius_km"),
    Column("nearest_bcp_m", Float),
    Column("h3_r5", BigInteger),
    Column("h3_r7", BigInteger),
    Column("h3_r9", BigInteger),
    Column("attrs", JSONB, nullable=False, server_default="{}", comment="Unknown extra columns"),
    Column("content_hash", String(32), nullable=False),
    Column("run_id", Integer, comment="Last run that wrote the row (load_run.run_id; no foreign "
           "key: a bulk load would check it per row)"),
    Column("geom", Geometry("POINT", srid=SRID, spatial_index=True), nullable=False),
    *_timestamps(),
    Column("raw_digest", BigInteger, comment="Digest of the row's text as read "
           "(etl.reader.digests, etl.validate.fingerprint); NULL or 0: none. A reload skips "
           "validating the rows it holds"),
    Index("uq_incident_source_id", "source", "incident_id", unique=True),
    Index("ix_incident_occurred_at", "occurred_at"),
    Index("ix_incident_category_time", "category", "occurred_at"),
    Index(
        "ix_incident_h3_r5_time",
        "h3_r5",
        "occurred_at",
        postgresql_include=["id", "category", "subtype", "country", "section_id", "h3_r7", "geom"],
    ),
    CheckConstraint(_in("category", INCIDENT_CATEGORIES), name="ck_incident_category"),
    CheckConstraint("persons IS NULL OR persons >= 0", name="ck_incident_persons"),
)

flow = Table(
    "flow",
    metadata,
    Column("bcp_code", String(32), ForeignKey("bcp.code"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("reporting_country", String(2), ForeignKey("country.iso2"), primary_key=True,
           comment="The side whose service counted: one of the BCP's two countries"),
    Column("direction", String(5), primary_key=True,
           comment="Seen from reporting_country: entry = entering it"),
    Column("category", String(8), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("wait_minutes_avg", Float),
    Column("wait_minutes_max", Float),
    Column("lanes_open", SmallInteger),
    Column("source", Text, nullable=False),
    Column("attrs", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(32), nullable=False),
    Column("run_id", Integer, ForeignKey("load_run.run_id")),
    *_timestamps(),
    Index("ix_flow_date", "date"),
    CheckConstraint(_in("direction", DIRECTIONS), name="ck_flow_direction"),
    CheckConstraint(_in("category", FLOW_CATEGORIES), name="ck_flow_category"),
    CheckConstraint("count >= 0", name="ck_flow_count"),
)

joint_patrol_agreement = Table(
    "joint_patrol_agreement",
    metadata,
    Column("agreement_id", String(32), primary_key=True),
    Column("country_a", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("country_b", String(2), ForeignKey("country.iso2"), nullable=False),
    Column("depth_km", Float, nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("legal_basis", Text),
    Column("status", String(12), nullable=False, comment="documented or illustrative"),
    Column("notes", Text),
    CheckConstraint(_in("status", ("documented", "illustrative")), name="ck_agreement_status"),
    CheckConstraint("depth_km > 0", name="ck_agreement_depth"),
)

joint_patrol_area = Table(
    "joint_patrol_area",
    metadata,
    Column(
        "agreement_id",
        String(32),
        ForeignKey("joint_patrol_agreement.agreement_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("area_km2", Float, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
)

ibm_component = Table(
    "ibm_component",
    metadata,
    Column("component_id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("result_area", Text, nullable=False),
    Column("description", Text),
    Column("legal_ref", Text),
    Column("ordering", SmallInteger, nullable=False),
)

ibm_level = Table(
    "ibm_level",
    metadata,
    Column("level", SmallInteger, primary_key=True),
    Column("label", Text, nullable=False),
    Column("definition", Text, nullable=False),
)

benchmark_assessment = Table(
    "benchmark_assessment",
    metadata,
    Column("country", String(2), ForeignKey("country.iso2"), primary_key=True),
    Column("round", String(32), primary_key=True, comment="Round label, e.g. 2010 or 2024-H1"),
    Column("component_id", String(40), ForeignKey("ibm_component.component_id"), primary_key=True),
    Column("round_date", Date, comment="Date the round is dated to (for ordering)"),
    Column("level", SmallInteger, ForeignKey("ibm_level.level"), nullable=False),
    Column("evidence", Text),
    Column("recommendation", Text),
    Column("deadline", Date),
    Column("source", Text, nullable=False),
    Column("attrs", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(32), nullable=False),
    Column("run_id", Integer, ForeignKey("load_run.run_id")),
    *_timestamps(),
)

national_strategy = Table(
    "national_strategy",
    metadata,
    Column("country", String(2), ForeignKey("country.iso2"), primary_key=True),
    Column("document", String(24), primary_key=True, comment="ibm_strategy, action_plan, ..."),
    Column("adopted_on", Date, primary_key=True),
    Column("title", Text),
    Column("valid_until", Date, comment="Last day of validity; NULL: open-ended"),
    Column("status", String(16), nullable=False),
    Column("measures_implemented_pct", Float,
           comment="Share of the action-plan measures implemented, 0-100"),
    Column("source", Text, nullable=False),
    Column("attrs", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(32), nullable=False),
    Column("run_id", Integer, ForeignKey("load_run.run_id")),
    *_timestamps(),
    CheckConstraint(_in("document", STRATEGY_DOCUMENTS), name="ck_national_strategy_document"),
    CheckConstraint(_in("status", STRATEGY_STATUSES), name="ck_national_strategy_status"),
    CheckConstraint("measures_implemented_pct BETWEEN 0 AND 100",
                    name="ck_national_strategy_pct"),
    CheckConstraint("valid_until IS NULL OR valid_until >= adopted_on",
                    name="ck_national_strategy_validity"),
    comment="National IBM strategies and action plans (borderwatch load strategies)",
)

training = Table(
    "training",
    metadata,
    Column("country", String(2), ForeignKey("country.iso2"), primary_key=True),
    Column("date", Date, primary_key=True, comment="First day of the training"),
    Column("topic", String(32), primary_key=True),
    Column("organiser", Text, primary_key=True),
    Column("agencies", ARRAY(String(16)), nullable=False,
           comment="Agencies whose staff took part (AGENCIES vocabulary)"),
    Column("participants", Integer, nullable=False),
    Column("title", Text),
    Column("source", Text, nullable=False),
    Column("attrs", JSONB, nullable=False, server_default="{}"),
    Column("content_hash", String(32), nullable=False),
    Column("run_id", Integer, ForeignKey("load_run.run_id")),
    *_timestamps(),
    Index("ix_training_date", "date"),
    CheckConstraint(_in("topic", TRAINING_TOPICS), name="ck_training_topic"),
    CheckConstraint("participants >= 0", name="ck_training_participants"),
    CheckConstraint(f"cardinality(agencies) > 0 AND agencies <@ ARRAY[{', '.join(map(repr, AGENCIES))}]"
                    "::varchar[]", name="ck_training_agencies"),
    comment="General and specialised trainings carrying the national IBM strategies "
    "(borderwatch load trainings)",
)

# -- incident rollup (maintained by etl/analytics/rollup.py, read by dashboard/queries/rollup.py)
#
# Derived data: ``incident_rollup`` and its state row are UNLOGGED (4x cheaper to write); a crash
# empties both, readers then fall back to ``incident`` until the next refresh rebuilds them.

#: Bucket lengths in days, each a multiple of the next; buckets start on multiples of the span
#: counted from ``ROLLUP_EPOCH`` (a Monday), so any date range is a few whole buckets.
ROLLUP_SPANS = (448, 112, 28, 7, 1)
ROLLUP_EPOCH = date(1970, 1, 5)

incident_rollup = Table(
    "incident_rollup",
    metadata,
    Column("span", SmallInteger, primary_key=True, comment="Bucket length in days"),
    Column("bucket", Date, primary_key=True, comment="First UTC day of the bucket"),
    Column("cell", BigInteger, primary_key=True, comment="incident.h3_r5, 0 for NULL"),
    Column("country", String(2), primary_key=True, comment="incident.country, '' for NULL"),
    Column("section_id", String(12), primary_key=True, comment="incident.section_id, '' for NULL"),
    Column("n", Integer, nullable=False, comment="Incidents"),
    Column("c", ARRAY(Integer), nullable=False, comment="Incidents per category (INCIDENT_CATEGORIES order)"),
    Column("v", ARRAY(Integer), nullable=False, comment="Incidents per incident_rollup_vocab.slot (1-based)"),
    Column("sx", Float, nullable=False, comment="Sum of longitudes"),
    Column("sy", Float, nullable=False, comment="Sum of latitudes"),
    Column("west", Float, nullable=False, comment="Bounding box of the incidents"),
    Column("south", Float, nullable=False),
    Column("east", Float, nullable=False),
    Column("north", Float, nullable=False),
    Index("ix_incident_rollup_west", "span", "bucket", "west"),
    comment="Incidents per (UTC day bucket, H3 cell, country, border section), per category and "
    "per (category, subtype); rows of the days a load touched are recomputed in its transaction",
    prefixes=["UNLOGGED"],
)

incident_rollup_vocab = Table(
    "incident_rollup_vocab",
    metadata,
    Column("slot", SmallInteger, primary_key=True, comment="Position in incident_rollup.v"),
    Column("category", String(24), nullable=False),
    Column("subtype", String(40), nullable=False, comment="incident.subtype, '' for NULL"),
    Column("n", BigInteger, nullable=False, server_default="0", comment="Incidents with this pair"),
    Index("uq_incident_rollup_vocab", "category", "subtype", unique=True),
)

incident_rollup_state = Table(
    "incident_rollup_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, server_default="1"),
    Column("max_id", BigInteger, nullable=False, server_default="0", comment="Highest incident.id included"),
    Column("version", BigInteger, nullable=False, server_default="0", comment="Refreshes so far"),
    Column("run_id", Integer, comment="Load run of the last refresh"),
    Column("refreshed_at", DateTime(timezone=True)),
    Column("width", Float, nullable=False, server_default="0", comment="Widest row with a cell, degrees"),
    Column("no_cell", BigInteger, nullable=False, server_default="0", comment="Incidents without h3_r5"),
    CheckConstraint("id = 1", name="ck_incident_rollup_state_single"),
    comment="Unlogged like incident_rollup: after a crash both are empty and the next refresh "
    "rebuilds the rollup (readers use incident until then)",
    prefixes=["UNLOGGED"],
)

incident_rollup_dirty = Table(
    "incident_rollup_dirty",
    metadata,
    Column("day", Date, primary_key=True, comment="UTC day of an updated or deleted incident"),
    comment="Filled by triggers on incident (UPDATE, DELETE); emptied by the next refresh",
)


def rollup_bucket(day: date, span: int) -> date:
    """First day of the ``span``-day rollup bucket holding ``day``."""
    return day - timedelta(days=(day - ROLLUP_EPOCH).days % span)


def h3_parent_masks(resolution: int) -> tuple[int, int]:
    """``(keep, set)`` so that ``(cell & keep) | set`` is the parent of a finer H3 cell.

    An H3 index holds its resolution in bits 52-55 and one 3-bit digit per resolution below
    that; digits finer than the cell's resolution are all ones. Both masks are signed 64-bit.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution out of range: {resolution}")
    unused = (1 << ((15 - resolution) * 3)) - 1
    keep = ~((0xF << 52) | unused)
    return keep, (resolution << 52) | unused


# -- hotspot analysis (written by etl/analytics/hotspot_job.py, read by dashboard/queries/hotspots.py)

hotspot_count = Table(
    "hotspot_count",
    metadata,
    Column("step", Date, primary_key=True, comment="First UTC day of the time step"),
    Column("cell", BigInteger, primary_key=True, comment="H3 cell at hotspot_count_state.resolution"),
    Column("c", ARRAY(Integer), nullable=False, comment="Incidents per category (INCIDENT_CATEGORIES order)"),
    comment="Incidents per (time step, H3 cell): the cube of the hotspot analysis, recounted for "
    "the steps that loads changed (hotspot_dirty)",
    prefixes=["UNLOGGED"],
)

hotspot_count_state = Table(
    "hotspot_count_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, server_default="1"),
    Column("resolution", SmallInteger, nullable=False),
    Column("step_days", SmallInteger, nullable=False),
    Column("refreshed_at", DateTime(timezone=True)),
    CheckConstraint("id = 1", name="ck_hotspot_count_state_single"),
    comment="Unlogged like hotspot_count: after a crash both are empty and the next analysis "
    "recounts every step",
    prefixes=["UNLOGGED"],
)

hotspot_dirty = Table(
    "hotspot_dirty",
    metadata,
    Column("day", Date, primary_key=True, comment="UTC day whose incidents a load changed"),
    comment="Filled by every incident load or delete (rollup refresh); marks the hotspot analysis "
    "stale; emptied by the next analysis",
)

HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99")

hotspot_analysis = Table(
    "hotspot_analysis",
    metadata,
    Column("analysis_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("load_run.run_id"), comment="The hotspots run"),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("period_from", Date, nullable=False, comment="First day of the first step"),
    Column("period_to", Date, nullable=False, comment="Last day of the last step"),
    Column("step_days", SmallInteger, nullable=False),
    Column("steps", SmallInteger, nullable=False),
    Column("resolution", SmallInteger, nullable=False, comment="H3 resolution"),
    Column("k", SmallInteger, nullable=False, comment="Rings of neighbours"),
    Column("lag", SmallInteger, nullable=False, comment="Earlier steps in the space-time neighbourhood"),
    Column("zone_km", Float, nullable=False, comment="Depth of the land border zone"),
    Column("alpha", Float, nullable=False, comment="FDR level of a significant bin (patterns)"),
    Column("trend_alpha", Float, nullable=False, comment="Level of the Mann-Kendall trend test"),
    Column("categories", ARRAY(String(24)), nullable=False, comment="Incident categories; empty: all"),
    Column("cells", Integer, nullable=False, comment="Study cells"),
    Column("incidents", Integer, nullable=False, comment="Incidents in the study cells and steps"),
    Column("left_out", Integer, nullable=False, comment="Incidents of the steps outside the study area"),
    Column("significant", Integer, nullable=False, comment="Cells hot or cold at 90 % or more"),
    comment="The current hotspot analysis (one row; a new run replaces it)",
)

hotspot_cell = Table(
    "hotspot_cell",
    metadata,
    Column("analysis_id", Integer, ForeignKey("hotspot_analysis.analysis_id", ondelete="CASCADE"),
           primary_key=True),
    Column("cell", BigInteger, primary_key=True, comment="H3 cell (int64)"),
    Column("lat", Float, nullable=False, comment="Cell centre"),
    Column("lon", Float, nullable=False),
    Column("n", Integer, nullable=False, comment="Incidents over the period"),
    Column("z", Float, nullable=False, comment="Gi* z-score over the period"),
    Column("p", Float, nullable=False, comment="Two-sided p-value"),
    Column("q", Float, nullable=False, comment="Benjamini-Hochberg adjusted p-value"),
    Column("class", String(16), nullable=False),
    Column("pattern", String(32), nullable=False, comment="Emerging hot spot category or no_pattern"),
    Column("trend", SmallInteger, nullable=False, server_default="0",
           comment="Mann-Kendall trend of the space-time z-scores: 1 rising, -1 falling, 0 none"),
    Index("ix_hotspot_cell_position", "analysis_id", "lat", "lon"),
    CheckConstraint(_in("class", HOTSPOT_CLASSES), name="ck_hotspot_cell_class"),
)


section_impact_suggestion = Table(
    "section_impact_suggestion",
    metadata,
    Column("section_id", String(12), primary_key=True,
           comment="border_section.section_id (no foreign key, as section_impact_history)"),
    Column("level", String(10), nullable=False, comment="Suggested impact level"),
    Column("recent", Integer, nullable=False, comment="Incidents in the recent window"),
    Column("baseline", Float, nullable=False, comment="Mean incidents per window over the baseline"),
    Column("ratio", Float, nullable=False, comment="recent / max(baseline, 1)"),
    Column("reason", Text, nullable=False, comment="The evidence, as written to the load format"),
    Column("run_id", Integer, ForeignKey("load_run.run_id"), comment="The impact run"),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_in("level", SECTION_IMPACT_LEVELS), name="ck_section_impact_suggestion_level"),
    comment="Impact levels suggested by borderwatch analyse impact from incident pressure; never "
    "applied by themselves (the decided level is border_section.impact_level)",
)


# -- accounts and audit (written by etl/warehouse/accounts.py and audit.py; see README) -------

#: Roles of dashboard users, most to least seeing (rules in dashboard/queries/scope.py).
ROLES = ("admin", "regional_analyst", "national_officer", "forum_viewer")

app_role = Table(
    "app_role",
    metadata,
    Column("role", String(20), primary_key=True),
    Column("description", Text, nullable=False),
    comment="The roles of dashboard users (filled by the migration; the rules live in code)",
)

app_user = Table(
    "app_user",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, comment="Lower case; unique"),
    Column("role", String(20), ForeignKey("app_role.role"), nullable=False),
    Column("country", String(2), comment="ISO alpha-2 of a national officer's service"),
    Column("password_hash", Text, nullable=False, comment="argon2id (argon2-cffi), never the password"),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("session_epoch", Integer, nullable=False, server_default="0",
           comment="Raised on password change or disable: every older session ends"),
    Column("password_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_login_at", DateTime(timezone=True)),
    *_timestamps(),
    Index("uq_app_user_username", "username", unique=True),
    CheckConstraint("username = lower(username)", name="ck_app_user_username_lower"),
    CheckConstraint("role <> 'national_officer' OR country IS NOT NULL", name="ck_app_user_officer_country"),
)

api_token = Table(
    "api_token",
    metadata,
    Column("token_id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("app_user.user_id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(12), nullable=False, comment="First characters, to recognise a token in lists"),
    Column("token_hash", String(64), nullable=False, comment="sha256 of the token (never the token)"),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("uq_api_token_hash", "token_hash", unique=True),
    Index("ix_api_token_user", "user_id"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", Text, primary_key=True, comment="'user:<name>' or 'addr:<address>'"),
    Column("failures", Integer, nullable=False, server_default="0",
           comment="Failed logins in a row (user) or in the current window (address)"),
    Column("window_start", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("locked_until", DateTime(timezone=True)),
    comment="Failed-login counters per account name (known or not) and per network address",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False, comment="Username, or 'cli:<system user>' for commands"),
    Column("role", String(20), comment="The actor's role at the time"),
    Column("address", Text, comment="Client address, or the host name for commands"),
    Column("action", String(40), nullable=False, comment="e.g. login, login_failed, export, user_add"),
    Column("target", Text, comment="What the action was about (a user, a file, a page)"),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
    comment="Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE",
)

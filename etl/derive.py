"""Derived reference tables: joint patrol areas from the joint patrol agreements.

Border sections are derived offline (``geodata/derive.py``) and shipped as a file; what is
derived here depends on warehouse rows (agreements may change without new geodata).
"""

from __future__ import annotations

import psycopg

#: EPSG:3035 (ETRS89 / LAEA Europe): metric and equal-area, so buffers are in metres and
#: areas in m². Adequate for the Balkan pairs; not meant for pairs far east of Europe.
METRIC_SRID = 3035

_PATROL_AREAS = """
    WITH area AS (
        SELECT a.agreement_id,
               ST_CollectionExtract(
                   ST_Intersection(
                       ST_Buffer(ST_Transform(b.geom, %(metric)s), a.depth_km * 1000.0),
                       ST_Transform(ST_Union(ca.geom, cb.geom), %(metric)s)
                   ), 3) AS geom
        FROM joint_patrol_agreement a
        JOIN border_line b
          ON b.pair_id = LEAST(a.country_a, a.country_b) || '-' || GREATEST(a.country_a, a.country_b)
        JOIN country ca ON ca.iso2 = a.country_a
        JOIN country cb ON cb.iso2 = a.country_b
    ),
    upserted AS (
        INSERT INTO joint_patrol_area AS t (agreement_id, area_km2, geom)
        SELECT agreement_id,
               round((ST_Area(geom) / 1e6)::numeric, 3)::float8,
               ST_Multi(ST_Transform(geom, 4326))
        FROM area
        WHERE NOT ST_IsEmpty(geom)
        ON CONFLICT (agreement_id) DO UPDATE
           SET area_km2 = EXCLUDED.area_km2, geom = EXCLUDED.geom
         WHERE t.area_km2 IS DISTINCT FROM EXCLUDED.area_km2
            OR ST_AsEWKB(t.geom) IS DISTINCT FROM ST_AsEWKB(EXCLUDED.geom)
        RETURNING agreement_id
    )
    SELECT (SELECT count(*) FROM area) AS derived, (SELECT count(*) FROM upserted) AS written
    """

_STALE_AREAS = """
    DELETE FROM joint_patrol_area t
    WHERE NOT EXISTS (
        SELECT 1 FROM joint_patrol_agreement a
        JOIN border_line b
          ON b.pair_id = LEAST(a.country_a, a.country_b) || '-' || GREATEST(a.country_a, a.country_b)
        WHERE a.agreement_id = t.agreement_id
    )
    """


def derive_patrol_areas(db: psycopg.Connection) -> tuple[int, int]:
    """(Re)compute ``joint_patrol_area`` from the agreements, in the caller's transaction.

    Each area is the pair's border line buffered by the agreement's ``depth_km`` and clipped
    to the union of the two countries, computed in EPSG:3035; ``area_km2`` is measured there.
    Rows whose geometry and area are unchanged are left untouched; areas of agreements
    without a border line are removed.

    Returns
    -------
    tuple
        ``(derived, written)``: areas computed and rows inserted or changed.
    """
    db.execute(_STALE_AREAS)
    row = db.execute(_PATROL_AREAS, {"metric": METRIC_SRID}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])

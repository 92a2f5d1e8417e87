"""The one home of the warehouse: schema, engine, embedded cluster, migrations, and every
statement the ETL side runs.

The dashboard reads through ``dashboard/queries`` (SQLAlchemy Core, its gateway). The ETL side
writes SQL one way: **psycopg**, on the driver connection of the job's transaction
(``engine.driver_connection``); a statement is a module constant with ``%s`` / ``%(name)s``
placeholders for every value, or ``psycopg.sql`` composition where a table or column name
varies (``sql.Identifier``), never an f-string holding a value. The loader needs the driver
anyway (binary COPY, arrays of keys), so everything else speaks it too. The statements live
here, in modules named for what they touch:

``runs`` (``load_run``), ``rejects`` (``rejected_row``), ``locks`` (the advisory locks of loads),
``references`` (reference codes and geometries a load checks against), ``facts`` (fact tables:
key lookups, staging, COPY, updates; deleting a source), ``upserts`` (small reference tables),
``section_impact`` (impact levels of border sections), ``seen_keys`` (a load's spilled keys).
The rollup (``etl.analytics.rollup``), the hotspot analysis (``etl.analytics.hotspot_store``),
the impact suggestions (``etl.analytics.impact``) and the derived patrol areas (``etl.derive``)
keep their statements next to their logic, written the same way.
"""

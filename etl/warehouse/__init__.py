"""The one home of the warehouse: schema, engine, embedded cluster, migrations."""

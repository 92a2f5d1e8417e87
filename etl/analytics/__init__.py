"""Batch jobs that write derived tables from the loaded data (the incident rollup, ...)."""

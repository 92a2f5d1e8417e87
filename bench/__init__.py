"""Reproducible benchmarks of borderwatch; results go to ``BENCHMARKS.md``.

Run ``python -m bench --help``. Every benchmark runs against its own embedded PostgreSQL +
PostGIS cluster in ``var/bench`` (never the dev or test clusters), on data written by
``borderwatch demo generate``, and measures its baseline in the same run.
"""

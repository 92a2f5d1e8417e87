"""The input kinds: one module per kind declaring its ``SPEC``, registered here.

To add a kind (the ``flows.py`` module is the model): write ``etl/sources/<kind>.py`` with a
``SPEC = SourceSpec(...)`` (columns and their rules, the natural key, pure cross-column
``checks``), give it its table (a migration; ``etl.stores`` says what a fact table holds),
and register it below with one line. The runner (``etl.load.load_file``), the readers (CSV,
GeoJSON, GeoPackage), the validator, the run record and ``borderwatch load <kind>`` follow.
Then document its columns in ``docs/formats.md``.
"""

from __future__ import annotations

from etl.sources import bcps, benchmarks, flows, impact_levels, incidents, strategies, trainings
from etl.validate import SourceSpec

#: Every input kind by name (``SourceSpec.kind``), in the order the CLI lists them.
KINDS: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Make ``spec`` a kind the runner and the CLI know."""
    KINDS[spec.kind] = spec
    return spec


def unregister(kind: str) -> None:
    """Forget a kind (tests that add a toy kind)."""
    KINDS.pop(kind, None)


register(incidents.SPEC)
register(flows.SPEC)
register(benchmarks.SPEC)
register(strategies.SPEC)
register(trainings.SPEC)
register(impact_levels.SPEC)
register(bcps.SPEC)

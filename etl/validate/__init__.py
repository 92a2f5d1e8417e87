"""Vectorised validation of input rows against a source's declared columns.

Modules: ``spec`` (what an input kind declares: ``Column``, ``SourceSpec``, ``References``,
``Context``, ``Problems``), ``parse`` (vectorised parsers of text columns), ``columns``
(column-by-column checks), ``location`` (points and their checks), ``duplicates`` (in-file
duplicates across chunks, with bounded memory) and ``validator`` (``Validator``: one chunk in,
accepted rows and rejects out). The public names are re-exported here.

Every problem of a row is collected (never only the first) as an ``etl.runs.Reason``; a row
with at least one problem becomes a ``Reject`` carrying its original text. Duplicates inside
one file are tracked across chunks by 2 x 64-bit hashes of the natural key and of the content:
the first occurrence of a key wins; a later row with the same key and the same content is an
*exact duplicate* (counted ``unchanged``, nothing written); a later row with the same key and
different content is rejected as ``duplicate_conflict``.
"""

from etl.validate.duplicates import MEMORY_KEYS, KeyStore, SeenKeys
from etl.validate.spec import (
    DENSE_KINDS,
    EARLIEST,
    FUTURE_TOLERANCE,
    GEOM_LAT,
    GEOM_LON,
    GEOM_TYPE,
    GEOM_WKT,
    INT32_MAX,
    OVERFLOW,
    REGION_BBOX,
    RESERVED,
    ROW,
    TEXT_LIMIT,
    UNREADABLE,
    Column,
    ColumnKind,
    Context,
    Parsed,
    Problems,
    References,
    SourceSpec,
)
from etl.validate.validator import ChunkResult, Validator, default_context

__all__ = [
    "DENSE_KINDS", "EARLIEST", "FUTURE_TOLERANCE", "GEOM_LAT", "GEOM_LON", "GEOM_TYPE",
    "GEOM_WKT", "INT32_MAX", "MEMORY_KEYS", "OVERFLOW", "REGION_BBOX", "RESERVED", "ROW",
    "TEXT_LIMIT", "UNREADABLE",
    "ChunkResult", "Column", "ColumnKind", "Context", "KeyStore", "Parsed", "Problems",
    "References", "SeenKeys", "SourceSpec", "Validator", "default_context",
]

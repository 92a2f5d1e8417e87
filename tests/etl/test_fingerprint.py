"""The row digests and the fingerprint a reload recognises its rows by
(``etl.reader.digests``, ``etl.validate.fingerprint``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from etl.reader.digests import row_digests
from etl.settings import Settings
from etl.sources import KINDS
from etl.validate import REGION_BBOX, Context, References
from etl.validate.fingerprint import fingerprint, mixed

SPEC = KINDS["incidents"]
COLUMNS = ["incident_id", "occurred_at", "lat", "lon"]


def _ctx(**settings: object) -> Context:
    return Context(now=datetime(2026, 12, 7, tzinfo=UTC), region_bbox=REGION_BBOX,
                   settings=Settings(**settings))  # type: ignore[arg-type]


def _refs(**codes: set[str]) -> References:
    return References(codes={"country": {"RS", "HR"}, "bcp": {"RS-HU-HORGOS"}, **codes},
                      bcp_lonlat={"RS-HU-HORGOS": (19.96, 46.16)})


def test_row_digests_tell_rows_apart_by_every_value_and_its_column() -> None:
    table = pa.table({"a": ["x", "ab", "a", "x", ""], "b": ["y", "c", "bc", "y", ""]})
    d = row_digests(table)
    assert d.dtype == np.uint64 and len(d) == 5
    assert d[0] == d[3]  # the same text
    assert len({int(v) for v in d[:3]}) == 3  # "ab"+"c" is not "a"+"bc"
    swapped = row_digests(pa.table({"a": ["y"], "b": ["x"]}))
    assert swapped[0] != d[0]
    again = row_digests(pa.table({"a": ["x"], "b": ["y"]}))  # another chunk, same row
    assert again[0] == d[0]


def test_the_fingerprint_follows_what_validation_reads() -> None:
    base = fingerprint(SPEC, "s", COLUMNS, _refs(), _ctx())
    assert base is not None
    assert fingerprint(SPEC, "s", COLUMNS, _refs(), _ctx()) == base
    later = replace(_ctx(), now=datetime(2030, 1, 1, tzinfo=UTC))
    assert fingerprint(SPEC, "s", COLUMNS, _refs(), later) == base  # not the clock
    # nor a setting validation never reads
    assert fingerprint(SPEC, "s", COLUMNS, _refs(), _ctx(log_level="DEBUG")) == base
    changed = [
        fingerprint(SPEC, "t", COLUMNS, _refs(), _ctx()),
        fingerprint(SPEC, "s", COLUMNS[::-1], _refs(), _ctx()),
        fingerprint(SPEC, "s", COLUMNS, _refs(bcp={"RS-HU-HORGOS", "HR-RS-BAJAKOVO"}), _ctx()),
        fingerprint(SPEC, "s", COLUMNS, replace(_refs(), bcp_lonlat={}), _ctx()),
        fingerprint(SPEC, "s", COLUMNS, _refs(), _ctx(bcp_max_border_km=9.0)),
        fingerprint(SPEC, "s", COLUMNS, _refs(), replace(_ctx(), check_nul=False)),
        fingerprint(KINDS["flows"], "s", COLUMNS, _refs(), _ctx()),
        # the kind's own rules: a category fewer (its vocabulary comes from the schema module)
        fingerprint(_without_category(), "s", COLUMNS, _refs(), _ctx()),
    ]
    assert None not in changed and base not in changed
    assert len(set(changed)) == len(changed)


def _without_category() -> object:
    columns = tuple(replace(c, choices=c.choices[1:]) if c.name == "category" else c
                    for c in SPEC.columns)
    assert columns != SPEC.columns
    return replace(SPEC, columns=columns)


def test_a_reference_without_canonical_text_gives_no_fingerprint() -> None:
    refs = replace(_refs(), tables={"odd": object()})
    assert fingerprint(SPEC, "s", COLUMNS, refs, _ctx()) is None


def test_mixed_digests_are_never_zero_and_depend_on_the_fingerprint() -> None:
    d = np.array([0, 1, 2**64 - 1], dtype=np.uint64)
    a, b = mixed(d, 7), mixed(d, 8)
    assert (a != 0).all() and (b != 0).all() and (a != b).all()
    zero = mixed(np.array([7], dtype=np.uint64), 7)  # x ^ x = 0: still not 0
    assert zero[0] == 1

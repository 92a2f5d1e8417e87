"""In-file duplicates (``etl.validate.duplicates``) against a plain row-by-row account of the
rule: the first valid row of a key is taken; a later valid row with the same key is an exact
duplicate (same content) or a ``duplicate_conflict`` naming that first row; a rejected row
repeating a key taken before it also gets ``duplicate_conflict``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.validate.duplicates import SeenKeys, first_of_key, mark_duplicates
from etl.validate.spec import Problems

# few distinct keys and contents, so that repeats, conflicts and rejected repeats all occur
_ROW = st.tuples(st.one_of(st.none(), st.sampled_from("abcdef")), st.integers(0, 2),
                 st.booleans())


def _account(chunks: list[list[tuple[str | None, int, bool]]]) -> list[tuple[set, set]]:
    """Per chunk: (exact duplicates, {(row, message)} of the conflicts), row by row."""
    taken: dict[str, tuple[int, int]] = {}  # key -> (row, content) of its first valid row
    out, row = [], 0
    for chunk in chunks:
        exact, conflicts = set(), set()
        for key, content, bad in chunk:
            row += 1
            if key is None:
                continue
            if key in taken:
                first, first_content = taken[key]
                if bad or content != first_content:
                    conflicts.add((row, f"same incident_id as row {first} of this file, "
                                        "with different content"))
                else:
                    exact.add(row)
            elif not bad:
                taken[key] = (row, content)
        out.append((exact, conflicts))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_ROW, max_size=12), min_size=1, max_size=3))
def test_duplicates_follow_the_rule_row_by_row(chunks: list[list[tuple]]) -> None:
    seen = SeenKeys()
    row = 0
    for chunk, (exact, conflicts) in zip(chunks, _account(chunks), strict=True):
        n = len(chunk)
        rows = np.arange(row + 1, row + n + 1, dtype=np.int64)
        row += n
        values = {"incident_id": np.array([k for k, _, _ in chunk] + [None], dtype=object)[:n]}
        content = np.array([c for _, c, _ in chunk], dtype=np.uint64)
        bad = np.array([b for _, _, b in chunk], dtype=bool)
        p = Problems(n)
        got = mark_duplicates(seen, ("incident_id",), values, content, bad, rows, p)
        assert set(rows[got].tolist()) == exact
        reasons = p.reasons(np.arange(n))
        assert {(int(rows[i]), r.message) for i, rs in reasons.items() for r in rs} == conflicts
        assert all(r.code == "duplicate_conflict" for rs in reasons.values() for r in rs)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=40))
def test_first_of_key_is_the_first_row_of_each_key(keys: list[tuple[int, int]]) -> None:
    k1 = np.array([a for a, _ in keys], dtype=np.uint64)
    k2 = np.array([b for _, b in keys], dtype=np.uint64)
    first: dict[tuple[int, int], int] = {}
    expected = [first.setdefault(k, i) for i, k in enumerate(keys)]
    assert first_of_key(k1, k2).tolist() == expected

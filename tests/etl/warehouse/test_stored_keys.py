"""A big load classifies its rows against the table's keys read once (``StoredKeys``): the
digests made in Python equal the server's, both ways of classifying give the same result,
and a digest shared by two keys loses no row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pytest
from sqlalchemy import Engine

from etl import stores
from etl.load import load_file
from etl.settings import Settings
from etl.warehouse import facts
from etl.warehouse.stored_keys import (
    HeldRows,
    StoredKeys,
    digest_pieces,
    key_digest,
    key_texts,
)
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q

SQL_KEYS = (
    "CREATE TEMP TABLE bw_keys (name text, day date, n int4, content_hash text);"
    "INSERT INTO bw_keys VALUES ('Horgoš 1', '2024-02-29', 7, '00000000000000ff'),"
    " ('a:b\tc\nd', '1999-12-31', -3, 'ffffffffffffffff'), ('', '2026-01-01', 0, NULL),"
    " ('Ö', '2025-06-30', 2147483647, 'not,hex\"' || chr(10)),"
    " ('say \"hi\",' || chr(10) || '\"', '2024-01-01', 1, '0123456789ABCDEF')"
)


def _conn(engine: Engine) -> psycopg.Connection:
    return psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False), autocommit=True)


def test_python_digests_equal_the_servers(geo_engine: Engine) -> None:
    """Keys with a tab, line ends, quotes and commas, letters beyond ASCII, an empty key."""
    with _conn(geo_engine) as db:
        db.execute(SQL_KEYS)
        cols = facts.table_columns(db, "bw_keys")
        keys = [cols["name"], cols["day"], cols["n"]]
        index = StoredKeys(digest_pieces(facts.stored_key_texts(db, "bw_keys", keys, None)))
        one = StoredKeys(digest_pieces(facts.stored_key_texts(db, "bw_keys", [cols["name"]],
                                                              None)))
        rows = db.execute("SELECT name, day - date '1970-01-01', n FROM bw_keys").fetchall()
    names = np.array([r[0] for r in rows], dtype=object)
    days = np.array([r[1] for r in rows], dtype=np.int64)
    ns = np.array([r[2] for r in rows], dtype=float)  # whole numbers come as floats
    mine = key_digest([key_texts(names, "text"), key_texts(days, "date"), key_texts(ns, "int4")])
    assert sorted(mine.tolist()) == index.keys.tolist()
    assert sorted(key_digest([key_texts(names, "text")]).tolist()) == one.keys.tolist()
    # NULL, a malformed (with a comma, a quote, a line end) and an upper-case hash read as 0
    assert set(index.contents.tolist()) == {0xFF, 0xFFFFFFFFFFFFFFFF, 0}
    # one key column only: the same digests as a one-column table would give
    assert key_digest([["x"]])[0] != key_digest([["x"], ["1970-01-01"]])[0]


def test_classify_new_changed_unchanged_and_shared_digests() -> None:
    def blob(key: int, content: int) -> bytes:
        return key.to_bytes(8, "big") + content.to_bytes(8, "big")

    index = StoredKeys([blob(5, 50) + blob(9, 90), blob(5, 51)])  # digest 5 is shared
    keys = np.array([5, 5, 5, 9, 9, 7], dtype=np.uint64)
    contents = np.array([50, 51, 52, 90, 91, 70], dtype=np.uint64)
    new, changed = index.classify(keys, contents)
    assert new.tolist() == [False, False, False, False, False, True]
    assert changed.tolist() == [False, False, True, False, True, False]
    with pytest.raises(ValueError):
        StoredKeys([b"0" * 47])


@pytest.mark.parametrize("way", ["read once", "per chunk", "every digest shared"])
def test_both_ways_give_the_same_reload(geo_engine: Engine, geo_settings: Settings,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        enriched: list[int], way: str) -> None:
    built: list[StoredKeys] = []

    class Spy(StoredKeys):
        def __init__(self, pieces: list[bytes], **kw: bool) -> None:
            super().__init__(pieces, **kw)
            built.append(self)
            if way == "every digest shared":  # the worst collision: every key has one digest
                self.keys = np.zeros_like(self.keys)
                self.shared = np.arange(len(self.keys) - 1)

    monkeypatch.setattr(stores, "StoredKeys", Spy)
    # every row is classified by its key here, none recognised by its raw digest first
    # (tests/etl/test_load_skip_known.py)
    monkeypatch.setattr(stores.FactStore, "known", lambda self, *a, **k: None)
    if way == "per chunk":  # a file small against the table: keys looked up chunk by chunk
        monkeypatch.setattr(facts, "estimated_rows", lambda db, table: 1e12)
    if way == "every digest shared":
        monkeypatch.setattr(stores, "key_digest",
                            lambda texts: np.zeros(len(texts[0]), dtype=np.uint64))
    first = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert first.inserted == 6
    lines = (DATA / "incidents_good.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",12,", ",13,")  # one changed row
    lines.append(lines[2].replace("RS-2024-0002", "RS-2024-9999"))  # one new row
    edited = tmp_path / "incidents_good.csv"  # the same name: the same source
    edited.write_text("\n".join(lines) + "\n")
    enriched.clear()
    again = load_file(geo_engine, geo_settings, "incidents", edited)
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 5)
    assert sum(enriched) == 2  # classified right: only the new and the changed row enriched
    assert len(built) == (0 if way == "per chunk" else 1)  # the way asked for was taken
    assert _q(geo_engine, "SELECT incident_id, persons FROM incident WHERE incident_id IN "
                          "('RS-2024-0001', 'RS-2024-0002', 'RS-2024-9999') ORDER BY 1") == [
        ("RS-2024-0001", 13), ("RS-2024-0002", 3), ("RS-2024-9999", 3)]


def test_held_rows_are_found_by_their_raw_digest() -> None:
    def blob(raw: int, content: int) -> bytes:
        return raw.to_bytes(8, "big") + content.to_bytes(8, "big")

    held = HeldRows([blob(500, 50) + blob(2**64 - 3, 90), blob(700, 70)])
    hit, content = held.known(np.array([700, 500, 0, 900, 501, 2**64 - 3], dtype=np.uint64))
    assert hit.tolist() == [True, True, False, False, False, True]  # 0: no digest, never held
    assert content.tolist() == [70, 50, 0, 0, 0, 90]
    assert not HeldRows([]).known(np.array([500], dtype=np.uint64))[0].any()
    with pytest.raises(ValueError):
        HeldRows([b"0" * 24])

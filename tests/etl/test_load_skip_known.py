"""A reload does not validate again the rows the table holds exactly as they are read
(``SourceSpec.skip_known``, ``etl.validate.fingerprint``): same counts, same rejects with the
same reasons, same rows as a reload that validates every row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.load import load_file
from etl.reader import InputFile, csvfile
from etl.report import LoadReport
from etl.settings import Settings
from etl.stores import FactStore
from etl.validate.validator import Validator
from tests.conftest import settings_for
from tests.support import query_rows as _q

HEADER = ("incident_id,occurred_at,lat,lon,bcp_code,category,subtype,persons,nationalities,"
          "direction,detection,impact,reporting_country,sharing,description")


def _row(iid: str, persons: int = 2, lat: str = "46.1500", day: str = "2024-05-01") -> str:
    return (f"{iid},{day}T02:15:00+02:00,{lat},19.9000,,unauthorised_crossing,between_bcps,"
            f"{persons},SYR;AFG,entry,surveillance,medium,RS,bilateral,Seen near the fence")


def _files(tmp_path: Path, ragged: bool) -> tuple[Path, Path]:
    first = [_row(f"A{i:03d}", persons=i % 7) for i in range(400)]
    first.append(_row("BAD-1", day="2024-13-01"))
    second = [_row(f"A{i:03d}", persons=i % 7) for i in range(280)]  # held as read
    # the same content in other words (46.15): validated, unchanged
    second += [_row(f"A{i:03d}", persons=i % 7, lat="46.15") for i in range(340, 400)]
    second += [_row(f"A{i:03d}", persons=i % 7 + 1) for i in range(300, 340)]  # changed
    second += [_row(f"N{i:03d}") for i in range(12)]  # new
    second += [
        _row("A005", persons=5),  # an exact repeat of a row held as read (row 6)
        _row("A010", persons=6),  # other content for the key of row 11: duplicate_conflict
        _row("A030", day="2024-13-01"),  # invalid, and repeats the key of row 31
        _row("BAD-1", day="2024-13-01"),  # still invalid
    ]
    # a changed row first, then the same key held as read: the held one conflicts (A200:
    # the two in different chunks; A250: in the same chunk)
    second.insert(250, _row("A250", persons=6))
    second.insert(150, _row("A200", persons=6))
    if ragged:  # Arrow stops before it, pandas reads on without digests: rows validated
        second.append(_row("R-1") + ",surplus")
    second += [_row(f"A{i:03d}", persons=i % 7) for i in range(280, 300)]
    one, two = tmp_path / "v1.csv", tmp_path / "v2.csv"
    one.write_text("\n".join([HEADER, *first]) + "\n")
    two.write_text("\n".join([HEADER, *second]) + "\n")
    return one, two


def _rejects(engine: Engine, report: LoadReport) -> list[tuple[Any, ...]]:
    return _q(engine, "SELECT row_number, raw, reasons FROM rejected_row WHERE run_id = :r"
              " ORDER BY row_number, reject_id", r=report.run_id)


def _table(engine: Engine, source: str) -> list[tuple[Any, ...]]:
    return _q(engine, """SELECT incident_id, content_hash, persons, ST_AsText(geom), country,
                                raw_digest IS NOT NULL AND raw_digest <> 0
                         FROM incident WHERE source = :s ORDER BY incident_id""", s=source)


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of each part of a chunk that is validated."""
    sizes: list[int] = []
    check = Validator._check

    def counting(self: Validator, frame: Any) -> Any:
        sizes.append(len(frame))
        return check(self, frame)

    monkeypatch.setattr(Validator, "_check", counting)
    return sizes


@pytest.mark.parametrize("ragged", [False, True], ids=["arrow", "ragged row"])
def test_a_reload_skips_the_rows_held_as_read_with_the_same_outcome(
    geo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: list[int],
    ragged: bool,
) -> None:
    settings = settings_for(geo_engine.url.render_as_string(hide_password=False),
                            load_chunk_rows=100)
    monkeypatch.setattr(csvfile, "ARROW_BLOCK", 4096)  # Arrow reads up to the ragged row
    one, two = _files(tmp_path, ragged)
    outcome = {}
    for source, skip in (("skip", True), ("all", False)):
        with monkeypatch.context() as m:
            if not skip:  # every row validated, from frames of Python strings
                m.setattr(FactStore, "known", lambda self, *a, **k: None)
                m.setattr(InputFile, "lazy_text", property(lambda self: False,
                                                           lambda self, value: None))
            load_file(geo_engine, settings, "incidents", one, source=source, memory_keys=50)
            validated.clear()
            report = load_file(geo_engine, settings, "incidents", two, source=source,
                               memory_keys=50)
            outcome[source] = (report, sum(validated))
    (skipped, n_skip), (full, n_full) = outcome["skip"], outcome["all"]
    assert n_full == full.read == 418 + ragged
    if ragged:  # the rows Arrow gave before it read ahead to the ragged row are skipped
        assert full.read - 301 < n_skip < full.read - 150
    else:  # 301 rows held as read (A000-A299 and the repeat of A005) are not validated, even
        # A200's and A250's, which then conflict with the changed copies before them
        assert n_skip == full.read - 301
    counts = ("read", "inserted", "updated", "unchanged", "rejected")
    assert [getattr(skipped, c) for c in counts] == [getattr(full, c) for c in counts]
    assert (full.inserted, full.updated, full.unchanged, full.rejected) == (12, 42, 359,
                                                                           5 + ragged)
    assert skipped.reject_codes == full.reject_codes
    assert _rejects(geo_engine, skipped) == _rejects(geo_engine, full)
    assert _table(geo_engine, "skip") == _table(geo_engine, "all")
    # every row has its digest but those written from rows pandas read (no digest: 0)
    held = [row[-1] for row in _table(geo_engine, "skip")]
    if ragged:  # rows written from what pandas read have no digest (0)
        assert len(held) - 200 < sum(held) < len(held)
        return
    assert all(held)
    # The file again: the rows written or confirmed by the second load are held now (the
    # changed and new ones, the 46.15 ones, confirmed as read); no new confirmation.
    confirmed = _q(geo_engine, "SELECT count(*) FROM raw_digest_confirmed")
    assert confirmed[0][0] >= 60
    validated.clear()
    third = load_file(geo_engine, settings, "incidents", two, source="skip", memory_keys=50)
    assert (third.inserted, third.updated, third.rejected) == (0, 0, full.rejected)
    assert sum(validated) < n_skip - 100
    assert _q(geo_engine, "SELECT count(*) FROM raw_digest_confirmed") == confirmed


def test_a_reference_change_validates_every_row_again_once(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path, validated: list[int]
) -> None:
    path = tmp_path / "bcp.csv"
    path.write_text("\n".join([
        HEADER, *[_row(f"A{i:03d}") for i in range(200)],
        "B-1,2024-05-01,,,RS-HU-HORGOS,unauthorised_crossing,clandestine_at_bcp,3,AFG,exit,"
        "bcp_check,low,RS,national,Hidden in a truck"]) + "\n")
    first = load_file(geo_engine, geo_settings, "incidents", path)
    assert (first.inserted, first.rejected) == (201, 0)
    validated.clear()
    again = load_file(geo_engine, geo_settings, "incidents", path)
    assert (again.unchanged, again.rejected, sum(validated)) == (201, 0, 0)
    before = _q(geo_engine, "SELECT incident_id, updated_at, raw_digest FROM incident"
                " ORDER BY 1")
    with geo_engine.begin() as conn:
        conn.execute(text("CREATE TABLE bcp_kept AS SELECT * FROM bcp WHERE code = 'RS-HU-HORGOS'"))
        conn.execute(text("DELETE FROM bcp WHERE code = 'RS-HU-HORGOS'"))
    validated.clear()
    after = load_file(geo_engine, geo_settings, "incidents", path)
    assert (after.unchanged, after.rejected) == (200, 1)  # validated again, and refused
    assert list(after.reject_codes) == ["unknown_bcp_code"], after.reject_codes
    assert sum(validated) == 201
    # no row was rewritten: the 200 unchanged ones are confirmed under the new fingerprint
    now = _q(geo_engine, "SELECT incident_id, updated_at, raw_digest FROM incident ORDER BY 1")
    assert now == before
    assert _q(geo_engine, "SELECT count(*) FROM raw_digest_confirmed") == [(200,)]
    validated.clear()
    last = load_file(geo_engine, geo_settings, "incidents", path)
    assert (last.unchanged, last.rejected, sum(validated)) == (200, 1, 1)  # skipped again
    # the BCP back: every row is held under the first fingerprint again (B-1 too: its row
    # stayed while it was refused)
    with geo_engine.begin() as conn:
        conn.execute(text("INSERT INTO bcp SELECT * FROM bcp_kept"))
    validated.clear()
    back = load_file(geo_engine, geo_settings, "incidents", path)
    assert (back.unchanged, back.rejected, sum(validated)) == (201, 0, 0)
    # another BCP gone (no row names it): a third fingerprint; its confirmations replace the
    # second's
    with geo_engine.begin() as conn:
        conn.execute(text("DELETE FROM bcp WHERE code = (SELECT min(code) FROM bcp"
                          " WHERE code <> 'RS-HU-HORGOS')"))
    validated.clear()
    third = load_file(geo_engine, geo_settings, "incidents", path)
    assert (third.unchanged, third.rejected, sum(validated)) == (201, 0, 201)
    assert _q(geo_engine, "SELECT count(*) FROM raw_digest_confirmed c JOIN load_run r"
                          " USING (run_id) GROUP BY r.run_id") == [(201,)]


def test_a_content_hash_edited_outside_is_repaired_as_by_a_full_validation(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path, validated: list[int]
) -> None:
    path = tmp_path / "edited.csv"
    path.write_text("\n".join([HEADER, *[_row(f"A{i:03d}") for i in range(150)]]) + "\n")
    load_file(geo_engine, geo_settings, "incidents", path)
    right = _q(geo_engine, "SELECT content_hash FROM incident WHERE incident_id = 'A007'")
    with geo_engine.begin() as conn:  # a quote, a comma and a line end: the CSV must hold
        conn.execute(text("UPDATE incident SET content_hash = 'x\",\ny' "
                          "WHERE incident_id = 'A007'"))
    validated.clear()
    again = load_file(geo_engine, geo_settings, "incidents", path)
    assert (again.updated, again.unchanged, sum(validated)) == (1, 149, 1)
    assert _q(geo_engine, "SELECT content_hash FROM incident WHERE incident_id = 'A007'") == right

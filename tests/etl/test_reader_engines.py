"""etl.reader.csvfile: whichever reader reads a row (Arrow, pandas, the csv module), the chunks
are the same. Generated files of awkward text are read with the Arrow path first and with pandas
alone, and must give the same frames, row numbers and chunk sizes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.reader import csvfile, open_input
from etl.sources import incidents
from etl.validate import OVERFLOW, ROW

HEADER = "incident_id,occurred_at,lat,lon,category\n"
#: Characters that make CSV hard: delimiters, quotes, every line ending, blanks, non-ASCII.
AWKWARD = st.text(alphabet='ab,"\n\r \t;é€', max_size=120)


#: Arrow's block sizes: tiny ones put block boundaries inside quoted values and long rows.
BLOCKS = st.sampled_from([16, 64, csvfile.ARROW_BLOCK])


def _read(path: Path, chunk_rows: int, *, arrow: bool) -> list[pd.DataFrame]:
    inp = open_input(path, incidents.SPEC, chunk_rows)
    chunks = csvfile.csv_chunks(inp) if arrow else csvfile._pandas_chunks(inp, skip=0)
    return [c.frame for c in chunks]


def _same(path: Path, chunk_rows: int, block: int = csvfile.ARROW_BLOCK) -> list[pd.DataFrame]:
    default, csvfile.ARROW_BLOCK = csvfile.ARROW_BLOCK, block
    try:
        fast = _read(path, chunk_rows, arrow=True)
    finally:
        csvfile.ARROW_BLOCK = default
    plain = _read(path, chunk_rows, arrow=False)
    assert [len(f) for f in fast] == [len(f) for f in plain]
    for a, b in zip(fast, plain, strict=True):
        if OVERFLOW not in a.columns and OVERFLOW in b.columns:
            assert (b[OVERFLOW] == "").all()
            b = b.drop(columns=OVERFLOW)
        elif OVERFLOW in a.columns and OVERFLOW not in b.columns:
            assert (a[OVERFLOW] == "").all()
            a = a.drop(columns=OVERFLOW)
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    return fast


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=AWKWARD, chunk_rows=st.integers(1, 4), block=BLOCKS)
def test_awkward_text_reads_the_same_by_every_reader(tmp_path: Path, body: str,
                                                      chunk_rows: int, block: int) -> None:
    path = tmp_path / "incidents_fuzz.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    _same(path, chunk_rows, block)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(AWKWARD.filter(lambda v: "\r" not in v), min_size=3, max_size=7),
                     max_size=12),
       chunk_rows=st.integers(1, 5), block=BLOCKS)
def test_rows_written_by_the_csv_module_read_the_same(tmp_path: Path, rows: list[list[str]],
                                                     chunk_rows: int, block: int) -> None:
    """Quoted values, short and long rows, among well-formed ones: the readers hand over."""
    import csv

    path = tmp_path / "incidents_rows.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER)
        csv.writer(fh).writerows(rows)
    _same(path, chunk_rows, block)


@pytest.mark.parametrize("bad", ["short,row", "a,b,c,d,e,f,g", "   ", '""', "a,b,c,d,e,"])
def test_arrow_hands_over_at_a_row_it_cannot_read(tmp_path: Path, bad: str) -> None:
    good = [f"r{i},2024-05-01,45,19,other" for i in range(25)]
    path = tmp_path / "incidents_handover.csv"
    path.write_text(HEADER + "\n".join(good[:13] + [bad] + good[13:]) + "\n")
    frames = _same(path, 4)
    frame = pd.concat(frames, ignore_index=True)
    assert frame[ROW].tolist() == list(range(1, len(frame) + 1))
    assert frame["incident_id"].tolist()[-1] == "r24"


def test_a_line_break_inside_quotes_is_part_of_the_value(tmp_path: Path) -> None:
    """Both halves of this value look like whole rows of five fields to a reader that ends a
    row at every line break."""
    path = tmp_path / "incidents_multiline.csv"
    path.write_text(HEADER + 'r1,2024-05-01,45,19,"x\ny,1,2,3,4"\nr2,2024-05-01,45,19,other\n')
    frame = pd.concat(_same(path, 10, block=48), ignore_index=True)
    assert frame["category"].tolist() == ["x\ny,1,2,3,4", "other"]
    assert frame[ROW].tolist() == [1, 2]


@pytest.mark.parametrize("rows", [8, 9])
def test_progress_follows_the_rows_given_not_arrows_read_ahead(tmp_path: Path, rows: int) -> None:
    """The load estimates the file's rows from the bytes done (and decides by it how to write);
    Arrow reads far ahead of the rows it gives, so the file's position would overstate it."""
    path = tmp_path / "incidents_progress.csv"
    path.write_text(HEADER + "".join(f"r{i},2024-05-01,45,19,other\n" for i in range(rows)))
    inp = open_input(path, incidents.SPEC, 2)
    done = [c.done for c in csvfile._arrow_chunks(inp)]
    line = len("r0,2024-05-01,45,19,other\n")
    assert done[0] == len(HEADER) + 2 * line  # not the whole file, which Arrow has read
    assert done == sorted(done) and done[-1] == path.stat().st_size


@pytest.mark.parametrize("bad", ["short,row", "   ", "a,b,c,d,e,f,g"])
def test_pandas_goes_on_after_the_rows_arrow_gave(tmp_path: Path, bad: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With small blocks Arrow gives whole chunks before it meets the bad row; pandas then
    reads on from the next row, not from the first."""
    good = [f"r{i},2024-05-01,45,19,other" for i in range(40)]
    path = tmp_path / "incidents_late.csv"
    path.write_text(HEADER + "\n".join(good[:30] + [bad] + good[30:]) + "\n")
    skips: list[int] = []
    pandas_chunks = csvfile._pandas_chunks

    def spy(inp, skip):  # type: ignore[no-untyped-def]
        skips.append(skip)
        return pandas_chunks(inp, skip)

    monkeypatch.setattr(csvfile, "_pandas_chunks", spy)
    frame = pd.concat(_same(path, 4, block=128), ignore_index=True)
    assert skips[0] >= 8  # (then _same's own pandas-only read, from 0)
    rows = 41 if bad.strip() else 40  # a blank-looking line is no row
    assert frame[ROW].tolist() == list(range(1, rows + 1))
    assert frame["incident_id"].tolist()[-1] == "r39"


@pytest.mark.parametrize("body", ["", "\n\n", "\r\n"])
def test_a_file_of_no_rows_is_one_empty_chunk(tmp_path: Path, body: str) -> None:
    path = tmp_path / "incidents_empty_body.csv"
    path.write_text(HEADER + body)
    assert [len(f) for f in _same(path, 10)] == [0]

"""What an opened input file is (``InputFile``), what it yields (``Chunk``), and the limits
of what ``open_input`` accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etl.validate import SourceSpec

#: A header with more columns, or longer than this, is refused before anything is read.
MAX_COLUMNS = 1000
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class Chunk:
    """Rows of one chunk: ``frame`` of strings (see ``etl.reader``), position for progress."""

    frame: pd.DataFrame
    done: int  # bytes (CSV) or features (others) consumed so far
    total: int
    #: Digest of each row as read (``etl.reader.digests``), when the reader made them.
    digests: np.ndarray | None = None


@dataclass
class InputFile:
    """An opened input: its header mapping, then ``chunks()`` to stream the rows."""

    path: Path
    spec: SourceSpec
    chunk_rows: int
    fmt: str
    headers: list[str]  # as written
    columns: list[str]  # names used in the frames (declared name, or the original header)
    extras: tuple[str, ...] = ()
    raw_names: dict[str, str] = field(default_factory=dict)
    total: int = 0
    checksum: str = ""  # sha256 of the file
    has_nul: bool = False  # a NUL byte (CSV) or a \u0000 escape (GeoJSON) somewhere
    header_lines: int = 1  # physical lines of a CSV header
    layer: str | None = None  # the layer read (GeoPackage)
    has_geometry: bool = False  # GeoJSON/GeoPackage features have a geometry column
    fid_column: str = ""  # GeoPackage: the feature id column of the layer's table
    text_fields: list[str] = field(default_factory=list)  # GeoJSON/GeoPackage text fields
    notes: list[str] = field(default_factory=list)  # what people should know about the read
    reader: Callable[[InputFile], Iterator[Chunk]] | None = None
    #: Give Arrow's text columns as they are (``pd.ArrowDtype``), not as Python strings: the
    #: validator turns a column into objects when it reads it (``ColumnChecker.raw``), so a
    #: reload that skips most rows (``etl.validate.fingerprint``) makes strings of the keys
    #: only. Only the Arrow CSV reader makes such frames.
    lazy_text: bool = False

    def chunks(self) -> Iterator[Chunk]:
        """Yield the rows in chunks of at most ``chunk_rows``."""
        assert self.reader is not None
        yield from self.reader(self)

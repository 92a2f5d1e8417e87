"""General and specialised trainings that carry the national IBM strategies.

Natural key: (``country``, ``date``, ``topic``, ``organiser``): one row per course and day
(several sessions of one course on one day are one row with their participants added up).
``agencies`` lists the agencies whose staff took part, ``;``-separated (a joint training names
several); ``participants`` is the number of people trained, all agencies together.
"""

from __future__ import annotations

import numpy as np

from etl.validate import Column, Parsed, Problems, SourceSpec
from etl.validate.parse import show, suggest
from etl.warehouse.schema import AGENCIES, TRAINING_TOPICS


def _token(value: str) -> str:
    return "_".join(value.strip().lower().replace("-", " ").replace("/", " ").split())


def _agencies(parsed: Parsed, problems: Problems) -> None:
    """``agencies``: a ``;``-separated list of known agencies, stored normalised (duplicates
    dropped, order kept)."""
    raw = parsed.values["agencies"]
    out = np.empty(len(raw), dtype=object)
    unknown: dict[int, list[str]] = {}
    for i, text in enumerate(raw.tolist()):
        if text is None:
            out[i] = None
            continue
        names = [_token(t) for t in str(text).split(";") if t.strip()]
        bad = [n for n in names if n not in AGENCIES]
        if bad or not names:
            unknown[i] = bad or [str(text)]
            out[i] = None
        else:
            out[i] = ";".join(dict.fromkeys(names))
    mask = np.zeros(len(raw), dtype=bool)
    mask[list(unknown)] = True

    def message(i: int) -> str:
        first = unknown[i][0]
        hint = suggest(first, AGENCIES) or f" (valid: {', '.join(AGENCIES)})"
        return f"unknown agency {show(first)}{hint}"

    problems.add(mask, "unknown_agency", "agencies", message)
    parsed.values["agencies"] = out


SPEC = SourceSpec(
    kind="trainings",
    table="training",
    natural_key=("country", "date", "topic", "organiser"),
    columns=(
        Column("country", "ref", required=True, ref="country"),
        Column("date", "date", required=True, not_future=True),
        Column("topic", "enum", required=True, choices=TRAINING_TOPICS),
        Column("organiser", "text", required=True, max_length=200),
        Column("agencies", "text", required=True, max_length=500, aliases=("agency",)),
        Column("participants", "int", required=True, min_value=0, max_value=100_000),
        Column("title", "text", max_length=500),
    ),
    checks=(_agencies,),
)

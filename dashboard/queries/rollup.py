"""Map queries answered from the incident rollup (``etl/analytics/rollup.py``), exactly.

The rollup counts incidents per (bucket of UTC days, ``h3_r5`` cell, country, border section),
per category (``c``) and per (category, subtype) slot (``v``), with the coordinate sums and
the bounding box of each row. A date range is a few whole buckets (:func:`buckets`); category
and subtype filters pick elements of ``c`` or ``v``, country and border-pair filters pick rows,
so every filter is answered exactly. For a viewport, a cell whose matching incidents' bounding
box lies inside it counts whole; the incidents of the other cells it touches (the *edge*) are
read from ``incident``, but only in the (cell, bucket) *spots* where the rollup says matching
ones are (:func:`spots`, index-only scans of ``ix_incident_h3_r5_time``). The rollup is used
only when it covers every incident (:func:`current`); otherwise
:mod:`dashboard.queries.incidents` reads ``incident`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Float,
    SmallInteger,
    Subquery,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
)

from dashboard.queries.gateway import Reader, ScopeMissing, scope
from dashboard.queries.raw import BBox
from dashboard.viewstate import Filters
from etl.warehouse.schema import (
    INCIDENT_CATEGORIES,
    ROLLUP_EPOCH,
    ROLLUP_SPANS,
    border_section,
    h3_parent_masks,
    incident,
    incident_rollup,
    incident_rollup_dirty,
    incident_rollup_state,
    incident_rollup_vocab,
)

r = incident_rollup


@dataclass(frozen=True)
class Rollup:
    """The rollup as one snapshot sees it (only returned when it covers every incident).

    Attributes
    ----------
    width
        Widest row with a cell, in degrees of longitude: a row meeting a viewport has its
        west edge at most this far west of the viewport.
    no_cell
        Incidents without an ``h3_r5`` cell (read from ``incident`` in viewport queries).
    slots
        ``(slot, category, subtype)`` of every position of ``incident_rollup.v``
        (subtype ``''`` stands for none).
    """

    width: float
    no_cell: int
    slots: tuple[tuple[int, str, str], ...]


def current(reader: Reader) -> Rollup | None:
    """The rollup, if it includes every incident and no change is pending; else None."""
    state = incident_rollup_state
    vocab = (
        select(func.array_agg(func.json_build_array(incident_rollup_vocab.c.slot,
                                                    incident_rollup_vocab.c.category,
                                                    incident_rollup_vocab.c.subtype)))
        .scalar_subquery()
    )
    row = reader.one(
        select(
            state.c.max_id,
            state.c.width,
            state.c.no_cell,
            select(func.coalesce(func.max(incident.c.id), 0)).scalar_subquery().label("top"),
            exists(select(incident_rollup_dirty.c.day)).label("dirty"),
            vocab.label("slots"),
        ).where(state.c.id == 1, scope().everything)
    )
    if row is None or row["dirty"] or int(row["max_id"]) != int(row["top"]):
        return None
    slots = tuple(sorted((int(s), str(c), str(t)) for s, c, t in row["slots"] or []))
    return Rollup(width=float(row["width"]), no_cell=int(row["no_cell"]), slots=slots)


def buckets(first: date, last: date) -> list[tuple[int, date]]:
    """``(span, start)`` of the fewest rollup buckets that cover ``first``..``last`` exactly.

    Left to right, the longest aligned bucket that starts on the current day and ends by
    ``last``: at most 6 days, 3 weeks, 3 of 28 days and 3 of 112 days on either side of the
    448-day buckets. Empty if ``first`` is after ``last``.
    """
    out: list[tuple[int, date]] = []
    day, end, epoch = first.toordinal(), last.toordinal() + 1, ROLLUP_EPOCH.toordinal()
    while day < end:
        span = next(s for s in ROLLUP_SPANS if (day - epoch) % s == 0 and day + s <= end)
        out.append((span, date.fromordinal(day)))
        day += span
    return out


# -- what a filter selects ------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """SQL of the matching incidents of a rollup row: in total and per category."""

    total: ColumnElement[Any]
    per_category: dict[str, ColumnElement[Any]]
    empty: bool


def measure(rollup: Rollup, filters: Filters) -> Measure:
    """What the category and subtype filters keep of a row, as SQL: ``n``, elements of the
    per-category counts ``c``, or (with a subtype filter) slots of ``v``."""
    cats, subs = set(filters.categories), set(filters.subtypes)
    if not subs:
        per = {cat: r.c.c[k] if not cats or cat in cats else literal(0)
               for k, cat in enumerate(INCIDENT_CATEGORIES, 1)}
        kept = [per[cat] for cat in INCIDENT_CATEGORIES if not cats or cat in cats]
        total = r.c.n if not cats else _sum(kept)
        return Measure(total=total, per_category=per, empty=not kept)
    keep = [(s, c) for s, c, t in rollup.slots if (not cats or c in cats) and t in subs]
    per = {cat: _sum([func.coalesce(r.c.v[s], 0) for s, c in keep if c == cat])
           for cat in INCIDENT_CATEGORIES}
    return Measure(total=_sum([func.coalesce(r.c.v[s], 0) for s, _ in keep]), per_category=per,
                   empty=not keep)


def _sum(terms: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    if not terms:
        return literal(0)
    out = terms[0]
    for term in terms[1:]:
        out = out + term
    return out


def _in_buckets(filters: Filters, first: date | None = None) -> Any:
    """The rollup joined to the buckets of the filters' date range (from ``first`` if given)."""
    parts = buckets(first or filters.date_from, filters.date_to)
    wanted = (
        func.unnest(bindparam("spans", [s for s, _ in parts], ARRAY(SmallInteger)),
                    bindparam("starts", [d for _, d in parts], ARRAY(Date)))
        .table_valued("span", "bucket")
        .render_derived(name="wanted")
    )
    return wanted.join(r, and_(r.c.span == wanted.c.span, r.c.bucket == wanted.c.bucket))


def row_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """Country and border-pair filters on rollup rows (NULLs are stored as ``''``)."""
    conds: list[ColumnElement[bool]] = []
    if filters.countries:
        conds.append(r.c.country.in_(filters.countries))
    if filters.pairs:
        conds.append(r.c.section_id.in_(
            select(border_section.c.section_id).where(border_section.c.pair_id.in_(filters.pairs))))
    return conds


# -- counts ----------------------------------------------------------------------------------


def count(reader: Reader, rollup: Rollup, filters: Filters) -> int:
    """Incidents matching ``filters`` anywhere."""
    m = measure(rollup, filters)
    if m.empty:
        return 0
    row = reader.one(
        select(func.coalesce(func.sum(m.total), 0).label("n"))
        .select_from(_in_buckets(filters))
        .where(*row_conditions(filters), scope().everything)
    )
    return int(row["n"]) if row else 0


def by_country(reader: Reader, rollup: Rollup, filters: Filters) -> dict[str, dict[str, int]]:
    """Incidents matching ``filters`` per country (``''``: outside every country) and category."""
    m = measure(rollup, filters)
    if m.empty:
        return {}
    rows = reader.all(
        select(r.c.country, *[func.sum(m.per_category[cat]).label(cat) for cat in INCIDENT_CATEGORIES])
        .select_from(_in_buckets(filters))
        .where(*row_conditions(filters), scope().everything)
        .group_by(r.c.country)
    )
    return {row["country"]: {cat: int(row[cat] or 0) for cat in INCIDENT_CATEGORIES} for row in rows}


def subtypes(reader: Reader) -> dict[str, list[str]]:
    """Category -> subtypes with at least one incident."""
    v = incident_rollup_vocab
    rows = reader.all(
        select(v.c.category, v.c.subtype).where(v.c.n > 0, v.c.subtype != "")
        .order_by(v.c.category, v.c.subtype)
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["category"], []).append(row["subtype"])
    return out


# -- viewports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """The incidents of one ``h3_r5`` cell that match the filters (in the date range).

    ``inside`` when their bounding box lies in the viewport (then all of them are in view).
    """

    cell: int
    n: int
    per_category: dict[str, int]
    lon: float
    lat: float
    inside: bool


def cells(reader: Reader, rollup: Rollup, filters: Filters, box: BBox, *, detail: bool = True
          ) -> list[Cell]:
    """Every cell with matching incidents whose bounding box meets ``box``.

    Rows are found through ``ix_incident_rollup_west``: a row meeting the box has its west edge
    within ``rollup.width`` west of the box. Without ``detail`` the counts per category and the
    centres are left out (zero): cheaper, for hexagons. The centres are the mean of the cell's
    incidents (one incident's own position when it is alone), so only a scope that sees every
    incident may ask for them.
    """
    if detail and scope().restricted:
        raise ScopeMissing("rollup cell centres are means of incident positions: not for a restricted scope")
    m = measure(rollup, filters)
    if m.empty:
        return []
    whole_rows = m.total is r.c.n  # no category or subtype filter: every incident of a row
    share = literal(1.0) if whole_rows else m.total / func.cast(r.c.n, Float)
    extra = [
        *[func.sum(expr).label(cat) for cat, expr in m.per_category.items()],
        func.sum(r.c.sx if whole_rows else r.c.sx * share).label("sx"),
        func.sum(r.c.sy if whole_rows else r.c.sy * share).label("sy"),
    ] if detail else []
    stmt = (
        select(
            r.c.cell,
            func.sum(m.total).label("n"),
            *extra,
            func.min(r.c.west).label("west"),
            func.min(r.c.south).label("south"),
            func.max(r.c.east).label("east"),
            func.max(r.c.north).label("north"),
        )
        .select_from(_in_buckets(filters))
        .where(
            r.c.cell != 0,
            r.c.west >= bindparam("w_min", box.west - rollup.width, Float),
            r.c.west <= bindparam("w_max", box.east, Float),
            r.c.east >= bindparam("e_min", box.west, Float),
            r.c.south <= bindparam("s_max", box.north, Float),
            r.c.north >= bindparam("n_min", box.south, Float),
            m.total > 0,
            *row_conditions(filters),
            scope().everything,
        )
        .group_by(r.c.cell)
    )
    out = []
    for row in reader.all(stmt):
        n = int(row["n"])
        inside = box.holds(row["west"], row["south"], row["east"], row["north"])
        out.append(Cell(
            cell=int(row["cell"]), n=n,
            per_category={c: int(row[c]) if detail else 0 for c in INCIDENT_CATEGORIES},
            lon=float(row["sx"]) / n if detail else 0.0, lat=float(row["sy"]) / n if detail else 0.0,
            inside=inside))
    return out


def spots(rollup: Rollup, filters: Filters, cell_ids: Sequence[int] | None = None,
          first: date | None = None) -> Subquery:
    """``(cell, lo, hi)``: each cell and bucket time range holding matching incidents.

    Parameters
    ----------
    cell_ids
        Only these cells (default: every cell).
    first
        Only the buckets from this day on (default: the whole date range).
    """
    m = measure(rollup, filters)
    lo = func.timezone("UTC", cast(r.c.bucket, DateTime))
    hi = func.timezone("UTC", cast(r.c.bucket + r.c.span, DateTime))
    conds = [r.c.cell != 0, m.total > 0, *row_conditions(filters), scope().everything]
    if cell_ids is not None:
        conds.append(r.c.cell == any_(bindparam("spot_cells", sorted(set(cell_ids)), ARRAY(BigInteger))))
    return (
        select(r.c.cell, lo.label("lo"), hi.label("hi"))
        .distinct()
        .select_from(_in_buckets(filters, first))
        .where(*conds)
        .subquery("spot")
    )


def newest_first_day(reader: Reader, rollup: Rollup, filters: Filters, limit: int) -> date | None:
    """The start of the latest bucket from which on at least ``limit`` incidents match (the
    first day of the range if fewer do); None if none match."""
    m = measure(rollup, filters)
    if m.empty:
        return None
    stmt = (
        select(r.c.bucket, func.sum(m.total).label("n"))
        .select_from(_in_buckets(filters))
        .where(*row_conditions(filters), scope().everything)
        .group_by(r.c.bucket)
        .order_by(r.c.bucket.desc())
    )
    seen = 0
    for row in reader.all(stmt):
        seen += int(row["n"])
        if seen >= limit:
            return row["bucket"]  # type: ignore[no-any-return]
    return filters.date_from if seen else None


def parent_counts(reader: Reader, rollup: Rollup, filters: Filters, resolution: int,
                  cover: Sequence[int]) -> dict[int, int]:
    """Matching incidents per H3 cell at ``resolution`` (at most 5), for the cells in ``cover``.

    Whole cells: every matching incident of a cell counts, wherever it lies in the cell, so
    the answer depends on the cells asked for and never on a viewport's edge.
    """
    m = measure(rollup, filters)
    if m.empty or not cover:
        return {}
    parent = h3_parent_sql(r.c.cell, resolution)
    stmt = (
        select(parent.label("cell"), func.sum(m.total).label("n"))
        .select_from(_in_buckets(filters))
        .where(r.c.cell != 0, m.total > 0, *row_conditions(filters), scope().everything,
               parent == any_(bindparam("cover", sorted(set(cover)), ARRAY(BigInteger))))
        .group_by(parent)
    )
    return {int(row["cell"]): int(row["n"]) for row in reader.all(stmt) if int(row["n"])}


def h3_parent_sql(column: Any, resolution: int) -> Any:
    """SQL: the parent at ``resolution`` of the H3 ``r5`` cells in ``column`` (the column itself at 5)."""
    if resolution == 5:
        return column
    keep, setbits = h3_parent_masks(resolution)
    return column.op("&")(bindparam(f"keep_{resolution}", keep, BigInteger)).op("|")(
        bindparam(f"setbits_{resolution}", setbits, BigInteger))


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)

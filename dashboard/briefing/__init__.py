"""The forum briefing pack: a PDF for the heads of services to take away from a forum meeting.

``build_briefing(engine, request)`` reads every figure at generation time through the same
query functions as the pages (:mod:`dashboard.briefing.data`), draws the static map with
matplotlib (:mod:`dashboard.briefing.figures`) and lays the pack out with ReportLab
(:mod:`dashboard.briefing.document`, :mod:`dashboard.briefing.sections`). The same function
serves ``borderwatch briefing`` and the button on the benchmarks page.

ReportLab rather than WeasyPrint: it needs no system library (WeasyPrint needs Pango, an apt
install on every machine and in the Docker image), lays out a 12-page pack with tables in well
under a second, and its flowables give exact control of repeated table headers, landscape pages
and the footer on every page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from dashboard.briefing.data import COLLECT_STEPS, BriefingRequest, Reader, collect
from dashboard.queries.scope import Scope

__all__ = ["Briefing", "BriefingRequest", "Reader", "build_briefing", "operator_scope", "reader_for", "steps"]

#: The sharing level printed on a pack that holds every incident, whatever its own level:
#: its most restrictive content is national-only.
FULL_ACCESS_SHARING = "national (full access)"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Briefing:
    """A generated pack."""

    pdf: bytes
    pages: int
    seconds: float
    filename: str


def operator_scope(name: str = "operator (command line, full access)") -> Reader:
    """The reader of a pack made with full access: the operator at the command line."""
    return Reader(name=name, sharing=FULL_ACCESS_SHARING)


def reader_for(scope: Scope) -> Reader:
    """The reader of a pack made for a dashboard user: named with their role, and the footer
    says what that role sees (its figures follow the same scope as the user's pages)."""
    if not scope.restricted:
        return Reader(name=f"{scope.user} ({scope.role.replace('_', ' ')})", sharing=FULL_ACCESS_SHARING)
    return Reader(name=f"{scope.user} ({scope.role.replace('_', ' ')})", sharing=scope.sharing_level)


def steps(admins: int) -> int:
    """How many progress steps a pack with ``admins`` administrations reports."""
    return COLLECT_STEPS + 1 + admins + 1


def build_briefing(engine: Engine, request: BriefingRequest,
                   progress: Progress | None = None) -> Briefing:
    """Generate the pack for ``request``.

    Parameters
    ----------
    engine
        The warehouse (a read engine is enough).
    request
        Period, round and the reader whose access the pack follows.
    progress
        Told ``(step label, steps done, steps in total)`` as the work goes on.

    Raises
    ------
    QueryError, DatabaseUnavailable
        A query failed or timed out; nothing was produced.
    """
    from dashboard.briefing.document import render
    from dashboard.briefing.figures import regional_map

    began = time.monotonic()
    done = 0
    total = steps(8)

    def step(label: str) -> None:
        nonlocal done
        if progress is not None:
            progress(label, done, total)
        done += 1

    data = collect(engine, request, step)
    total = steps(len(data.admins))
    step("drawing the map")
    picture = regional_map(data)
    pdf, pages = render(data, picture, step)
    if progress is not None:
        progress("done", total, total)
    f = request.filters
    name = f"borderwatch-briefing-{data.round or 'none'}-{f.date_from}-{f.date_to}.pdf"
    return Briefing(pdf=pdf, pages=pages, seconds=time.monotonic() - began, filename=name)

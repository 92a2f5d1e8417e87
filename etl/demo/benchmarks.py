"""Illustrative IBM benchmark assessments: every target country x framework component x round.

Levels mostly improve from round to round (at a pace that differs by country and component),
with the odd step back; every level below the top carries a recommendation and a deadline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from etl.demo.reference import TARGETS, Reference

BENCHMARK_COLUMNS = (
    "country", "round", "component", "level", "evidence", "recommendation", "deadline",
)
#: The programme's own rounds (2009-2011), then later follow-up rounds.
ROUNDS = (2009, 2010, 2011, 2015, 2020, 2025)
#: Relative pace of reform (illustrative), and components that move faster or slower.
PACE = {"HR": 1.0, "ME": 0.75, "RS": 0.7, "MK": 0.65, "AL": 0.6, "TR": 0.55, "BA": 0.5,
        "XK": 0.45}
EASIER = frozenset({"border_control", "inter_agency_cooperation", "cooperation_third_countries",
                    "information_exchange", "education_and_training"})
HARDER = frozenset({"use_of_technology", "research_and_innovation", "quality_control",
                    "solidarity_mechanisms", "cooperation_union_bodies", "search_and_rescue"})

_EVIDENCE = (
    "No {name} arrangements found in the {round} round; no responsible unit designated.",
    "{name}: action plan drafted and piloted at {k} BCP(s); not yet applied service-wide.",
    "{name} applied at the main BCPs and in {k} of {m} regional directorates; monitoring "
    "incomplete.",
    "{name} applied throughout the service; results reviewed yearly by the IBM coordination "
    "body.",
)
_RECOMMENDATION = (
    "Designate a lead unit for {name} and adopt an action plan with a budget line.",
    "Move from pilot to practice: extend {name} to all main BCPs and train the staff concerned.",
    "Extend {name} to the whole service and set up monitoring indicators.",
    "",
)


def rounds_until(end: dt.date) -> tuple[int, ...]:
    """The assessment rounds that lie before the end of the demo window."""
    return tuple(r for r in ROUNDS if r <= end.year)


def write_benchmarks(path: Path, ref: Reference, *, end: dt.date, seed: int) -> int:
    """Write the assessments to ``path``; return rows written."""
    rng = np.random.default_rng([seed, 300])
    rounds = rounds_until(end)
    rows = []
    for country in TARGETS:
        for component, name in ref.components.items():
            rows.extend(_history(rng, country, component, name, rounds, ref.levels))
    frame = pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)
    frame.to_csv(path, index=False, lineterminator="\n")
    return len(frame)


def _history(
    rng: np.random.Generator, country: str, component: str, name: str, rounds: tuple[int, ...],
    levels: tuple[int, ...],
) -> list[tuple[object, ...]]:
    low, high = min(levels), max(levels)
    ease = 0.15 if component in EASIER else -0.15 if component in HARDER else 0.0
    pace = PACE.get(country, 0.5) * (1 + ease)
    level = int(np.clip(low + (rng.random() < 0.4) + (country == "HR"), low, high))
    out: list[tuple[object, ...]] = []
    previous = rounds[0]
    for year in rounds:
        if year != previous:
            level += int(min(2, rng.poisson(0.32 * pace * (year - previous))))
            if rng.random() < 0.04:
                level -= 1  # the odd step back: staff turnover, a strategy that lapsed
            level = int(np.clip(level, low, high))
        previous = year
        top = level >= high
        step = min(level - low, len(_EVIDENCE) - 1)
        words = {"name": name.lower() if step == 0 else name, "round": year,
                 "k": int(rng.integers(1, 6)), "m": int(rng.integers(5, 13))}
        evidence = _EVIDENCE[step if not top else -1].format(**words)
        recommendation = "" if top else _RECOMMENDATION[step].format(name=name.lower())
        half = int(rng.integers(0, 2))
        deadline = "" if top else str(dt.date(year + 1 + int(rng.integers(0, 2)),
                                              (6, 12)[half], (30, 31)[half]))
        out.append((country, str(year), component, level,
                    f"Illustrative demo assessment. {evidence}", recommendation, deadline))
    return out

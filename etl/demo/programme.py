"""Illustrative national IBM strategies, action plans and trainings of the eight administrations.

The programme's second result (national IBM strategies carried by trainings), made up: each
country adopts a strategy and its action plan, renews them about every five years (sooner when
it reforms faster, see ``etl.demo.benchmarks.PACE``), and trains its border police and partner
agencies every year, more on the IBM strategy and risk analysis in the programme years
2009-2011. No date, title, organiser or count is real; titles say so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from etl.demo.benchmarks import PACE
from etl.demo.reference import TARGETS
from etl.warehouse.schema import TRAINING_TOPICS

STRATEGY_COLUMNS = (
    "country", "document", "adopted_on", "title", "valid_until", "status",
    "measures_implemented_pct",
)
TRAINING_COLUMNS = ("country", "date", "topic", "organiser", "agencies", "participants", "title")
#: First year of the demo's programme history (the seed programme ran 2009-2011).
FIRST_YEAR = 2009
#: Generic organisers: the demo names no real institution as the organiser of a made-up course.
ORGANISERS = (
    "National border police training centre",
    "Customs administration training unit",
    "National IBM coordination body",
    "International partner (illustrative)",
    "Regional programme (illustrative)",
)
#: Relative weight of each topic; the programme years add weight to the first two.
TOPIC_WEIGHT = {
    "ibm_strategy": 2.0, "risk_analysis": 2.0, "document_security": 1.5, "border_checks": 1.5,
    "border_surveillance": 1.2, "fundamental_rights": 0.8, "trafficking_in_human_beings": 0.8,
    "migrant_smuggling": 0.8, "integrity": 0.6, "information_systems": 0.8, "language": 0.5,
    "other": 0.3,
}
#: Chance that staff of each partner agency join a training (border police always do).
PARTNER_AGENCIES = (("customs", 0.35), ("police", 0.15), ("phytosanitary", 0.08),
                    ("veterinary", 0.08), ("immigration", 0.06), ("prosecution", 0.04))


def _label(value: str) -> str:
    return value.replace("_", " ")


def write_strategies(path: Path, *, end: dt.date, seed: int) -> int:
    """Write ``strategies.csv`` (strategies and action plans up to ``end``); return rows."""
    rng = np.random.default_rng([seed, 400])
    rows: list[tuple[object, ...]] = []
    for country in TARGETS:
        rows.extend(_strategies(rng, country, end))
    frame = pd.DataFrame(rows, columns=STRATEGY_COLUMNS)
    frame.to_csv(path, index=False, lineterminator="\n")
    return len(frame)


def _strategies(rng: np.random.Generator, country: str, end: dt.date) -> list[tuple[object, ...]]:
    pace = PACE.get(country, 0.5)
    year = FIRST_YEAR - 2 + int(round((1.0 - pace) * 5))
    periods: list[tuple[dt.date, dt.date]] = []
    while True:
        adopted = dt.date(year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        if adopted > end:
            break
        length = int(rng.integers(4, 6))
        periods.append((adopted, dt.date(year + length, 12, 31)))
        year += length + (0 if rng.random() < pace else 1)
    out: list[tuple[object, ...]] = []
    for n, (adopted, until) in enumerate(periods):
        latest = n == len(periods) - 1
        if until < end:
            status = "expired" if latest else "superseded"
        else:
            status = "under_revision" if (until - end).days < 300 else "in_force"
        span = f"{adopted.year}-{until.year}"
        plan_day = min(adopted + dt.timedelta(days=int(rng.integers(20, 120))), end)
        elapsed = min(1.0, max(0.0, (end - plan_day).days / max(1, (until - plan_day).days)))
        pct = round(float(np.clip(elapsed * (45 + 50 * pace) + rng.normal(0, 4), 0, 100)), 1)
        out.append((country, "ibm_strategy", adopted.isoformat(),
                    f"Illustrative demo: national IBM strategy {span}", until.isoformat(),
                    status, ""))
        out.append((country, "action_plan", plan_day.isoformat(),
                    f"Illustrative demo: IBM action plan {span}", until.isoformat(), status,
                    f"{pct:g}"))
    return out


def write_trainings(path: Path, *, end: dt.date, seed: int) -> int:
    """Write ``trainings.csv`` (every course from 2009 to ``end``); return rows."""
    rng = np.random.default_rng([seed, 500])
    rows: list[tuple[object, ...]] = []
    for country in TARGETS:
        rows.extend(_trainings(rng, country, end))
    frame = pd.DataFrame(rows, columns=TRAINING_COLUMNS).sort_values(["date", "country"],
                                                                      kind="stable")
    frame.to_csv(path, index=False, lineterminator="\n")
    return len(frame)


def _trainings(rng: np.random.Generator, country: str, end: dt.date) -> list[tuple[object, ...]]:
    pace = PACE.get(country, 0.5)
    topics = list(TRAINING_TOPICS)
    seen: set[tuple[str, str, str]] = set()
    out: list[tuple[object, ...]] = []
    for year in range(FIRST_YEAR, end.year + 1):
        weights = np.array([TOPIC_WEIGHT[t] * (2.5 if year <= 2011 and t in ("ibm_strategy",
                            "risk_analysis") else 1.0) for t in topics])
        last_day = min(end, dt.date(year, 12, 31))
        days = (last_day - dt.date(year, 1, 1)).days + 1
        for _ in range(int(rng.poisson((8 + 14 * pace) * days / 365))):
            day = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, days)))
            topic = str(rng.choice(topics, p=weights / weights.sum()))
            organiser = str(rng.choice(ORGANISERS))
            key = (day.isoformat(), topic, organiser)
            if key in seen:
                continue
            seen.add(key)
            agencies = ["border_police"] + [a for a, p in PARTNER_AGENCIES if rng.random() < p]
            participants = int(rng.integers(8, 26)) + 6 * (len(agencies) - 1)
            out.append((country, day.isoformat(), topic, organiser, ";".join(agencies),
                        participants, f"Illustrative demo training: {_label(topic)}"))
    return out

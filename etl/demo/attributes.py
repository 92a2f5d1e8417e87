"""Per-incident attributes drawn once the place is known: time, persons, nationalities, ...

Every function is vectorised over a block of incidents described by :class:`Located`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.demo import profiles as P
from etl.demo.rhythm import utc_offset_hours

KINDS: tuple[tuple[str, P.Subtype], ...] = tuple(P.SUBTYPES.items())
KIND_NAMES = np.array([name for name, _ in KINDS], dtype=object)
KIND_CATEGORY = np.array([s.category for _, s in KINDS], dtype=object)
_NOBODY_POSSIBLE = np.isin(KIND_CATEGORY, ["cross_border_crime", "other", "crisis"])
_INDEX = {name: i for i, (name, _) in enumerate(KINDS)}


def kind_index(name: str) -> int:
    """Index of a subtype name in :data:`KINDS`."""
    return _INDEX[name]


@dataclass
class Located:
    """A block of incidents whose kind, day and place are decided."""

    kind: np.ndarray  # index into KINDS
    day: np.ndarray  # datetime64[D]
    lon: np.ndarray  # NaN when only bcp_code locates the incident
    lat: np.ndarray
    bcp_code: np.ndarray  # object, "" when not at a named BCP
    country: np.ndarray  # reporting country, iso2 (where it happened)
    neighbour: np.ndarray  # the country across the border
    route: np.ndarray  # key of profiles.NATIONALITIES
    at_bcp: np.ndarray  # bool: at a crossing point (named or by a point next to it)


def local_times(rng: np.random.Generator, loc: Located) -> tuple[np.ndarray, np.ndarray]:
    """Occurrence times: UTC instants (for ordering) and ISO 8601 strings with local offset."""
    n = len(loc.kind)
    night = np.array([s.night for _, s in KINDS])[loc.kind]
    hour = np.where(
        night,
        rng.choice(24, size=n, p=_norm(P.NIGHT_HOURS)),
        rng.choice(24, size=n, p=_norm(P.DAY_HOURS)),
    )
    seconds = hour * 3600 + rng.integers(0, 60, n) * 60 + rng.integers(0, 60, n)
    local = loc.day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    offset = utc_offset_hours(loc.day, loc.country)
    utc = local - (offset * 3600).astype("timedelta64[s]")
    text = np.char.add(
        np.datetime_as_string(local, unit="s").astype("U19"),
        np.where(offset == 3, "+03:00", np.where(offset == 2, "+02:00", "+01:00")),
    )
    return utc, text.astype(object)


def persons(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Persons per incident: log-normal, heavy-tailed, capped; crime may involve no one caught."""
    mu = np.array([s.persons[0] for _, s in KINDS])[kind]
    sigma = np.array([s.persons[1] for _, s in KINDS])[kind]
    cap = np.array([s.persons[2] for _, s in KINDS])[kind]
    n = np.clip(np.rint(np.exp(rng.normal(mu, sigma))), 1, cap).astype(np.int64)
    nobody = _NOBODY_POSSIBLE[kind] & (rng.random(len(kind)) < 0.15)
    return np.where(nobody, 0, n)


def nationalities(
    rng: np.random.Generator, loc: Located, count: np.ndarray
) -> np.ndarray:
    """One to three ISO alpha-3 codes per incident, ``;``-separated; empty when nobody."""
    n = len(loc.kind)
    locals_share = np.array([s.locals for _, s in KINDS])[loc.kind]
    regional = rng.random(n) < locals_share
    picks = np.empty((n, 3), dtype="U3")
    for route, mix in P.NATIONALITIES.items():
        idx = np.flatnonzero((loc.route == route) & ~regional)
        picks[idx] = _draw(rng, mix, (len(idx), 3))
    idx = np.flatnonzero(regional)
    picks[idx] = _draw(rng, P.REGIONAL_NATIONALITIES, (len(idx), 3))
    own = regional & (rng.random(n) < 0.5)
    local = np.array([P.LOCAL_NATIONALITY.get(c, "TUR") for c in loc.country], dtype="U3")
    picks[own, 0] = local[own]
    k = 1 + (count > 1) * ((rng.random(n) < 0.3).astype(int) + (rng.random(n) < 0.07))
    second = np.where((k >= 2) & (picks[:, 1] != picks[:, 0]), np.char.add(";", picks[:, 1]), "")
    third = np.where(
        (k >= 3) & (picks[:, 2] != picks[:, 0]) & (picks[:, 2] != picks[:, 1]),
        np.char.add(";", picks[:, 2]),
        "",
    )
    joined = np.char.add(np.char.add(picks[:, 0], second), third)
    return np.where(count > 0, joined, "").astype(object)


def directions(rng: np.random.Generator, loc: Located) -> np.ndarray:
    """Entry/exit from the reporting country's view, following the route; some unknown."""
    n = len(loc.kind)
    rank_c = np.array([P.ROUTE_RANK.get(c, 0) for c in loc.country])
    rank_n = np.array([P.ROUTE_RANK.get(c, 0) for c in loc.neighbour])
    u = rng.random(n)
    along = np.where(rank_n < rank_c, "entry", np.where(rank_n > rank_c, "exit", ""))
    coin = np.where(rng.random(n) < 0.5, "entry", "exit")
    along = np.where(along == "", coin, along)
    flipped = np.where(along == "entry", "exit", "entry")
    out = np.where(u < 0.85, along, np.where(u < 0.93, flipped, "unknown")).astype(object)
    name = KIND_NAMES[loc.kind]
    out[name == "refusal_of_entry"] = "entry"
    out[name == "asylum_application"] = "entry"
    out[name == "return"] = "exit"
    stay = name == "illegal_stay"
    out[stay] = np.where(rng.random(int(stay.sum())) < 0.8, "unknown", out[stay])
    goods = np.isin(name, ["smuggling_goods", "excise_goods", "drugs", "weapons",
                          "stolen_vehicle"])
    out[goods] = np.where(rng.random(int(goods.sum())) < 0.55, "entry", "exit")
    return out


def detection(rng: np.random.Generator, kind: np.ndarray, at_bcp: np.ndarray) -> np.ndarray:
    """How the incident was detected: checks at BCPs, patrols and surveillance elsewhere."""
    out = np.empty(len(kind), dtype=object)
    for k, (_, spec) in enumerate(KINDS):
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        names = list(spec.detection)
        out[idx] = rng.choice(names, size=len(idx), p=_norm(tuple(spec.detection.values())))
    out[at_bcp & (rng.random(len(kind)) < 0.85)] = "bcp_check"
    out[~at_bcp & (out == "bcp_check")] = "patrol"
    return out


def impact(rng: np.random.Generator, kind: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Indicative impact: mostly low/medium, raised by group size and by the kind of event."""
    base = np.array([s.impact for _, s in KINDS])[kind]
    score = base + 0.45 * np.log1p(count) + rng.normal(0.0, 0.55, len(kind))
    level = np.digitize(score, [1.1, 2.0, 2.7])
    return np.array(["low", "medium", "high", "very_high"], dtype=object)[level]


def sharing(rng: np.random.Generator, level: np.ndarray) -> np.ndarray:
    """Sharing scope: mostly national; high-impact events more often shared regionally."""
    u = rng.random(len(level))
    high = np.isin(level, ["high", "very_high"])
    bilateral = np.where(high, 0.35, 0.65)
    regional = np.where(high, 0.65, 0.9)
    return np.where(u < bilateral, "national", np.where(u < regional, "bilateral", "regional"))


_TEMPLATES = {
    "between_bcps": "Group intercepted on foot between crossing points",
    "clandestine_at_bcp": "Persons found hidden in a vehicle at the crossing",
    "facilitator": "Suspected facilitator apprehended with a group",
    "illegal_stay": "Persons without legal stay found during an inland check",
    "refusal_of_entry": "Entry refused at first-line check",
    "asylum_application": "Asylum request lodged at the border",
    "false_document": "Forged or counterfeit travel document detected",
    "return": "Return escorted through the crossing",
    "smuggling_goods": "Undeclared excise goods seized",
    "drugs": "Narcotics seized",
    "weapons": "Weapons or ammunition seized",
    "stolen_vehicle": "Vehicle reported stolen in SIS/Interpol detected",
    "trafficking_human_beings": "Suspected trafficking in human beings, victims referred",
    "secondary_movement": "Persons moving on irregularly after an earlier entry",
    "excise_goods": "Cigarettes or fuel above the allowance seized",
    "mass_arrival": "Large group gathered at the border line",
    "public_order": "Disturbance at the border, reinforcement requested",
    "natural_disaster": "Flooding or fire affecting border surveillance",
    "public_health": "Health screening of travellers, suspected infectious disease",
    "suspicious_person": "Suspicious person observed near the border",
    "suspicious_vehicle": "Suspicious vehicle observed near the border",
}


def descriptions(kind: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Short free text per incident, marked as illustrative demo data."""
    text = np.array([_TEMPLATES[name] for name, _ in KINDS], dtype=object)[kind]
    noun = np.where(count == 1, " person", " persons").astype(object)
    return text + " (" + count.astype(str).astype(object) + noun + "; illustrative demo record)"


def _draw(rng: np.random.Generator, mix: dict[str, float], size: tuple[int, int]) -> np.ndarray:
    return rng.choice(np.array(list(mix), dtype="U3"), size=size, p=_norm(tuple(mix.values())))


def _norm(weights: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()

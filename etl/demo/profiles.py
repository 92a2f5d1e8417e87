"""The illustrative numbers behind the demo: route weights, incident mix, nationalities, traffic.

Orders of magnitude follow public pictures of the region (Frontex FRAN/WB-RAN categories, the
Western Balkan and Eastern Mediterranean routes, the busiest crossings named in DOMAIN.md), but
every figure here is invented for the demo: none is a statistic.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Position along the main irregular-migration routes, upstream (low) to downstream (high).
#: Crossing from a lower to a higher rank is the usual direction (an entry for the higher one).
ROUTE_RANK: dict[str, int] = {
    "IR": -1, "IQ": -1, "SY": -1, "AM": -1, "AZ": -1, "GE": -1,
    "TR": 0, "GR": 1, "BG": 1, "MK": 2, "AL": 2, "XK": 3, "ME": 3, "RS": 3,
    "BA": 4, "RO": 4, "HU": 5, "HR": 5, "SI": 6,
}

#: Share of between-BCP pressure per border pair and the route it belongs to. Pairs not listed
#: get ``DEFAULT_PAIR``. Western Balkan route: GR-MK-RS-HU/HR(+BG-RS, RO-RS, BA); Eastern
#: Mediterranean land border: TR-GR (Evros/Meriç), TR-BG; coastal route: AL-ME-BA-HR.
PAIR_PRESSURE: dict[str, tuple[float, str]] = {
    "HU-RS": (13.0, "wb"), "GR-MK": (9.0, "wb"), "MK-RS": (6.0, "wb"), "BG-RS": (5.5, "wb"),
    "BA-HR": (9.0, "coastal"), "HR-RS": (3.5, "wb"), "BA-RS": (3.5, "wb"), "HR-SI": (3.5, "wb"),
    "RO-RS": (2.5, "wb"), "HR-HU": (0.8, "wb"), "BG-MK": (0.8, "wb"), "RS-XK": (0.6, "wb"),
    "MK-XK": (0.6, "wb"),
    "GR-TR": (9.0, "em"), "BG-TR": (7.0, "em"), "IR-TR": (5.0, "east"), "SY-TR": (2.5, "syria"),
    "IQ-TR": (0.8, "east"),
    "AL-GR": (4.0, "coastal"), "AL-ME": (3.0, "coastal"), "BA-ME": (2.2, "coastal"),
    "HR-ME": (0.6, "coastal"), "AL-MK": (0.7, "coastal"), "AL-XK": (0.4, "coastal"),
    "ME-XK": (0.4, "coastal"), "ME-RS": (0.5, "coastal"),
}
DEFAULT_PAIR = (0.2, "east")

#: Yearly trend of each route over the demo window (fraction per year), for a visible shift.
ROUTE_TREND: dict[str, float] = {
    "wb": -0.15, "coastal": 0.10, "em": 0.20, "east": 0.05, "syria": -0.10,
}

#: Nationality mixes (ISO alpha-3 -> weight) of the persons detected on each route.
NATIONALITIES: dict[str, dict[str, float]] = {
    "wb": {"SYR": 26, "AFG": 24, "PAK": 10, "MAR": 8, "IRQ": 5, "BGD": 5, "TUR": 5, "IND": 3,
           "TUN": 3, "EGY": 2, "IRN": 2, "BDI": 1.5, "CUB": 1, "PSE": 2, "DZA": 2, "NPL": 0.5},
    "em": {"AFG": 25, "SYR": 24, "PAK": 12, "TUR": 9, "IRQ": 8, "IRN": 5, "PSE": 5, "BGD": 3,
           "MAR": 3, "SOM": 2, "ERI": 1, "COD": 1},
    "east": {"AFG": 55, "PAK": 18, "IRN": 10, "SYR": 6, "IRQ": 5, "BGD": 4, "TKM": 2},
    "syria": {"SYR": 82, "PSE": 5, "IRQ": 5, "AFG": 4, "YEM": 2, "SOM": 2},
    "coastal": {"MAR": 18, "SYR": 15, "AFG": 12, "PAK": 12, "DZA": 8, "IRN": 6, "TUN": 6,
                "IRQ": 5, "PSE": 5, "BGD": 4, "EGY": 3, "LBY": 2, "TUR": 4},
}
#: Suspects in cross-border crime and persons refused entry: mostly regional nationals.
LOCAL_NATIONALITY: dict[str, str] = {
    "AL": "ALB", "BA": "BIH", "HR": "HRV", "XK": "ALB", "MK": "MKD", "ME": "MNE", "RS": "SRB",
    "TR": "TUR",
}
REGIONAL_NATIONALITIES: dict[str, float] = {
    "SRB": 10, "BIH": 8, "ALB": 9, "MKD": 5, "MNE": 3, "HRV": 3, "TUR": 10, "BGR": 4, "GRC": 2,
    "ROU": 3, "DEU": 3, "AUT": 2, "ITA": 2, "NLD": 1.5, "UKR": 3, "MDA": 2, "GEO": 2, "RUS": 2,
    "CHN": 1.5, "IND": 1.5,
}


@dataclass(frozen=True)
class Subtype:
    """How one incident subtype is drawn.

    ``where`` is ``border`` (between BCPs, offset from the line), ``bcp`` (at a crossing) or
    ``inland`` (farther from the line); ``bcp_share`` of a ``border`` subtype happens at a BCP.
    ``persons`` is (log-median, log-spread, max). ``impact`` is a base score (0 low .. 3
    very high) raised by group size. ``night`` says the local hour follows the night curve.
    """

    category: str
    share: float
    where: str
    bcp_share: float
    persons: tuple[float, float, int]
    impact: float
    night: bool
    detection: dict[str, float]
    locals: float  # share of suspects/persons of regional nationality


_PATROL = {"patrol": 0.5, "surveillance": 0.35, "other": 0.15}
_CHECK = {"bcp_check": 0.9, "other": 0.1}
_MIXED = {"bcp_check": 0.45, "patrol": 0.3, "surveillance": 0.15, "other": 0.1}

SUBTYPES: dict[str, Subtype] = {
    "between_bcps": Subtype("unauthorised_crossing", 52.0, "border", 0.0, (1.2, 0.9, 40), 0.3,
                            True, _PATROL, 0.0),
    "clandestine_at_bcp": Subtype("unauthorised_crossing", 6.0, "bcp", 1.0, (0.8, 0.8, 25), 0.5,
                                  True, _CHECK, 0.0),
    "facilitator": Subtype("unauthorised_crossing", 5.0, "border", 0.3, (0.1, 0.5, 6), 0.8,
                           True, _MIXED, 0.6),
    "illegal_stay": Subtype("unauthorised_crossing", 5.0, "inland", 0.0, (0.4, 0.6, 12), 0.0,
                            False, {"patrol": 0.7, "other": 0.3}, 0.05),
    "refusal_of_entry": Subtype("other", 10.0, "bcp", 1.0, (0.0, 0.4, 6), 0.0, False, _CHECK,
                                0.7),
    "asylum_application": Subtype("other", 2.5, "bcp", 0.6, (0.5, 0.6, 9), 0.2, False, _MIXED,
                                  0.0),
    "false_document": Subtype("unauthorised_crossing", 4.0, "bcp", 1.0, (0.0, 0.3, 4), 0.6,
                              False, _CHECK, 0.3),
    "return": Subtype("other", 2.0, "bcp", 1.0, (0.8, 0.7, 30), 0.0, False, _CHECK, 0.0),
    "smuggling_goods": Subtype("cross_border_crime", 3.5, "border", 0.6, (0.0, 0.5, 5), 0.5,
                               False, _MIXED, 0.9),
    "drugs": Subtype("cross_border_crime", 2.5, "border", 0.7, (0.0, 0.5, 5), 1.1, False,
                     _MIXED, 0.85),
    "weapons": Subtype("cross_border_crime", 0.7, "border", 0.5, (0.0, 0.4, 4), 1.6, False,
                       _MIXED, 0.9),
    "stolen_vehicle": Subtype("cross_border_crime", 1.5, "bcp", 0.9, (0.0, 0.3, 3), 0.6, False,
                              _CHECK, 0.8),
    "trafficking_human_beings": Subtype("cross_border_crime", 0.8, "border", 0.7, (0.7, 0.6, 12),
                                        1.8, False, _MIXED, 0.4),
    "secondary_movement": Subtype("unauthorised_crossing", 1.0, "inland", 0.0, (0.8, 0.7, 20),
                                  0.1, False, {"patrol": 0.8, "other": 0.2}, 0.0),
    "excise_goods": Subtype("cross_border_crime", 1.5, "bcp", 0.8, (0.0, 0.4, 4), 0.3, False,
                            _MIXED, 0.95),
    "mass_arrival": Subtype("crisis", 0.15, "border", 0.2, (3.3, 0.5, 40), 2.4, False, _PATROL,
                            0.0),
    "public_order": Subtype("crisis", 0.07, "border", 0.6, (2.0, 0.8, 40), 2.0, False, _MIXED,
                            0.3),
    "natural_disaster": Subtype("crisis", 0.05, "border", 0.3, (0.0, 0.5, 10), 2.0, False,
                                _MIXED, 0.5),
    "public_health": Subtype("crisis", 0.03, "bcp", 1.0, (0.5, 0.8, 30), 1.8, False, _CHECK,
                             0.3),
    "suspicious_person": Subtype("other", 1.0, "border", 0.4, (0.0, 0.5, 4), 0.1, False, _MIXED,
                                 0.5),
    "suspicious_vehicle": Subtype("other", 0.7, "border", 0.6, (0.0, 0.4, 3), 0.2, False,
                                  _MIXED, 0.6),
}

#: Local hour weights (0..23): irregular crossings at night, checks follow daytime traffic.
NIGHT_HOURS = (9, 8, 8, 7, 6, 4, 2, 1.5, 1, 1, 1, 1, 1, 1, 1, 1.5, 2, 3, 4, 6, 8, 9, 10, 10)
DAY_HOURS = (1, 1, 0.8, 0.8, 1, 2, 4, 6, 7, 7, 7, 7, 6.5, 6.5, 6.5, 7, 7, 7, 6, 5, 4, 3, 2, 1.5)

#: Monthly pressure of irregular migration (Jan..Dec): summer and autumn peaks.
MONTHLY_PRESSURE = (0.6, 0.6, 0.72, 0.85, 1.0, 1.1, 1.25, 1.4, 1.5, 1.45, 1.1, 0.75)
#: Weekday factor of detections (Mon..Sun).
WEEKDAY_PRESSURE = (0.92, 0.9, 0.95, 1.0, 1.08, 1.15, 1.0)


@dataclass(frozen=True)
class Traffic:
    """Typical daily traffic of one crossing per direction, outside any peak."""

    cars: float
    trucks: float
    buses: float


#: The busiest crossings, matched by a fragment of either local name (ASCII-folded).
BIG_CROSSINGS: dict[str, Traffic] = {
    "horgos": Traffic(6500, 1500, 150), "roszke": Traffic(6500, 1500, 150),
    "batrovci": Traffic(7000, 1600, 120), "bajakovo": Traffic(7000, 1600, 120),
    "kapikule": Traffic(6000, 2400, 250), "kapitan andreevo": Traffic(6000, 2400, 250),
    "presevo": Traffic(5000, 900, 120), "tabanovce": Traffic(5000, 900, 120),
    "bogorodica": Traffic(5000, 900, 150), "evzoni": Traffic(5000, 900, 150),
    "gradina": Traffic(3000, 800, 100), "kalotina": Traffic(3000, 800, 100),
    "kelebija": Traffic(2500, 250, 40), "ipsala": Traffic(2000, 700, 80),
    "sremska raca": Traffic(2500, 400, 50), "gradiska": Traffic(3500, 500, 60),
    "samac": Traffic(1200, 200, 20), "debeli brijeg": Traffic(2500, 150, 60),
    "karasovici": Traffic(2500, 150, 60), "hani i hotit": Traffic(1800, 150, 40),
    "bozaj": Traffic(1800, 150, 40), "kakavij": Traffic(2500, 300, 80),
    "kapshtic": Traffic(1500, 200, 40), "qafe thane": Traffic(1800, 250, 50),
    "hamzabeyli": Traffic(300, 1200, 10), "pazarkule": Traffic(800, 0, 20),
    "dojran": Traffic(1200, 50, 20), "sarp": Traffic(4000, 1200, 100),
    "gurbulak": Traffic(1500, 1000, 50), "habur": Traffic(2000, 3000, 60),
    "merdare": Traffic(1500, 200, 40), "jarinje": Traffic(1500, 200, 40),
    "bijaca": Traffic(2500, 300, 50), "izacic": Traffic(1500, 150, 30),
    "blace": Traffic(2500, 300, 50), "vermic": Traffic(2500, 200, 50),
    "morine": Traffic(2500, 200, 50), "bregana": Traffic(8000, 1800, 100),
}
ROAD_E = Traffic(1200, 150, 25)
ROAD_MINOR = Traffic(350, 30, 5)
#: Vehicles one lane clears per day, and persons per vehicle (cars, buses).
LANE_CAPACITY = {"cars": 1200.0, "buses": 60.0, "trucks": 280.0}
OCCUPANCY = {"cars": 2.2, "buses": 32.0, "trucks": 1.1}
#: EU member states: the diaspora of the region lives beyond them, and comes home in summer.
EU = frozenset({"HR", "HU", "SI", "RO", "BG", "GR"})


_UNDECOMPOSABLE: dict[str, str | int | None] = {"ı": "i", "đ": "d", "Đ": "D", "ß": "ss"}


def fold(text: str) -> str:
    """Lower-case ASCII form of a local name (Horgoš -> horgos, Kapıkule -> kapikule)."""
    text = text.translate(str.maketrans(_UNDECOMPOSABLE))
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def traffic_of(name_a: str, name_b: str, mode: str, e_road: str) -> Traffic:
    """Typical traffic of a crossing from its names, mode and E-road."""
    names = f"{fold(name_a)} / {fold(name_b)}"
    for fragment, traffic in BIG_CROSSINGS.items():
        if fragment in names:
            return traffic
    return ROAD_E if e_road.strip() else ROAD_MINOR

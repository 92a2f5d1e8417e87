"""Seasonal, weekly and holiday rhythm of the demo, as vectorised functions of dates.

Dates are numpy ``datetime64[D]`` arrays. Holiday dates are illustrative approximations:
Eid al-Fitr and Eid al-Adha move about 10.9 days earlier every year and are extrapolated from
their 2024 dates, which is close enough for a demo and stated as such in the ground truth.
"""

from __future__ import annotations

import numpy as np

from etl.demo.profiles import MONTHLY_PRESSURE, WEEKDAY_PRESSURE

_EID_2024 = (np.datetime64("2024-04-10"), np.datetime64("2024-06-16"))
_LUNAR_YEAR_DAYS = 354.37
_MID_MONTH = np.array([15.5, 45, 74.5, 105, 135.5, 166, 196.5, 227.5, 258, 288.5, 319, 349.5])


def day_of_year(dates: np.ndarray) -> np.ndarray:
    """Day of the year, 0-based."""
    return (dates - dates.astype("datetime64[Y]")).astype(int)


def weekday(dates: np.ndarray) -> np.ndarray:
    """Weekday, 0 = Monday .. 6 = Sunday."""
    return (dates.astype("datetime64[D]").astype(int) + 3) % 7


def seasonal(dates: np.ndarray, monthly: tuple[float, ...] = MONTHLY_PRESSURE) -> np.ndarray:
    """A monthly table smoothed into a daily curve (linear between mid-months, cyclic)."""
    xp = np.concatenate([[_MID_MONTH[-1] - 365], _MID_MONTH, [_MID_MONTH[0] + 365]])
    fp = np.concatenate([[monthly[-1]], monthly, [monthly[0]]])
    return np.interp(day_of_year(dates), xp, fp)


def pressure(dates: np.ndarray) -> np.ndarray:
    """Relative daily intensity of irregular-migration detections."""
    return seasonal(dates) * np.asarray(WEEKDAY_PRESSURE)[weekday(dates)]


def bump(dates: np.ndarray, month: int, day: int, width_days: float) -> np.ndarray:
    """A yearly Gaussian bump (0..1) centred on month/day, width in days."""
    months = dates.astype("datetime64[Y]").astype("datetime64[M]")
    centre = (months + (month - 1)).astype("datetime64[D]") + (day - 1)
    delta = (dates - centre).astype(float)
    delta = (delta + 182.5) % 365.25 - 182.5  # nearest yearly occurrence
    return np.exp(-0.5 * (delta / width_days) ** 2)


def eid(dates: np.ndarray, width_days: float = 2.5) -> np.ndarray:
    """Bumps (0..1) around both Eids (approximate dates, see the module docstring)."""
    out = np.zeros(len(dates))
    day = dates.astype("datetime64[D]").astype(float)
    for ref in _EID_2024:
        delta = (day - float(ref.astype(int))) % _LUNAR_YEAR_DAYS
        delta = np.minimum(delta, _LUNAR_YEAR_DAYS - delta)
        out = np.maximum(out, np.exp(-0.5 * (delta / width_days) ** 2))
    return out


def winter_holidays(dates: np.ndarray) -> np.ndarray:
    """A bump (0..1) over Christmas, New Year and Orthodox Christmas (24 Dec .. 8 Jan)."""
    return bump(dates, 12, 31, 6.0)


def utc_offset_hours(dates: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Local UTC offset: +3 in Türkiye, CET/CEST elsewhere (EU summer time, by day)."""
    summer = (dates >= _last_sunday(dates, 3)) & (dates < _last_sunday(dates, 10))
    return np.where(country == "TR", 3, np.where(summer, 2, 1))


def _last_sunday(dates: np.ndarray, month: int) -> np.ndarray:
    """The last Sunday of ``month`` in each date's year."""
    months = dates.astype("datetime64[Y]").astype("datetime64[M]")
    last = (months + month).astype("datetime64[D]") - 1
    return last - (weekday(last) + 1) % 7

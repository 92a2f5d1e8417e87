"""Checks of a chunk column by column: each declared column parsed by its kind, every problem
recorded in one ``Problems`` (a row is never dropped silently, never rejected for its first
problem only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from etl.validate.parse import (
    CODES,
    by_unique,
    days_since_epoch,
    distinct_mapped,
    empty,
    has_nul,
    lengths,
    normalise_token,
    parse_dates,
    parse_numbers,
    parse_timestamps,
    round_date,
    show,
    strings,
    suggest,
)
from etl.validate.spec import (
    DENSE_KINDS,
    EARLIEST,
    FALSE,
    FUTURE_TOLERANCE,
    INT32_MAX,
    TEXT_LIMIT,
    TRUE,
    Column,
    Context,
    Problems,
    References,
    SourceSpec,
)


class ColumnChecker:
    """Parses one chunk column by column, recording problems."""

    def __init__(
        self, spec: SourceSpec, frame: pd.DataFrame, refs: References, ctx: Context
    ) -> None:
        self.spec, self.frame, self.refs, self.ctx = spec, frame, refs, ctx
        self.n = len(frame)
        self.problems = Problems(self.n)
        self.values: dict[str, Any] = {}
        self.missing: dict[str, np.ndarray] = {}

    def raw(self, name: str) -> pd.Series:
        if name in self.frame.columns:
            col = self.frame[name]
            return col if col.dtype == object else col.astype(object).fillna("")
        return pd.Series([""] * self.n, index=self.frame.index, dtype=object)

    def run(self) -> None:
        for col in self.spec.columns:
            if self.spec.located and col.name in ("lat", "lon"):
                continue  # checked together, by check_location
            self._column(col)

    def only(self, names: tuple[str, ...]) -> None:
        """Parse only the named columns (not ``lat``/``lon``)."""
        for name in names:
            self._column(self.spec.column(name))

    def _column(self, col: Column) -> None:
        v = strings(self.raw(col.name), few=col.kind not in DENSE_KINDS)
        missing = empty(v)
        if col.default is not None:
            v = v.where(~missing, col.default)
            missing = np.zeros(self.n, dtype=bool)
        self.missing[col.name] = missing
        if col.required:
            self.problems.add(missing, "missing_value", col.name, f"{col.name} is required")
        nul = has_nul(v, self.ctx.check_nul)
        self.problems.add(nul, "bad_text", col.name, f"{col.name} contains a NUL character")
        if nul.any():
            v = v.where(~nul, "")
        parser = getattr(self, f"_{col.kind}")
        parser(col, v, missing | nul)

    def _text(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        if col.case == "upper":
            v = v.str.upper()
        elif col.case == "lower":
            v = v.str.lower()
        limit = col.max_length or TEXT_LIMIT
        long = (lengths(v) > limit) & ~missing
        self.problems.add(long, "bad_text", col.name,
                          f"{col.name} is longer than {limit:,} characters")
        if col.pattern:  # (a value too long is rejected but still given: no 'missing' noise)
            bad = ~missing & ~long & ~v.str.fullmatch(col.pattern, na=False).to_numpy(dtype=bool)
            shown = v.to_numpy(dtype=object)
            self.problems.add(bad, col.code or f"bad_{col.name}", col.name,
                              self._refused(col, shown, f"does not match {col.pattern}"))
            missing = missing | bad
        self.values[col.name] = np.where(missing, None, v.to_numpy(dtype=object))

    @staticmethod
    def _refused(col: Column, shown: np.ndarray, what: str) -> Callable[[int], str]:
        """Message of a value the column's rules refuse: the column's own, or a generic one."""
        if col.message:
            template = col.message
            return lambda i: template.format(value=str(shown[i]), name=col.name)
        return lambda i: f"{col.name} {show(shown[i])} {what}"

    def _bool(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        low = by_unique(v, lambda u: u.str.lower())
        true = low.isin(TRUE).to_numpy()
        bad = ~missing & ~true & ~low.isin(FALSE).to_numpy()
        shown = low.to_numpy(dtype=object)
        self.problems.add(bad, col.code or "bad_boolean", col.name,
                          lambda i: f"{shown[i]!r} is not true/false")
        self.values[col.name] = true

    def _vocab(self, col: Column, v: pd.Series, missing: np.ndarray, known: set[Any]) -> None:
        if col.kind == "enum":
            canon = {c: c for c in known}
            normalise: Callable[[pd.Series], pd.Series] = normalise_token
        else:
            canon = {str(c).lower(): c for c in known}
            normalise = lambda u: u.str.lower()  # noqa: E731
        codes, distinct = distinct_mapped(v, lambda u: normalise(u).map(canon))
        mapped = distinct[codes]
        unknown = pd.isna(distinct)[codes] & ~missing
        choices = sorted(str(c) for c in known)
        shown = v.to_numpy(dtype=object)
        what = "BCP code" if col.name == "bcp_code" else col.name

        def message(i: int) -> str:
            val = str(shown[i])
            hint = suggest(val.lower() if col.kind == "enum" else val, choices)
            if not hint and len(choices) <= 12:
                hint = f" (valid: {', '.join(choices)})"
            return f"unknown {what} {show(val)}{hint}"

        self.problems.add(unknown, col.code or f"unknown_{col.name}", col.name, message)
        self.values[col.name] = np.where(missing | unknown, None, mapped)

    def _enum(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        self._vocab(col, v, missing, set(col.choices))

    def _ref(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        known = self.refs.codes.get(col.ref or col.name, set())
        self._vocab(col, v, missing, {str(k) for k in known})

    def _number(self, col: Column, v: pd.Series, missing: np.ndarray, integer: bool) -> np.ndarray:
        if col.kind in DENSE_KINDS:
            nums = parse_numbers(v, missing)
        else:
            nums = by_unique(v, lambda u: pd.to_numeric(u, errors="coerce")).to_numpy(float)
            nums[missing] = np.nan
        finite = np.isfinite(nums)
        bad = ~missing & ~finite
        shown = v.to_numpy(dtype=object)
        kind = "a whole number" if integer else "a number"
        self.problems.add(
            bad, "bad_number", col.name, lambda i: f"{col.name} {show(shown[i])} is not {kind}"
        )
        if integer:
            frac = finite & (np.floor(np.where(finite, nums, 0)) != np.where(finite, nums, 0))
            self.problems.add(
                frac, "bad_number", col.name,
                lambda i: f"{col.name} {show(shown[i])} is not a whole number",
            )
            bad |= frac
        ok = finite & ~bad
        if col.min_value is not None:
            low = ok & (nums < col.min_value)
            lowest = col.min_value
            if lowest == 0:
                code = "negative_count" if integer else "negative_value"
                what = "is negative"
            else:
                code, what = "number_out_of_range", f"is below {_number(lowest)}"
            self.problems.add(low, col.code or code, col.name, self._refused(col, shown, what))
            bad |= low
        upper = col.max_value if col.max_value is not None else (INT32_MAX if integer else None)
        if upper is not None:
            high = ok & (nums > upper)
            self.problems.add(high, col.code or "number_out_of_range", col.name,
                              self._refused(col, shown, f"is larger than {_number(upper)}"))
            bad |= high
        out = np.where(bad | missing, np.nan, nums)
        self.values[col.name] = out
        return out

    def _int(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        nums = self._number(col, v, missing, integer=True)
        if col.ref:
            known = self.refs.codes.get(col.ref, set())
            present = np.isfinite(nums)
            unknown = present & ~np.isin(np.where(present, nums, -1), [float(k) for k in known])
            valid = ", ".join(str(k) for k in sorted(known))
            self.problems.add(
                unknown, f"unknown_{col.name}", col.name,
                lambda i: f"unknown {col.name} {nums[i]:g} (valid: {valid})",
            )
            self.values[col.name] = np.where(unknown, np.nan, nums)

    def _float(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        self._number(col, v, missing, integer=False)

    def _temporal(
        self, col: Column, v: pd.Series, missing: np.ndarray, values: np.ndarray, unit_per_day: float,
        what: str,
    ) -> None:
        shown = v.to_numpy(dtype=object)
        bad = ~missing & np.isnan(values)
        self.problems.add(
            bad, "bad_date", col.name, lambda i: f"{col.name} {show(shown[i])} is not {what}"
        )
        ok = ~np.isnan(values)
        early = ok & (values < days_since_epoch(EARLIEST) * unit_per_day)
        self.problems.add(
            early, "date_out_of_range", col.name,
            lambda i: f"{col.name} {show(shown[i])} is before {EARLIEST.isoformat()}",
        )
        values = np.where(early, np.nan, values)
        if col.not_future:
            limit = (self.ctx.now + FUTURE_TOLERANCE - datetime(1970, 1, 1, tzinfo=UTC))
            if unit_per_day == 1.0:
                lim = float(limit.days)
            else:
                lim = limit.total_seconds() * 1e6
            future = ~np.isnan(values) & (values > lim)
            self.problems.add(
                future, "future_date", col.name,
                lambda i: f"{col.name} {show(shown[i])} is in the future",
            )
            values = np.where(future, np.nan, values)
        self.values[col.name] = values

    def _timestamp(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        values, bad_offset = parse_timestamps(v, missing)
        shown = v.to_numpy(dtype=object)
        self.problems.add(bad_offset, "bad_date", col.name,
                          lambda i: f"{col.name} {show(shown[i])} has a UTC offset that does "
                          "not exist (they lie within -12:00 and +14:00)")
        self._temporal(col, v, missing | bad_offset, values, 86400e6,
                       "an ISO 8601 date or date-time (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS])")

    def _date(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        values = parse_dates(v, missing)
        self._temporal(col, v, missing, values, 1.0, "a date (YYYY-MM-DD)")

    def _codes(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        def conv(u: pd.Series) -> pd.Series:
            return u.str.upper().str.replace(r"\s+", "", regex=True).str.strip(";")

        limit = col.max_length or TEXT_LIMIT
        long = (lengths(v) > limit) & ~missing
        self.problems.add(long, "bad_text", col.name,
                          f"{col.name} is longer than {limit:,} characters")
        missing = missing | long
        codes, distinct = distinct_mapped(v.where(~long, ""), conv)
        norm = distinct[codes]  # normalised and matched once per distinct value
        ok = pd.Series(distinct, dtype=object).str.fullmatch(CODES, na=False).to_numpy()[codes]
        bad = ~missing & ~ok
        shown = v.to_numpy(dtype=object)
        self.problems.add(
            bad, f"bad_{col.name}", col.name,
            lambda i: f"{col.name} {show(shown[i])} is not a ';'-separated list of ISO alpha-3 codes",
        )
        self.values[col.name] = np.where(missing | bad, None, norm)

    def _round(self, col: Column, v: pd.Series, missing: np.ndarray) -> None:
        norm = by_unique(v, lambda u: u.str.upper())
        days = by_unique(norm, lambda u: u.map(round_date)).to_numpy(dtype=float)
        days = np.where(missing, np.nan, days)
        shown = v.to_numpy(dtype=object)
        bad = ~missing & np.isnan(days)
        self.problems.add(
            bad, "bad_round", col.name,
            lambda i: f"round {show(shown[i])} is not a year (2010), half (2024-H1), quarter "
            "(2024-Q3), month (2024-05) or date (2024-05-31)",
        )
        limit = days_since_epoch(self.ctx.now.date())
        future = ~np.isnan(days) & (days > limit)
        self.problems.add(
            future, "future_date", col.name, lambda i: f"round {show(shown[i])} is in the future"
        )
        bad |= future
        self.values[col.name] = np.where(missing | bad, None, norm.to_numpy(dtype=object))
        self.values[f"{col.name}_date"] = np.where(missing | bad, np.nan, days)


def _number(x: float) -> str:
    """A limit as people write it: 2147483647, not 2.14748e+09."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"

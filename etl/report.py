"""What a recorded job did, and why a row was rejected: the vocabulary every part of ``etl``
shares (validation produces ``Reject``s, the run lifecycle records a ``LoadReport``).

Plain data only: this module imports nothing from ``etl``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

_REASONS_SHOWN = 8  # reject codes named in a load summary, the most frequent first


@dataclass(frozen=True)
class Reason:
    """Why a row was rejected: a stable code, the field concerned, a message for people."""

    code: str
    field: str | None
    message: str


@dataclass
class Reject:
    """A rejected input row with its original text and every reason found."""

    row_number: int
    raw: dict[str, Any]
    reasons: list[Reason]


@dataclass
class LoadReport:
    """What a job did (a load, a delete, an analysis), as recorded in ``load_run``.

    A succeeded run: read = inserted + updated + unchanged + rejected. A failed run (including
    ``--strict`` with rejects) loaded nothing: inserted = updated = unchanged = 0, ``read`` and
    ``rejected`` are what was read and found before it stopped, and ``not_loaded`` counts the
    other rows read (so read = inserted + updated + unchanged + rejected + not_loaded holds for
    every run).
    """

    kind: str
    source: str
    file_name: str
    run_id: int | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    not_loaded: int = 0
    duration_s: float = 0.0
    dry_run: bool = False
    status: str = "running"
    message: str | None = None
    reject_codes: dict[str, int] = field(default_factory=dict)
    #: Seconds spent per stage of a load (read, validate, enrich, write, ...), for benchmarks.
    stages: dict[str, float] = field(default_factory=dict)

    def balanced(self) -> bool:
        return self.read == (self.inserted + self.updated + self.unchanged + self.rejected
                             + self.not_loaded)

    def nothing_loaded(self) -> None:
        """Counts of a failed run: nothing was loaded; the rows read that were not rejected
        are ``not_loaded``."""
        self.inserted = self.updated = self.unchanged = 0
        self.not_loaded = max(self.read - self.rejected, 0)

    def count_reasons(self, rejects: list[Reject]) -> None:
        """Add the reasons of ``rejects`` to the per-code tally."""
        for r in rejects:
            for reason in r.reasons:
                self.reject_codes[reason.code] = self.reject_codes.get(reason.code, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def json(self) -> str:
        return json.dumps(self.as_dict(), default=str)

    def summary(self) -> str:
        parts = [
            f"{self.kind} from {self.file_name} (source {self.source})"
            + (" [dry run]" if self.dry_run else ""),
            f"  read {self.read:,}  inserted {self.inserted:,}  updated {self.updated:,}  "
            f"unchanged {self.unchanged:,}  rejected {self.rejected:,}  in {self.duration_s:.1f} s",
        ]
        if self.status == "failed":
            parts.append(f"  failed, nothing was loaded: {self.not_loaded:,} valid row(s) of "
                         f"the {self.read:,} read were not loaded")
        elif self.message:
            parts.append(f"  note: {self.message}")
        if self.reject_codes:
            ranked = sorted(self.reject_codes.items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{c} ×{n}" for c, n in ranked[:_REASONS_SHOWN])
            if len(ranked) > _REASONS_SHOWN:  # the next line says where to see them all
                shown += f", and {len(ranked) - _REASONS_SHOWN} more"
            parts.append("  reject reasons: " + shown)
        if self.run_id is not None and self.rejected:
            parts.append(f"  see them with: borderwatch rejects --run {self.run_id}")
        return "\n".join(parts)

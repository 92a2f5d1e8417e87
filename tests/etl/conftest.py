"""Fixtures shared by the ETL tests."""

from __future__ import annotations

import numpy as np
import pytest

from etl import enrich


@pytest.fixture
def enriched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Points handed to enrichment, per call."""
    calls: list[int] = []
    real = enrich.enrich_points

    def counting(geo, lon, lat, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(np.asarray(lon)))
        return real(geo, lon, lat, **kw)

    monkeypatch.setattr(enrich, "enrich_points", counting)
    return calls

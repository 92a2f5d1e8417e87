"""Dashboard fixtures: a small seeded warehouse (see ``tests/dashboard/seed.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.dashboard.seed import seed_incidents, seed_reference


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """A fresh warehouse with the test reference geodata and 60 incidents."""
    seed_reference(engine)
    seed_incidents(engine)
    return engine

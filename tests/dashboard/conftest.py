"""Dashboard fixtures: a small seeded warehouse (see ``tests/dashboard/seed.py``), and an admin
scope for queries called directly (requests use their logged-in user's scope instead)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from dashboard.queries import gateway
from dashboard.queries.scope import Scope
from tests.dashboard.seed import seed_incidents, seed_reference


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """A fresh warehouse with the test reference geodata and 60 incidents."""
    seed_reference(engine)
    seed_incidents(engine)
    return engine


@pytest.fixture(autouse=True)
def admin_scope() -> Iterator[Scope]:
    """Queries called outside a request see everything (a test wanting less nests
    ``with gateway.scoped(Scope(...))``)."""
    with gateway.scoped(Scope.full("test")) as scope:
        yield scope

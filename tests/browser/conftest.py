"""Browser-test helpers: a seeded warehouse, the app for it, screenshots and console checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dashboard.app import create_app
from tests.conftest import settings_for
from tests.dashboard.seed import seed_incidents, seed_reference

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def seeded_rows(engine: Engine) -> list[dict[str, Any]]:
    """Reference geodata and 120 incidents in a fresh warehouse."""
    seed_reference(engine)
    return seed_incidents(engine, 120, seed=11)


@pytest.fixture
def demo_engine(geo_engine: Engine, tmp_path: Path) -> Engine:
    """The shipped reference geodata plus a small demo (3,000 incidents over 60 days), loaded
    through the real demo loader."""
    from etl.demo.generate import DemoSpec
    from etl.demo.load import load_demo

    url = geo_engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, data_dir=tmp_path)
    load_demo(geo_engine, settings, DemoSpec(incidents=3000, days=60), out_dir=tmp_path / "demo")
    return geo_engine


@pytest.fixture
def start_app(dash_duo: Any) -> Callable[..., Any]:
    """Serve the dashboard for a test warehouse; returns the browser helper."""

    def start(engine: Engine, **overrides: Any) -> Any:
        url = engine.url.render_as_string(hide_password=False)
        app = create_app(settings_for(url, **overrides))
        dash_duo.start_server(app)
        dash_duo.driver.set_window_size(1400, 900)
        return dash_duo

    return start


def screenshot(dash_duo: Any, name: str) -> Path:
    """Save the browser window as ``tests/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    dash_duo.driver.save_screenshot(str(path))
    return path


def console_errors(dash_duo: Any) -> list[dict[str, Any]]:
    """Severe browser-console entries since the page was opened."""
    return list(dash_duo.get_logs() or [])

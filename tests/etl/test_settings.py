"""Every setting has a description and is documented in the README."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from etl.cli.config import settings_markdown
from etl.settings import PROJECT_ROOT, Settings


def test_every_setting_is_described_and_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [
        f"BORDERWATCH_{name.upper()}"
        for name in Settings.model_fields
        if f"`BORDERWATCH_{name.upper()}`" not in readme
    ]
    assert missing == [], f"settings missing from README.md: {missing}"
    assert all(len(f.description or "") > 10 for f in Settings.model_fields.values())


def test_readme_table_is_the_generated_one() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert settings_markdown() in readme, "regenerate with: borderwatch config --markdown"


def test_env_prefix_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BORDERWATCH_PORT", "9000")
    monkeypatch.setenv("BORDERWATCH_REFRESH_INTERVAL_S", "5")
    s = Settings()
    assert (s.port, s.refresh_interval_s) == (9000, 5)
    monkeypatch.setenv("BORDERWATCH_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()


def test_embedded_is_default_and_url_switches_it_off() -> None:
    assert Settings(database_url=None).uses_embedded
    assert not Settings(database_url="postgresql+psycopg://u:p@h/d").uses_embedded

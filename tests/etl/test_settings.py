"""Every setting has a description and is documented in the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from etl.cli.config import settings_markdown
from etl.errors import ConfigurationError
from etl.settings import PROJECT_ROOT, SHIPPED_GEODATA, Settings
from tests.support import clean_env


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


def test_geodata_defaults_to_the_shipped_copy_and_a_bad_folder_names_the_setting(
    tmp_path: Path,
) -> None:
    from etl.sources.geodata import FILES

    assert Settings().geodata_folder(FILES.values()) == SHIPPED_GEODATA
    with pytest.raises(ConfigurationError, match=r"BORDERWATCH_GEODATA_DIR=\S+ does not exist"):
        Settings(geodata_dir=tmp_path / "nowhere").geodata_folder(FILES.values())
    (tmp_path / "countries.geojson").write_text("{}")
    with pytest.raises(ConfigurationError, match="lacks border_lines.geojson, border_sections"):
        Settings(geodata_dir=tmp_path).geodata_folder(FILES.values())


@pytest.mark.parametrize("command", [["load", "geodata"],
                                     ["demo", "generate", "--out", "OUT", "--incidents", "5"]])
def test_commands_reading_geodata_name_the_setting(tmp_path: Path, command: list[str]) -> None:
    env = clean_env(BORDERWATCH_GEODATA_DIR=str(tmp_path / "nowhere"),
                    BORDERWATCH_DATABASE_URL="postgresql+psycopg://u:p@127.0.0.1:1/none")
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    res = subprocess.run([sys.executable, "-m", "dashboard.cli", *args], capture_output=True,
                         text=True, env=env, timeout=120)
    assert res.returncode == 2, res.stderr
    assert f"BORDERWATCH_GEODATA_DIR={tmp_path / 'nowhere'} does not exist" in res.stderr
    assert "Traceback" not in res.stderr

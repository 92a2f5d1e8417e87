"""compose.yaml wires the database, the one-shot migration and the dashboard around the image.

Docker cannot run on the build machines: what the image does (a wheel installed into a clean
Python, the Dockerfile's CMD serving) is run on the host by ``tests/test_installed_wheel.py``.
"""

from __future__ import annotations

import re

import yaml

from etl.settings import PROJECT_ROOT


def _dockerfile_env() -> dict[str, str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, flags=re.M):
        env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def test_compose_wires_db_migrate_and_dashboard() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert services["migrate"]["command"] == ["borderwatch", "db", "migrate"]
    assert services["dashboard"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    url = services["dashboard"]["environment"]["BORDERWATCH_DATABASE_URL"]
    assert "@db:5432/" in url
    assert "pgdata" in compose["volumes"]
    key = services["dashboard"]["environment"]["BORDERWATCH_SECRET_KEY"]
    assert key.startswith("${BORDERWATCH_SECRET_KEY:?"), "a server must be given its session key"


def test_the_image_data_folder_is_a_volume_shared_by_every_app_container() -> None:
    env = _dockerfile_env()
    data_dir = env["BORDERWATCH_DATA_DIR"]
    assert "BORDERWATCH_GEODATA_DIR" not in env  # the geodata ships inside the wheel
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    for name in ("migrate", "dashboard"):
        mounts = compose["services"][name]["volumes"]
        volume = next(m.split(":")[0] for m in mounts if m.split(":")[1] == data_dir)
        assert volume in compose["volumes"], f"{name}: {data_dir} is not a named volume"

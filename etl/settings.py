"""The one settings class of borderwatch (env prefix ``BORDERWATCH_``).

Loaded in the CLI and in ``create_app()``, never at import time. Every field carries a
description; ``tests/etl/test_settings.py`` checks that each one is documented in README.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl.errors import ConfigurationError

# The folder holding the ``etl`` package: the checkout, or site-packages of an installed wheel.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A checkout (editable install or plain source tree) has its pyproject.toml next to ``etl``.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
# The reference geodata ships with borderwatch: ``geodata/`` of the checkout, which the wheel
# installs as the package ``geodata`` beside ``etl`` (pyproject.toml, package-data).
SHIPPED_GEODATA = PROJECT_ROOT / "geodata"


def default_data_dir() -> Path:
    """``var/`` of the checkout; installed, ``$XDG_DATA_HOME/borderwatch`` (by default
    ``~/.local/share/borderwatch``), never a folder inside site-packages."""
    if IN_CHECKOUT:
        return PROJECT_ROOT / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "borderwatch"


class Settings(BaseSettings):
    """Configuration read from ``BORDERWATCH_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(
        env_prefix="BORDERWATCH_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of an existing PostGIS database (postgresql+psycopg://user:pass@host/db). "
            "Empty: borderwatch runs its own embedded PostgreSQL + PostGIS cluster in data_dir."
        ),
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Folder for the embedded cluster (data_dir/postgres), logs and generated demo files. "
            "Default: var/ of a checkout; installed, $XDG_DATA_HOME/borderwatch "
            "(~/.local/share/borderwatch); the container image sets /var/lib/borderwatch."
        ),
        json_schema_extra={"shown_default": "./var or ~/.local/share/borderwatch"},
    )
    geodata_dir: Path = Field(
        default=SHIPPED_GEODATA,
        description=(
            "Folder of the reference geodata (boundaries, BCPs, agreements, framework) that "
            "`load geodata` and the demo read. Default: the copy shipped with borderwatch "
            "(geodata/ of a checkout, or the installed package's)."
        ),
        json_schema_extra={"shown_default": "(shipped with borderwatch)"},
    )
    pg_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description=(
            "Port of the embedded cluster on 127.0.0.1; 0 picks a free port on first start and "
            "keeps it. Never 5432 (the system cluster)."
        ),
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder holding initdb/pg_ctl/postgres; empty: newest /usr/lib/postgresql/*/bin.",
    )
    pg_auto_install: bool = Field(
        default=True,
        description="As root on Debian/Ubuntu, install missing PostgreSQL/PostGIS packages with apt.",
    )
    database_name: str = Field(
        default="borderwatch",
        pattern=r"^[A-Za-z0-9_]+$",
        max_length=63,
        description=(
            "Database name inside the embedded cluster (letters, digits, _); `db start` creates "
            "it if missing, also on a running cluster."
        ),
    )
    statement_timeout_ms: int = Field(
        default=15000,
        ge=100,
        description="Time limit of every dashboard (read) query, in milliseconds.",
    )
    host: str = Field(default="127.0.0.1", description="Address the dashboard listens on.")
    port: int = Field(default=8050, ge=1, le=65535, description="Port the dashboard listens on.")
    proxy_hops: int = Field(
        default=0,
        ge=0,
        le=5,
        description=(
            "Reverse proxies in front of the dashboard (TLS-terminating nginx, Caddy, a load "
            "balancer), each appending to X-Forwarded-For. The client's address (login limits, "
            "audit log) is then read from the entries of the nearest this-many proxies (0-5), "
            "https (Secure cookie) and the host (same-origin check) from the X-Forwarded-Proto "
            "and -Host the nearest one sent. 0: no proxy, those headers are ignored (a client "
            "can forge them)."
        ),
    )
    hsts_max_age_s: int = Field(
        default=31_536_000,
        ge=0,
        le=63_072_000,
        description=(
            "max-age of the Strict-Transport-Security header (seconds, at most two years), sent "
            "only on responses to requests that came over HTTPS (behind a TLS proxy: with "
            "proxy_hops set and X-Forwarded-Proto https), never over plain HTTP. Default one "
            "year; 0: no header (e.g. the proxy sends its own). For the dashboard's host name "
            "only: no includeSubDomains, no preload."
        ),
    )
    tile_url: str | None = Field(
        default=None,
        description=(
            "Optional online tile layer URL template ({z}/{x}/{y}); empty: only the offline "
            "basemap drawn from borderwatch's own geodata."
        ),
    )
    tile_attribution: str = Field(
        default="", description="Attribution text shown for the optional online tile layer."
    )
    refresh_interval_s: int = Field(
        default=30,
        ge=2,
        description="Auto-refresh interval of the coordination-centre mode, in seconds.",
    )
    max_map_features: int = Field(
        default=5000,
        ge=100,
        description="Most features the map receives per update; beyond it incidents are aggregated.",
    )
    bcp_radius_km: float = Field(
        default=10.0,
        gt=0,
        description="Radius within which an incident is linked to its nearest BCP on load.",
    )
    bcp_max_border_km: float = Field(
        default=3.0,
        gt=0,
        description="A BCP farther than this from its declared pair's border line is rejected.",
    )
    near_radius_km: float = Field(
        default=10.0,
        ge=0.5,
        le=100.0,
        description=(
            "Default radius of 'incidents near the crossing' on a crossing page, in km "
            "(adjustable on the page, 0.5-100)."
        ),
    )
    anomaly_z: float = Field(
        default=5.0,
        ge=2.0,
        le=50.0,
        description=(
            "A day's flow is flagged as an anomaly on the crossing page when its robust "
            "z-score against the seasonal baseline reaches this (in either direction)."
        ),
    )
    mirror_gap_pct: float = Field(
        default=5.0,
        gt=0,
        le=100.0,
        description=(
            "Mirror reconciliation: a day is flagged when the arriving side's count differs "
            "from the leaving side's count by at least this percentage of the latter..."
        ),
    )
    mirror_min_gap: int = Field(
        default=10,
        ge=0,
        description=(
            "...and by at least this many persons or vehicles (small counts differ by a "
            "large share without meaning anything)."
        ),
    )
    load_chunk_rows: int = Field(
        default=25000,
        ge=100,
        description="Rows per chunk when streaming an input file into the warehouse.",
    )
    lock_timeout_s: int = Field(
        default=600,
        ge=0,
        description="How long a load waits for another running load to finish before giving up.",
    )
    demo_incidents: int = Field(
        default=50000, ge=0, description="Incidents in the default demo dataset (make run)."
    )
    demo_days: int = Field(
        default=730, ge=7, description="Days of history in the default demo dataset."
    )
    demo_seed: int = Field(default=2009, description="Random seed of the demo dataset.")
    log_level: str = Field(default="INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    hotspot_resolution: int = Field(
        default=6, ge=4, le=8,
        description=(
            "H3 resolution of the hotspot analysis (4-8). 6: cells of about 36 km², 7.5 km "
            "across, the scale of a patrol sector or the few km behind a crossing point."
        ),
    )
    hotspot_k: int = Field(
        default=1, ge=1, le=5,
        description=(
            "Rings of H3 neighbours in the Gi* neighbourhood "
            "of a cell (the cell included)."
        ),
    )
    hotspot_step_days: int = Field(
        default=7, ge=1, le=91,
        description=(
            "Length of a time step of the emerging-hotspot "
            "analysis in days (7: weeks from Monday)."
        ),
    )
    hotspot_steps: int = Field(
        default=104, ge=1, le=1000,
        description=(
            "Steps in the default period of borderwatch analyse "
            "hotspots (ending with the latest incident)."
        ),
    )
    hotspot_time_lag: int = Field(
        default=1, ge=0, le=10,
        description=(
            "Earlier steps in the space-time Gi* neighbourhood "
            "of a bin (0: each step alone)."
        ),
    )
    hotspot_zone_km: float = Field(
        default=30.0, gt=0, le=200,
        description=(
            "Depth of the land border zone whose H3 cells form the study area of the hotspot "
            "analysis (plus every BCP's cell)."
        ),
    )
    hotspot_min_count_shown: int = Field(
        default=5, ge=1, le=100,
        description=(
            "Hotspot hexagons on the map show incident counts below this as a range (1-4), so a "
            "cell never tells that one single incident happened there."
        ),
    )
    impact_recent_days: int = Field(
        default=28, ge=1, le=365,
        description=(
            "Suggested impact levels: the recent window (days up to the latest incident) "
            "whose incidents per border section are compared with the baseline."
        ),
    )
    impact_baseline_days: int = Field(
        default=364, ge=7, le=3650,
        description="Suggested impact levels: days before the recent window that make the baseline.",
    )
    impact_medium_ratio: float = Field(
        default=1.5, gt=0,
        description="Suggest medium when recent incidents are at least this many times the baseline.",
    )
    impact_high_ratio: float = Field(
        default=3.0, gt=0,
        description="Suggest high when recent incidents are at least this many times the baseline.",
    )
    impact_min_incidents: int = Field(
        default=10, ge=1,
        description="Suggest above low only with at least this many incidents in the recent window.",
    )
    hotspot_alpha: float = Field(
        default=0.05, gt=0, lt=1,
        description=(
            "FDR level at which a space-time bin counts as a "
            "significant hot or cold bin (emerging patterns)."
        ),
    )
    hotspot_trend_alpha: float = Field(
        default=0.05, gt=0, lt=1,
        description=(
            "Significance level of the Mann-Kendall trend test of a "
            "cell's z-scores (intensifying / diminishing)."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key signing the dashboard's session cookies (at least 32 characters). Required with "
            "BORDERWATCH_DATABASE_URL (a server); empty with the embedded cluster: generated once "
            "and kept in data_dir/secret_key. Changing it logs everybody out."
        ),
    )
    session_lifetime_min: int = Field(
        default=480,
        ge=5,
        le=43200,
        description=(
            "Minutes a dashboard login lasts (counted from the login, not from the last click); "
            "then the user logs in again. A wall screen in live mode may want more."
        ),
    )
    login_lockout_failures: int = Field(
        default=10,
        ge=3,
        description="Failed logins in a row that lock an account for login_lockout_min minutes.",
    )
    login_lockout_min: int = Field(
        default=15,
        ge=1,
        description="Minutes an account stays locked after login_lockout_failures failed logins in a row.",
    )
    login_address_failures: int = Field(
        default=30,
        ge=3,
        description=(
            "Failed logins from one network address (any account) within login_lockout_min "
            "minutes after which that address must wait (answered 429)."
        ),
    )

    @property
    def pg_data_dir(self) -> Path:
        """Folder of the embedded cluster."""
        return self.data_dir / "postgres"

    def geodata_folder(self, required: Iterable[str]) -> Path:
        """``geodata_dir``, checked to hold the ``required`` files.

        Raises
        ------
        ConfigurationError
            Naming ``BORDERWATCH_GEODATA_DIR`` (when set) and the missing files.
        """
        folder = self.geodata_dir
        missing = [name for name in required if not (folder / name).is_file()]
        if not missing:
            return folder
        if "geodata_dir" in self.model_fields_set:
            what = (f"BORDERWATCH_GEODATA_DIR={folder} does not exist" if not folder.is_dir()
                    else f"BORDERWATCH_GEODATA_DIR={folder} lacks {', '.join(missing)}")
            raise ConfigurationError(
                f"{what}; point it at a folder holding the reference geodata, or unset it to "
                "use the copy shipped with borderwatch."
            )
        raise ConfigurationError(
            f"the geodata shipped with borderwatch is incomplete ({', '.join(missing)} missing "
            f"from {folder}): reinstall borderwatch, or set BORDERWATCH_GEODATA_DIR to a "
            "folder holding the reference geodata."
        )

    @property
    def uses_embedded(self) -> bool:
        """True when no external database URL is configured."""
        return self.database_url is None or not self.database_url.get_secret_value()


def get_settings(**overrides: object) -> Settings:
    """Read the settings from the environment (and any explicit overrides)."""
    return Settings(**overrides)  # type: ignore[arg-type]

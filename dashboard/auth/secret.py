"""The key that signs session cookies: a setting on a server, generated once for the embedded default."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from etl.errors import ConfigurationError
from etl.settings import Settings

MIN_LENGTH = 32
FILE_NAME = "secret_key"
HOW_TO = 'generate one with: python3 -c "import secrets; print(secrets.token_hex(32))"'


def secret_key(settings: Settings) -> str:
    """``BORDERWATCH_SECRET_KEY``; with the embedded cluster and no key set, the one kept in
    ``data_dir/secret_key`` (created on first use, readable by its owner only).

    Raises
    ------
    ConfigurationError
        The key is shorter than 32 characters, or missing while a database URL is set (a
        server, where a key made up on one machine would differ between replicas).
    """
    given = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if given:
        if len(given) < MIN_LENGTH:
            raise ConfigurationError(f"BORDERWATCH_SECRET_KEY is too short: use at least {MIN_LENGTH} "
                                     f"random characters ({HOW_TO}).")
        return given
    if not settings.uses_embedded:
        raise ConfigurationError("BORDERWATCH_SECRET_KEY must be set when BORDERWATCH_DATABASE_URL is "
                                 f"(it signs the dashboard's login sessions; {HOW_TO}).")
    return _kept(settings.data_dir / FILE_NAME)


def _kept(path: Path) -> str:
    """The key in ``path``, created if missing: written to a private temporary file, then linked
    into place, so two workers starting together read the same complete key."""
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32) + "\n")
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    pass  # another process made it first: use theirs
            finally:
                os.unlink(tmp)
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"Cannot read or create the session key {path}: {exc.strerror}.") from exc
    if len(text) < MIN_LENGTH:
        raise ConfigurationError(f"The session key in {path} is too short; delete the file to make "
                                 "a new one.")
    return text

"""WSGI entry point for gunicorn: ``gunicorn dashboard.wsgi:server``.

Settings come from the environment (``BORDERWATCH_*``) when gunicorn imports this module.
"""

from __future__ import annotations

import logging
import sys

from dashboard.app import create_app, ready_for_workers
from etl.settings import get_settings

settings = get_settings()
logging.basicConfig(
    level=settings.log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    stream=sys.stderr,
)
app = ready_for_workers(create_app(settings))
server = app.server

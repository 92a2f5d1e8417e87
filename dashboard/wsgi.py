"""WSGI entry point for gunicorn: ``gunicorn dashboard.wsgi:server``.

Settings come from the environment (``BORDERWATCH_*``) when gunicorn imports this module.
"""

from __future__ import annotations

import logging
import sys

from dashboard.app import create_app, ready_for_workers
from etl.errors import BorderwatchError
from etl.settings import get_settings

settings = get_settings()
logging.basicConfig(
    level=settings.log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    stream=sys.stderr,
)
try:
    app = ready_for_workers(create_app(settings))
except BorderwatchError as exc:  # e.g. no BORDERWATCH_SECRET_KEY on a server: say so, no traceback
    logging.getLogger("borderwatch").critical("the dashboard cannot start: %s", exc.user_message)
    raise SystemExit(2) from None
server = app.server

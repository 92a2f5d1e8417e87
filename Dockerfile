# borderwatch application image: the dashboard (`borderwatch serve`, gunicorn) by default; the
# same image runs the ETL commands (`docker compose run --rm dashboard borderwatch load geodata`).
# The database is an external PostGIS (compose.yaml's `db` service): BORDERWATCH_DATABASE_URL.
#
# Built the way tests/test_installed_wheel.py installs borderwatch (no Docker needed there):
# a wheel from exactly the files COPY'd into the build stage, installed with its dependencies
# into a clean Python, no source tree at run time. The reference geodata travels inside the
# wheel, so BORDERWATCH_GEODATA_DIR is left at its default.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY etl ./etl
COPY dashboard ./dashboard
COPY geodata ./geodata
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BORDERWATCH_HOST=0.0.0.0 \
    BORDERWATCH_PORT=8050 \
    BORDERWATCH_DATA_DIR=/var/lib/borderwatch

# postgresql-client: `borderwatch db psql` and `psql \copy` for operators.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /wheels /tmp/wheels
RUN pip install /tmp/wheels/borderwatch-*.whl \
 && rm -rf /tmp/wheels \
 && useradd --system --home-dir /var/lib/borderwatch --create-home borderwatch

# The data folder (demo files, and whatever else borderwatch keeps there) is a volume in
# compose.yaml, shared by the dashboard and the one-shot commands.
USER borderwatch
WORKDIR /var/lib/borderwatch
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4)"
CMD ["borderwatch", "serve"]

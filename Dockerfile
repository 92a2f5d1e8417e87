# borderwatch application image: the dashboard under gunicorn by default; the same image runs
# the ETL commands (`docker compose run --rm dashboard borderwatch load incidents /data/x.csv`).
# The database is an external PostGIS (compose.yaml's `db` service): BORDERWATCH_DATABASE_URL.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BORDERWATCH_HOST=0.0.0.0 \
    BORDERWATCH_PORT=8050 \
    BORDERWATCH_DATA_DIR=/var/lib/borderwatch \
    BORDERWATCH_GEODATA_DIR=/app/geodata

WORKDIR /app
# postgresql-client: `borderwatch db psql` and `psql \copy` for operators.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY etl ./etl
COPY dashboard ./dashboard
COPY geodata ./geodata
RUN pip install . \
 && useradd --system --home /var/lib/borderwatch --create-home borderwatch

USER borderwatch
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4)"
CMD ["gunicorn", "--bind", "0.0.0.0:8050", "--workers", "2", "--threads", "4", "--timeout", "60", "dashboard.wsgi:server"]

# borderwatch: `make run` (whole system on its embedded PostGIS, demo data, dashboard)
# and `make test` (the full suite against a real PostGIS and a real headless Chromium).
# Both install what they need: the venv, PostGIS (apt, as root), Chromium (apt, as root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BW     := $(BIN)/borderwatch
STAMP  := $(VENV)/.installed
# apt-get that waits (10 min at most) for another apt or dpkg run's locks instead of failing
# with exit 100; standard library only, so the system Python runs it before the venv exists.
APT    := $(PYTHON) etl/warehouse/apt.py

.PHONY: run serve test install system-python browser-deps pdf-deps postgis db-stop bench lint readme-settings clean help

help:
	@echo "make run    - install, start the embedded PostGIS, load demo data if empty, serve :8050"
	@echo "make test   - install everything and run the whole test suite"
	@echo "make bench  - run the benchmarks and rewrite BENCHMARKS.md"
	@echo "make lint   - ruff and mypy"
	@echo "make db-stop - stop the embedded PostGIS cluster"

run: install
	$(BW) db start
	$(BW) db migrate
	$(BW) demo load --if-empty
	$(BW) users demo --if-none
	$(BW) serve

serve: install
	$(BW) serve

# -- installation ------------------------------------------------------------------------
system-python:
	@$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    $(APT) update -qq && $(APT) install -y -qq python3-venv python3-pip; \
	  else echo "Python's venv module is missing: sudo apt-get install python3-venv"; exit 1; fi; }

$(BIN)/python: | system-python
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing chromium and chromium-driver with apt-get..."; \
	    $(APT) update -qq && $(APT) install -y -qq chromium chromium-driver; \
	  else echo "The browser tests need Chromium: sudo apt-get install chromium chromium-driver"; exit 1; fi; \
	fi

# pdftotext/pdftoppm: the briefing tests read the generated PDF back.
pdf-deps:
	@if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing poppler-utils with apt-get..."; \
	    $(APT) update -qq && \
	    $(APT) install -y -qq poppler-utils; \
	  else echo "The briefing tests need pdftotext: sudo apt-get install poppler-utils"; exit 1; fi; \
	fi

postgis: install
	$(BW) db start

db-stop: install
	$(BW) db stop

# -- checks ------------------------------------------------------------------------------
# Two pytest workers (pytest-xdist), each with its own PostGIS cluster and browser, a test
# file to one worker (its module fixtures are built once); TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: install browser-deps pdf-deps
	$(BIN)/python -m pytest --headless -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check etl dashboard tests bench geodata
	$(BIN)/mypy --cache-dir var/mypy etl dashboard bench

bench: install
	$(BIN)/python -m bench

readme-settings: install  ## regenerate the settings table in README.md
	$(BIN)/python -c "import re, pathlib; from etl.cli.config import settings_markdown as m; p = pathlib.Path('README.md'); s = p.read_text(); p.write_text(re.sub(r'(<!-- settings-table:start -->\n).*?(\n<!-- settings-table:end -->)', lambda g: g.group(1) + m() + g.group(2), s, flags=re.S))"

clean:
	-$(BW) db stop
	rm -rf $(VENV) var tests/artifacts

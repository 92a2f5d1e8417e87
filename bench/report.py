"""Write benchmark results into ``BENCHMARKS.md`` (and raw JSON next to the cluster).

The file is a sequence of blocks, each between ``<!-- bench:KEY -->`` and ``<!-- /bench:KEY -->``.
A run replaces the blocks it measured and keeps the others (so ``python -m bench map`` does not
erase the load figures). Each block carries its own date and machine line, and its targets as a
JSON comment; the "Targets" table at the top is rebuilt from the targets of every block present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = re.compile(r"<!-- bench:(?P<key>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=key) -->\n?",
                   re.S)
TARGETS = re.compile(r"<!-- targets: (?P<json>.*?) -->")
FACTS = re.compile(r"<!-- facts: (?P<json>.*?) -->")

INTRO = """# borderwatch benchmarks

Written by `python -m bench` (`make bench`). Every figure below comes from the benchmark run whose
date and machine are printed with it; each ratio compares two things measured in the same run on
the same cluster. Performance is measured here, never asserted by timed tests. Raw results of the
latest runs are kept in `var/bench/results/*.json` (not committed).
"""

HOW_TO = """## How to reproduce

```sh
make bench                        # = .venv/bin/python -m bench all (every benchmark) on 1M rows
.venv/bin/python -m bench load --rows 3000000 --memory-only    # the 3M peak-memory run
.venv/bin/python -m bench map render --requests 300            # any subset, any size
.venv/bin/python -m bench roles --role-requests 100            # the map as each role sees it
.venv/bin/python -m bench forum --briefings 5                  # briefing pack + benchmarks page
.venv/bin/python -m bench concurrency --users 20 --seconds 60  # 20 clients, one worker profiled
.venv/bin/python -m bench crossing --rows 50000                # crossing page at the demo size
.venv/bin/python -m bench --wait-quiet 600                     # wait for an idle machine first
.venv/bin/python -m bench --quick                              # smoke run, 2,000 rows
.venv/bin/python -m bench --help
```

- The benchmarks start their own embedded PostgreSQL + PostGIS cluster in `var/bench` (same
  settings as `borderwatch db start`: fsync on; never the dev or test cluster) and stop it
  again if they started it. Each run rebuilds a template database (migrations, then
  `load geodata`) and loads into fresh databases made from it.
- Input files come from the real generator, `borderwatch demo generate --incidents N --days 730
  --seed 2009`, into `var/bench/data/` (reused while size, days and seed match).
- `map`, `roles` and `render` reuse the warehouse the last `load` filled from the same file (same
  sha256), or load it first (not timed).
- A run rewrites only the sections it measured; the others stay as they were, with their own
  date. `--quick` writes to `var/bench/BENCHMARKS.quick.md` unless `--out` says otherwise.
- This machine is shared: every section says how busy it was with other work while it ran.
"""

NOT_MEASURED = """## What is not measured here

- Load: flows and benchmark-assessment files, GeoJSON/GeoPackage inputs, loads with many
  rejected rows, and two concurrent loads; the PostgreSQL server's own memory.
- Map: network transfer and browser-side rendering of each update (the server time is the time
  to answer the request inside the server process, measured with the Flask test client, no
  network); gzip (payload sizes are uncompressed JSON); concurrency (one request at a time).
- First render: only the situation page, on the same machine as the server (loopback), with an
  empty browser cache and with a warm one; no throttled network or slow-CPU emulation.
"""


@dataclass
class Target:
    """One target of an issue and whether this run met it."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: reported, no pass/fail threshold

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal, "measured": self.measured, "met": self.met}


@dataclass
class Section:
    """One block of BENCHMARKS.md: markdown text, its targets and the raw figures."""

    key: str
    markdown: str
    targets: list[Target] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def block(self) -> str:
        targets = json.dumps([t.as_dict() for t in self.targets], ensure_ascii=False)
        facts = f"<!-- facts: {json.dumps(self.facts)} -->\n" if self.facts else ""
        return (f"<!-- bench:{self.key} -->\n{self.markdown.rstrip()}\n\n"
                f"<!-- targets: {targets} -->\n{facts}<!-- /bench:{self.key} -->\n")


def _order(key: str) -> tuple[int, int, str]:
    prefix, _, rest = key.partition("-")
    rank = {"machine": 0, "load": 1, "map": 2, "render": 3, "forum": 4, "hotspots": 5,
            "crossing": 6}.get(prefix, 9)
    size = int(rest) if rest.isdigit() else 0
    return rank, size, key


def read_blocks(text: str) -> dict[str, str]:
    """Key -> whole block text (markers included) of every block in ``text``."""
    return {m["key"]: m.group(0).rstrip("\n") + "\n" for m in BLOCK.finditer(text)}


def _targets_table(blocks: dict[str, str]) -> str:
    rows = []
    for key in sorted(blocks, key=_order):
        for m in TARGETS.finditer(blocks[key]):
            for t in json.loads(m["json"]):
                verdict = {True: "met", False: "**missed**", None: "reported"}[t["met"]]
                rows.append(f"| {t['name']} | {t['goal']} | {t['measured']} | {verdict} |")
    if not rows:
        return ""
    return ("## Targets\n\n| what | target | measured | |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n\nDetails, baselines and the machine in the sections below.\n")


def _memory_trend(blocks: dict[str, str]) -> str:
    """Peak memory against file size from the load sections present of 100,000 rows or more
    (an extrapolation of measured figures, said as such)."""
    points = []
    for key, text in blocks.items():
        found = FACTS.search(text)
        if key.startswith("load-") and found:
            facts = json.loads(found["json"])
            if "rows" in facts and "peak_rss" in facts and int(facts["rows"]) >= 100_000:
                points.append((int(facts["rows"]), float(facts["peak_rss"]), facts.get("when")))
    points.sort()
    if len({p[0] for p in points}) < 2:
        return ""
    rows_md = ["| rows | peak RSS of the load | measured |", "|---|---|---|"]
    rows_md += [f"| {r:,} | {m / 2**20:,.0f} MiB ({m / 1e6:,.0f} MB) | {when or '?'} |"
                for r, m, when in points]
    (r0, m0, _), (r1, m1, _) = points[-2], points[-1]
    slope = (m1 - m0) / (r1 - r0)
    per_million = slope * 1e6 / 2**20
    line = (f"Between the two largest files ({r0:,} and {r1:,} rows) the peak changes by "
            f"{per_million:+,.0f} MiB per million rows ({m0 / 2**20:,.0f} → {m1 / 2**20:,.0f} MiB)")
    if per_million > 1:
        at = r1 + (500e6 - m1) / slope
        line += (f"; on that line it would pass 500 MB at about {at / 1e6:,.1f} million rows "
                 "(an extrapolation, not a measurement)")
    else:
        line += ": no growth between these two files"
    dates = sorted({p[2] for p in points if p[2]})
    if len(dates) > 1:
        line += ". The points come from separate runs"
    return ("### Peak memory against file size\n\n" + "\n".join(rows_md) + "\n\n" + line
            + ".\n")


def render(blocks: dict[str, str]) -> str:
    """The whole file for these blocks."""
    parts = [INTRO, _targets_table(blocks)]
    ordered = sorted(blocks, key=_order)
    for key in ordered:
        parts.append(blocks[key])
        later = ordered[ordered.index(key) + 1:]
        if key.startswith("load-") and not any(k.startswith("load-") for k in later):
            parts.append(_memory_trend(blocks))
    parts += [HOW_TO, NOT_MEASURED]
    return "\n".join(p.rstrip() + "\n" for p in parts if p)


def update(path: Path, sections: list[Section], results_dir: Path | None = None) -> None:
    """Replace (or add) ``sections`` in the report at ``path``; keep its other blocks."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    blocks = read_blocks(old)
    for s in sections:
        blocks[s.key] = s.block()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(blocks), encoding="utf-8")
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        for s in sections:
            (results_dir / f"{s.key}.json").write_text(
                json.dumps({"targets": [t.as_dict() for t in s.targets], **s.data}, indent=2,
                           default=str) + "\n", encoding="utf-8")


# -- small formatting helpers ---------------------------------------------------------------


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def secs(value: float) -> str:
    return f"{value:,.1f} s" if value >= 10 else f"{value:,.2f} s"


def ms(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value >= 0.01 else f"{value * 1000:,.1f} ms"


def machine_section(info: dict[str, str], when: str, commit: str) -> Section:
    """The machine block (of the latest run)."""
    rows = [[k, v] for k, v in info.items()]
    md = (f"## Machine (latest run: {when}, commit {commit})\n\n"
          + table(["", ""], rows))
    return Section(key="machine", markdown=md, data={"machine": info, "when": when,
                                                      "commit": commit})


def machine_line(info: dict[str, str], when: str, commit: str) -> str:
    """One line naming the run: date, commit, CPU, cores, RAM, PostgreSQL/PostGIS."""
    pg = info.get("postgresql", "?")
    gis = info.get("postgis", "?").split(" ")[0]
    return (f"*Measured {when} at commit {commit} on {info.get('cpu', '?')}, "
            f"{info.get('cores', '?')} cores, {info.get('ram', '?')} RAM, {info.get('os', '?')}, "
            f"PostgreSQL {pg}, PostGIS {gis}.*")


def with_machine(section: Section, line: str) -> Section:
    """Insert the run's machine line under the section's title."""
    title, _, rest = section.markdown.partition("\n")
    section.markdown = f"{title}\n\n{line}\n{rest}"
    return section

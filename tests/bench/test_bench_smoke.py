"""Smoke test of the benchmarks: load, map, roles, render, forum, hotspots and crossing run in quick mode
on a few thousand rows (one invocation, a private throwaway cluster) and write a well-formed
report. No timing is asserted: performance is measured by ``make bench`` and written to BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import BLOCK, TARGETS, read_blocks
from etl.settings import PROJECT_ROOT

ROWS = 2000


def _targets(block: str) -> list[dict]:
    found = TARGETS.search(block)
    assert found, block
    targets = json.loads(found["json"])
    assert targets
    for t in targets:
        assert set(t) == {"name", "goal", "measured", "met"}
        assert t["met"] in (True, False, None)
    return targets


@pytest.mark.browser
def test_every_benchmark_runs_and_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# old\n<!-- bench:load-42 -->\nkept\n<!-- /bench:load-42 -->\n")
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--rows", str(ROWS), "--out", str(out),
         "--results-dir", str(results), "--private-cluster", "--seconds", "6", "--users", "5"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1080,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    text = out.read_text()
    blocks = read_blocks(text)
    assert set(blocks) == {"machine", "load-42", f"load-{ROWS}", "map", "roles", "render",
                           "forum", "concurrency", "hotspots", f"crossing-{ROWS}"}
    assert "kept" in blocks["load-42"], "a run keeps the sections it did not measure"
    assert len(BLOCK.findall(text)) == len(blocks)
    assert text.startswith("# borderwatch benchmarks") and "## How to reproduce" in text
    assert "| cpu |" in blocks["machine"] and "| postgis |" in blocks["machine"]
    for key in (f"load-{ROWS}", "map", "roles", "render", "forum", "concurrency", "hotspots",
                f"crossing-{ROWS}"):
        assert "*Measured " in blocks[key] and "Machine during this benchmark" in blocks[key]
        _targets(blocks[key])

    def result(key: str) -> dict:
        return json.loads((results / f"{key}.json").read_text())

    load = result(f"load-{ROWS}")
    assert set(load["steps"]) == {"first", "second", "copy_text", "copy_typed", "to_postgis"}
    assert all(s["seconds"] > 0 and s["peak_tree_rss"] > 0 for s in load["steps"].values())
    for rep in load["reports"].values():
        assert rep["read"] == ROWS
        assert rep["read"] == rep["inserted"] + rep["updated"] + rep["unchanged"] + rep["rejected"]
    assert load["reports"]["second"]["inserted"] == 0

    mapped = result("map")
    assert mapped["samples"]["incidents"]["seconds"]["n"] == mapped["requests"] > 0
    assert mapped["naive"]["seconds"]["n"] > 0
    assert "| incidents callback" in blocks["map"]

    roles = result("roles")
    assert set(roles["times"]) == {"admin", "national_officer", "forum_viewer"}
    assert all(t["update"]["n"] == roles["requests"] == 5 for t in roles["times"].values())
    assert roles["country"] and "| national officer | incidents |" in blocks["roles"]

    forum = result("forum")
    (pack,) = forum["briefing"]["runs"]
    assert pack["pages"] >= 11 and pack["bytes"] > 10_000 and pack["seconds"] > 0
    assert forum["page"]["round"]["n"] == forum["page"]["country"]["n"] == 5
    assert "| round callback" in blocks["forum"] and "Briefing pack" in blocks["forum"]

    spots = result("hotspots")
    assert spots["full_s"] > 0 and set(spots["stages"]) >= {"counts", "gi*", "space-time gi*"}
    assert spots["esda"]["static_max_dz"] < 1e-6 and spots["esda"]["st_max_dz"] < 1e-6
    assert spots["recounted_again"] == 0
    assert "| Gi* of the period" in blocks["hotspots"]

    crossing = result(f"crossing-{ROWS}")
    assert crossing["flow_rows"] > 0 and crossing["code"]
    for key in ("flows", "waits", "mirror", "incidents", "risk", "layout", "csv", "view"):
        assert crossing["times"][key]["n"] == 5, key
    assert "| flows callback" in blocks[f"crossing-{ROWS}"]

    loads = result("render")["loads"]
    assert [r["cache"] for r in loads] == ["cold", "warm"]
    for r in loads:
        assert r["ready"] is not None, json.dumps(r)[-4000:]
        assert all(n > 0 for n in r["counts"].values()), r["counts"]

    busy = result("concurrency")
    overall = next(s for s in busy["stats"] if s["Name"] == "Aggregated")
    assert int(overall["Request Count"]) > 0 and int(overall["Failure Count"]) == 0
    assert busy["profiles"]["wall"]["samples"] > 0, "py-spy sampled a worker"
    assert "| incidents callback" in blocks["concurrency"]

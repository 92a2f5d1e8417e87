"""``python -m bench [all | load map roles render forum concurrency hotspots crossing] [--rows N] ...``:
run the benchmarks, then update BENCHMARKS.md.

Examples
--------
``python -m bench all`` (what ``make bench`` runs), ``python -m bench load --rows 3000000
--memory-only``, ``python -m bench map render --requests 300``, ``python -m bench --quick``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import env, report
from bench.data import DEFAULT_DAYS, DEFAULT_SEED, ensure_demo
from bench.measure import Contention, describe_contention, wait_quiet
from bench.report import Section, machine_line
from etl.errors import BorderwatchError
from etl.settings import PROJECT_ROOT

QUICK_ROWS, QUICK_DAYS = 2000, 14
BENCHMARKS = ("load", "map", "roles", "render", "forum", "concurrency", "hotspots", "crossing")


MEASURED = ("etl", "dashboard", "geodata", "pyproject.toml")


def _code_fingerprint() -> str:
    """Short sha1 of the measured code (etl/, dashboard/, geodata/ sources)."""
    digest = hashlib.sha1()
    for folder in MEASURED[:3]:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".js", ".css", ".geojson", ".csv",
                                                  ".yaml", ".mako"}:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _commit() -> str:
    """The commit measured, and whether the measured code (not bench/) had local changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", *MEASURED)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if not head:
        return "unknown"
    if dirty:
        return f"`{head}` + uncommitted changes to the measured code (fingerprint {_code_fingerprint()})"
    return f"`{head}`"


def _db_settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SystemExit(f"--db-setting wants NAME=VALUE, not {pair!r}")
        out[name.strip()] = value.strip()
    return out


def whatif(section: Section, options: dict[str, str]) -> Section:
    """Mark a section measured with non-default database settings (its own block)."""
    if not options:
        return section
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    section.key += "-" + "-".join(re.sub(r"\W+", "-", f"{k}-{v}") for k, v in options.items())
    title, _, rest = section.markdown.partition("\n")
    section.markdown = (f"{title} — what-if: `{text}`\n\nWith `ALTER DATABASE ... SET {text}` "
                        "on the warehouse during this run (not the shipped configuration); "
                        "targets below are for comparison only.\n" + rest)
    for t in section.targets:
        t.name += f" [what-if {text}]"
        t.met = None
    return section


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", nargs="*", default=None, metavar="BENCHMARK",
                   help="all (default), or one or more of: " + ", ".join(BENCHMARKS))
    p.add_argument("--rows", type=int, default=None,
                   help=f"incidents in the data set (default 1,000,000; --quick: {QUICK_ROWS:,})")
    p.add_argument("--days", type=int, default=None,
                   help=f"days of history of the data set (default {DEFAULT_DAYS}; --quick: "
                        f"{QUICK_DAYS})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="demo generator seed")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: a few thousand rows, few requests, one browser load")
    p.add_argument("--memory-only", action="store_true",
                   help="load: only the first load and its peak memory (no baselines)")
    p.add_argument("--requests", type=int, default=None,
                   help="map: random viewport/filter updates (default 200; --quick: 12)")
    p.add_argument("--baseline-requests", type=int, default=None,
                   help="map: how many of them also run the naive baseline (default 60)")
    p.add_argument("--users", type=int, default=20,
                   help="concurrency: locust users without think time (default 20)")
    p.add_argument("--seconds", type=int, default=None,
                   help="concurrency: how long the users run (default 60; --quick: 12)")
    p.add_argument("--renders", type=int, default=None,
                   help="render: warm page loads after the cold one (default 5; --quick: 1)")
    p.add_argument("--briefings", type=int, default=None,
                   help="forum: timed briefing packs after a warm-up (default 3; --quick: 1)")
    p.add_argument("--page-requests", type=int, default=None,
                   help="forum: random benchmarks-page updates (default 100; --quick: 5)")
    p.add_argument("--role-requests", type=int, default=None,
                   help="roles: random map updates per role (default 60; --quick: 5)")
    p.add_argument("--crossing-requests", type=int, default=None,
                   help="crossing: random views of the busiest crossing's page (default 100; "
                        "--quick: 5)")
    p.add_argument("--out", type=Path, default=None,
                   help="report file (default BENCHMARKS.md; --quick: var/bench/BENCHMARKS.quick.md)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each benchmark, wait up to SECONDS for the 1-min load average "
                        "to drop below 0.5 (other work on the machine skews the figures)")
    p.add_argument("--db-setting", action="append", default=[], metavar="NAME=VALUE",
                   help="map/render: a PostgreSQL setting for the warehouse during the run, "
                        "e.g. jit=off (a what-if; the section is then reported separately)")
    p.add_argument("--data-dir", type=Path, default=env.BENCH_DIR,
                   help="folder of the benchmark cluster, data and results (default var/bench)")
    p.add_argument("--results-dir", type=Path, default=None,
                   help="raw JSON results (default DATA_DIR/results, --quick: results-quick)")
    p.add_argument("--private-cluster", action="store_true",
                   help="use a throwaway cluster of this run only (removed at the end)")
    args = p.parse_args(argv)
    unknown = set(args.benchmark or []) - {"all", *BENCHMARKS}
    if unknown:
        p.error(f"unknown benchmark {', '.join(sorted(unknown))} (use all, {', '.join(BENCHMARKS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    quick = args.quick
    rows = args.rows or (QUICK_ROWS if quick else 1_000_000)
    days = args.days or (QUICK_DAYS if quick else DEFAULT_DAYS)
    out = args.out or (args.data_dir / "BENCHMARKS.quick.md" if quick
                       else PROJECT_ROOT / "BENCHMARKS.md")
    results_dir = args.results_dir or args.data_dir / ("results-quick" if quick else "results")
    chosen = args.benchmark or ["all"]
    which = set(BENCHMARKS) if "all" in chosen else set(chosen)
    began = time.perf_counter()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = _commit()
    sections: list[Section] = []

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f} s] {text}", flush=True)

    with env.bench_cluster(args.data_dir, prefix="benchq" if quick else "bench",
                           private=args.private_cluster) as bench:
        info = env.machine(bench)
        line = machine_line(info, when, commit)
        sections.append(report.machine_section(info, when, commit))

        def measured(make: Callable[[], Section]) -> Section:
            if args.wait_quiet:
                wait_quiet(args.wait_quiet, say=say)
            watch = Contention(bench.cluster.pid())
            section = make()
            watch.add_own(float(section.data.get("browser_cpu_s", 0.0)))
            busy = watch.finish()
            section.data["contention"] = busy
            if section.facts:
                section.facts["when"] = when
            section.markdown += "\n\n" + describe_contention(busy)
            section = report.with_machine(section, line)
            report.update(out, [sections[0], section], results_dir)  # keep it if a later one fails
            say(f"wrote {section.key} to {out}")
            return section

        from bench import load

        data = ensure_demo(rows, days=days, seed=args.seed, root=args.data_dir / "data",
                           say=say)
        if "load" in which:
            sections.append(measured(lambda: load.run(
                bench, data, memory_only=args.memory_only, copy_repeats=1 if quick else 2,
                repeats=1 if quick or args.memory_only else 3, say=say)))
        if which & {"map", "roles", "render", "forum", "concurrency", "hotspots", "crossing"}:
            from bench import map as map_bench

            url = map_bench.ensure_loaded(bench, data, say=say)
            loaded = data
            options = _db_settings(args.db_setting)
            database = load.loaded_database(bench, rows)
            bench.set_options(database, options)
            try:
                if "map" in which:
                    sections.append(measured(lambda: whatif(map_bench.run(
                        url, loaded, requests=args.requests or (12 if quick else 200),
                        baseline_requests=args.baseline_requests or (6 if quick else 60),
                        seed=args.seed, say=say), options)))
                if "roles" in which:
                    from bench import roles

                    sections.append(measured(lambda: whatif(roles.run(
                        url, loaded, requests=args.role_requests or (5 if quick else 60),
                        seed=args.seed, say=say), options)))
                if "render" in which:
                    from bench import render

                    sections.append(measured(lambda: whatif(render.run(
                        url, loaded, warm=args.renders or (1 if quick else 5), say=say),
                        options)))
                if "forum" in which:
                    from bench import forum

                    forum.ensure_programme(bench, url, loaded, say=say)
                    sections.append(measured(lambda: whatif(forum.run(
                        url, loaded, repeats=args.briefings or (1 if quick else 3),
                        requests=args.page_requests or (5 if quick else 100), seed=args.seed,
                        say=say), options)))
                if "concurrency" in which:
                    from bench import concurrency

                    sections.append(measured(lambda: whatif(concurrency.run(
                        url, loaded, root=args.data_dir, users=args.users,
                        seconds=args.seconds or (12 if quick else 60),
                        postgres_pid=bench.cluster.pid(), seed=args.seed, say=say), options)))
                if "crossing" in which:
                    from bench import crossing
                    from bench import forum as programme

                    programme.ensure_programme(bench, url, loaded, say=say)  # the flows
                    sections.append(measured(lambda: whatif(crossing.run(
                        url, loaded, requests=args.crossing_requests or (5 if quick else 100),
                        seed=args.seed, say=say), options)))
            finally:
                bench.set_options(database, dict.fromkeys(options, ""))
            if "hotspots" in which:
                from bench import hotspots

                sections.append(measured(lambda: hotspots.run(url, loaded, say=say)))
    say(f"done: {out} ({', '.join(s.key for s in sections[1:])}) in "
        f"{time.perf_counter() - began:.0f} s")
    return 0


def _main_safely() -> int:
    try:
        return main()
    except (RuntimeError, BorderwatchError) as exc:
        message = exc.user_message if isinstance(exc, BorderwatchError) else str(exc)
        print(f"bench failed: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; BENCHMARKS.md was not changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(_main_safely())

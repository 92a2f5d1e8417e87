"""Benchmark input files, written by the real demo generator (``borderwatch demo generate``).

Files live in ``var/bench/data/demo-<rows>-<days>d-s<seed>/`` and are reused while their
``ground_truth.json`` says they were generated with the same size, days and seed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.env import BENCH_DIR
from bench.measure import run_measured
from etl.settings import PROJECT_ROOT

DEFAULT_DAYS = 730
DEFAULT_SEED = 2009


@dataclass(frozen=True)
class DemoData:
    """One generated demo dataset."""

    folder: Path
    rows: int
    days: int
    seed: int
    first_day: date
    last_day: date
    generated_s: float | None

    @property
    def incidents(self) -> Path:
        return self.folder / "incidents.csv"

    @property
    def size_bytes(self) -> int:
        return self.incidents.stat().st_size


def borderwatch_exe() -> str:
    """The ``borderwatch`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("borderwatch")
    return str(exe) if exe.exists() else "borderwatch"


def _read_truth(folder: Path) -> dict | None:
    try:
        return dict(json.loads((folder / "ground_truth.json").read_text()))
    except (OSError, json.JSONDecodeError):
        return None


def generator_fingerprint() -> str:
    """Short sha1 of the demo generator's sources: files from another version are remade."""
    digest = hashlib.sha1()
    for path in sorted((PROJECT_ROOT / "etl" / "demo").rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def ensure_demo(rows: int, *, days: int = DEFAULT_DAYS, seed: int = DEFAULT_SEED,
                root: Path = BENCH_DIR / "data", say: Callable[[str], None] = print) -> DemoData:
    """Generate (or reuse) the demo dataset with ``rows`` incidents.

    Reused while the folder's ground truth names the same size, days and seed and it was
    written by the same generator sources; otherwise written again (into a temporary folder,
    then renamed, so a parallel run never reads a half-written file).

    Raises
    ------
    RuntimeError
        ``borderwatch demo generate`` failed.
    """
    folder = root / f"demo-{rows}-{days}d-s{seed}"
    stamp = folder / "bench-generator.txt"
    fingerprint = generator_fingerprint()
    truth = _read_truth(folder)
    gen = (truth or {}).get("generator", {})
    elapsed = None
    fresh = (truth is not None and (folder / "incidents.csv").exists()
             and gen.get("incidents") == rows and gen.get("days") == days
             and gen.get("seed") == seed and stamp.exists()
             and stamp.read_text().strip() == fingerprint)
    if not fresh:
        say(f"generating {rows:,} incidents over {days} days (borderwatch demo generate) ...")
        began = time.perf_counter()
        building = root / f".{folder.name}-{uuid.uuid4().hex[:8]}"
        run = run_measured([borderwatch_exe(), "demo", "generate", "--out", str(building),
                            "--incidents", str(rows), "--days", str(days), "--seed", str(seed)])
        elapsed = time.perf_counter() - began
        if run.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"demo generate failed: {run.stderr[-2000:]}")
        (building / stamp.name).write_text(fingerprint + "\n")
        old = root / f".{folder.name}-old-{uuid.uuid4().hex[:8]}"
        if folder.exists():
            folder.rename(old)
        building.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
        truth = _read_truth(folder)
        gen = (truth or {}).get("generator", {})
    return DemoData(folder=folder, rows=rows, days=days, seed=seed,
                    first_day=date.fromisoformat(gen["first_day"]),
                    last_day=date.fromisoformat(gen["last_day"]), generated_s=elapsed)


def sample_locations(path: Path, n: int, seed: int) -> np.ndarray:
    """``n`` (lon, lat) pairs drawn at random from the located rows of an incidents CSV."""
    frame = pd.read_csv(path, usecols=["lat", "lon"], dtype="float64").dropna()
    rng = np.random.default_rng(seed)
    take = rng.choice(len(frame), size=min(n, len(frame)), replace=len(frame) < n)
    return frame[["lon", "lat"]].to_numpy()[take]


def warm_page_cache(path: Path) -> None:
    """Read the file once so every timed reader finds it in the page cache."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass

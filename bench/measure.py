"""Measuring helpers: run a command while polling the memory of its whole process tree,
and summary statistics.

Peak memory is measured two ways: psutil polls the resident set size (RSS) of the process and
all its descendants every ``interval`` seconds and keeps the highest *sum*; the kernel reports
the exact maximum RSS of the command's process (``wait4``'s ``ru_maxrss``, the largest of the
process and the descendants it waited for). A command that ends between two polls still has a
peak: the tree's peak is never below the kernel's figure. A server that the command talks to
(PostgreSQL) is not part of the tree and is not counted.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MIB = 2**20


@dataclass
class Run:
    """A finished command: exit status, wall time, peak memory and its output."""

    returncode: int
    seconds: float
    peak_tree_rss: int
    max_rss_single: int
    stdout: str
    stderr: str
    samples: int = 0

    def json(self) -> dict:
        """The last line of stdout that parses as a JSON object."""
        for line in reversed(self.stdout.strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return dict(json.loads(line))
                except json.JSONDecodeError:
                    continue
        raise ValueError(f"no JSON object in the output: {self.stdout[-500:]!r} "
                         f"{self.stderr[-2000:]!r}")


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        members = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, interval: float = 0.05,
                 timeout: float | None = None) -> Run:
    """Run ``cmd`` to completion, polling the RSS of its process tree.

    Parameters
    ----------
    cmd
        The command and its arguments.
    env
        Extra environment variables (added to this process's environment).
    interval
        Seconds between two polls.
    timeout
        Kill the command after this many seconds.
    """
    full_env = dict(os.environ, **(env or {}))
    began = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    chunks: dict[str, list[str]] = {"out": [], "err": []}

    def drain(stream: object, key: str) -> None:
        for line in stream:  # type: ignore[attr-defined]
            chunks[key].append(line)

    readers = [threading.Thread(target=drain, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, "err"), daemon=True)]
    for t in readers:
        t.start()
    watched = psutil.Process(proc.pid)
    peak, samples = 0, 0
    while True:
        peak = max(peak, _tree_rss(watched))
        samples += 1
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if timeout is not None and time.perf_counter() - began > timeout:
            proc.kill()
        time.sleep(interval)
    seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(timeout=10)
    max_rss = int(usage.ru_maxrss) * 1024  # kilobytes on Linux
    return Run(
        returncode=int(proc.returncode), seconds=seconds, peak_tree_rss=max(peak, max_rss),
        max_rss_single=max_rss, stdout="".join(chunks["out"]), stderr="".join(chunks["err"]),
        samples=samples,
    )


@dataclass
class Summary:
    """p50 / p95 / max / mean of a sample (``nan`` when empty)."""

    n: int
    p50: float
    p95: float
    max: float
    mean: float
    values: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        vals = sorted(float(v) for v in values)
        if not vals:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, [])
        return cls(len(vals), percentile(vals, 50), percentile(vals, 95), vals[-1],
                   sum(vals) / len(vals), vals)

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50": self.p50, "p95": self.p95, "max": self.max,
                "mean": self.mean}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation between closest ranks)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return float(sorted_values[lo])
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


# ------------------------------------------------------------------ other load on the machine


_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat: user, nice, system,
    irq, softirq; not idle, iowait or steal)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6) if i < len(fields)) / _TICK


def tree_cpu_s(root: psutil.Process, include_root: bool = True) -> float:
    """CPU seconds of ``root`` and its live descendants, each with its waited-for children."""
    total = 0.0
    try:
        members = ([root] if include_root else []) + root.children(recursive=True)
    except psutil.Error:
        return 0.0
    for p in members:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class Contention:
    """How busy the machine was with *other* work while a benchmark ran.

    Other work = CPU seconds the whole machine was busy (/proc/stat) minus the CPU seconds of
    this process, its children (alive or finished) and the benchmark's PostgreSQL server
    (``server_pid`` and its backends, alive or finished). Also the 1-minute load average at
    start and end.
    """

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.began = time.perf_counter()
        self.load_start = os.getloadavg()[0]
        self.busy_start = _machine_busy_s()
        self.ours_start = self._ours()
        self.extra_own = 0.0

    def add_own(self, cpu_seconds: float) -> None:
        """CPU of benchmark processes this process never waits for (a browser, say)."""
        self.extra_own += cpu_seconds

    def _ours(self) -> float:
        total = tree_cpu_s(psutil.Process())
        if self.server_pid:
            try:
                total += tree_cpu_s(psutil.Process(self.server_pid))
            except psutil.Error:
                pass
        return total

    def finish(self) -> dict[str, float]:
        """Figures of the observed interval."""
        seconds = time.perf_counter() - self.began
        busy = _machine_busy_s() - self.busy_start
        ours = self._ours() - self.ours_start + self.extra_own
        other = max(0.0, busy - ours)
        cores = psutil.cpu_count() or 1
        return {
            "seconds": seconds,
            "load_start": self.load_start,
            "load_end": os.getloadavg()[0],
            "cpu_utilisation": busy / (seconds * cores) if seconds else 0.0,
            "own_cpu_s": ours,
            "other_cpu_s": other,
            "other_cores": other / seconds if seconds else 0.0,
            "cores": cores,
        }


def describe_contention(c: dict[str, float]) -> str:
    """One sentence for the report."""
    verdict = ("quiet" if c["other_cores"] < 0.15 else
               "**busy with other work: the times are pessimistic**")
    return (f"Machine during this benchmark ({c['seconds']:.0f} s): {verdict}. Other processes "
            f"used {c['other_cpu_s']:.0f} CPU-s ({c['other_cores']:.2f} of {c['cores']} cores on "
            f"average), the benchmark and its PostgreSQL {c['own_cpu_s']:.0f} CPU-s; 1-min load "
            f"average {c['load_start']:.2f} → {c['load_end']:.2f}.")


def wait_quiet(max_seconds: float, threshold: float = 0.5, say=print) -> float:  # type: ignore[no-untyped-def]
    """Wait (at most ``max_seconds``) until the 1-min load average is below ``threshold``."""
    deadline = time.monotonic() + max_seconds
    load = os.getloadavg()[0]
    announced = False
    while load >= threshold and time.monotonic() < deadline:
        if not announced:
            say(f"waiting for a quiet machine (load average {load:.2f}) ...")
            announced = True
        time.sleep(5)
        load = os.getloadavg()[0]
    return load

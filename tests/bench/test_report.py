"""The report's memory-against-size paragraph says what the measured points show."""

from __future__ import annotations

import json

from bench.report import render


def _load_block(rows: int, peak_mib: float) -> str:
    facts = {"rows": rows, "peak_rss": peak_mib * 2**20, "when": "2026-11-26 21:00 UTC"}
    return (f"<!-- bench:load-{rows} -->\n## Load\n<!-- facts: {json.dumps(facts)} -->\n"
            f"<!-- /bench:load-{rows} -->")


def _trend(points: list[tuple[int, float]]) -> str:
    text = render({f"load-{r}": _load_block(r, m) for r, m in points})
    return text.split("### Peak memory against file size", 1)[1].split("<!--", 1)[0]


def test_a_flat_tail_is_reported_as_no_growth_with_every_point_listed() -> None:
    trend = _trend([(1_000_000, 350), (3_000_000, 410), (6_000_000, 412)])
    assert "| 3,000,000 | 410 MiB" in trend and "| 6,000,000 | 412 MiB" in trend
    assert "+1 MiB per million rows (410 → 412 MiB): no growth" in trend
    assert "extrapolation" not in trend


def test_growth_is_extrapolated_and_said_to_be_an_extrapolation() -> None:
    trend = _trend([(1_000_000, 350), (3_000_000, 430)])
    assert "+40 MiB per million rows" in trend
    assert "would pass 500 MB at about 4.2 million rows (an extrapolation" in trend


def test_one_size_gives_no_paragraph() -> None:
    text = render({"load-1000000": _load_block(1_000_000, 350)})
    assert "Peak memory against file size" not in text

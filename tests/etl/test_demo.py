"""The demo dataset: deterministic, realistic where it claims to be, and clean for the loader."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from etl.cli import cli_group
from etl.demo import DemoSpec, generate
from etl.demo.load import load_demo
from etl.demo.reference import TARGETS, read_reference
from etl.errors import ConfigurationError
from etl.load import iter_rejects, load_file
from etl.settings import SHIPPED_GEODATA, Settings
from etl.sources.incidents import SUBTYPES

END = dt.date(2025, 10, 31)
FILES = ("incidents.csv", "flows.csv", "benchmarks.csv", "ground_truth.json")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance in km."""
    p0, p = np.radians(lat0), np.radians(lat)
    a = (np.sin((p - p0) / 2) ** 2
         + np.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def year_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of 20,000 incidents (about a second to generate)."""
    out = tmp_path_factory.mktemp("demo_year")
    generate(out, DemoSpec(incidents=20_000, days=365, seed=11, end=END),
             geodata_dir=SHIPPED_GEODATA)
    return out


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    spec = DemoSpec(incidents=1_500, days=20, seed=3, end=END)
    generate(tmp_path / "a", spec, geodata_dir=SHIPPED_GEODATA)
    generate(tmp_path / "b", spec, geodata_dir=SHIPPED_GEODATA)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate(tmp_path / "c", DemoSpec(incidents=1_500, days=20, seed=4, end=END),
             geodata_dir=SHIPPED_GEODATA)
    assert (tmp_path / "a" / "incidents.csv").read_bytes() != (
        tmp_path / "c" / "incidents.csv").read_bytes()


def test_hotspots_are_denser_than_their_surroundings(year_demo: Path) -> None:
    truth = json.loads((year_demo / "ground_truth.json").read_text())
    assert truth["illustrative"] is True and len(truth["hotspots"]) >= 2
    inc = _read(year_demo / "incidents.csv")
    inc = inc[inc["lat"] != ""]
    lat, lon = inc["lat"].astype(float).to_numpy(), inc["lon"].astype(float).to_numpy()
    day = inc["occurred_at"].str[:10].to_numpy()  # local date, as the ground truth
    for h in truth["hotspots"]:
        d = _km(h["lat"], h["lon"], lat, lon)
        during = (day >= h["start"]) & (day <= h["end"])
        n_days = (dt.date.fromisoformat(h["end"]) - dt.date.fromisoformat(h["start"])).days + 1
        inside_rate = (during & (d <= h["radius_km"])).sum() / n_days
        before_after = (~during & (d <= h["radius_km"])).sum() / (365 - n_days)
        ring = during & (d > h["radius_km"]) & (d <= 3 * h["radius_km"])
        # per km² during the period: the disc against the ring around it (8x its area)
        disc_density = (during & (d <= h["radius_km"])).sum() / 1.0
        ring_density = ring.sum() / 8.0
        assert inside_rate > 5 * max(before_after, 0.05), h
        assert disc_density > 5 * max(ring_density, 0.5), h
        assert (during & (d <= h["radius_km"])).sum() >= 0.8 * h["extra_incidents"], h


def test_incidents_are_plausible(year_demo: Path) -> None:
    inc = _read(year_demo / "incidents.csv")
    assert len(inc) == 20_000 and inc["incident_id"].is_unique
    assert set(inc["subtype"]) <= set(SUBTYPES)
    assert set(inc["reporting_country"]) <= set(TARGETS)
    persons = inc["persons"].astype(int)
    assert persons.between(0, 40).all() and persons.median() <= 3 and persons.max() >= 25
    shares = inc["subtype"].value_counts(normalize=True)
    assert shares.index[0] == "between_bcps" and shares["between_bcps"] > 0.4
    assert inc["impact"].isin(["low", "medium"]).mean() > 0.85
    # located by a point inside the reporting country, or by a known BCP code
    ref = read_reference(SHIPPED_GEODATA)
    located = inc[inc["lat"] != ""]
    inside = ref.contains(located["reporting_country"].to_numpy(),
                          located["lon"].astype(float).to_numpy(),
                          located["lat"].astype(float).to_numpy())
    assert inside.all()
    coded = inc[inc["lat"] == ""]
    assert len(coded) > 0 and coded["bcp_code"].isin(set(ref.bcps["code"])).all()
    # corridors: the Western Balkan and Eastern Mediterranean borders carry most of it
    assert inc["reporting_country"].isin(["RS", "TR", "MK", "HR", "BA"]).mean() > 0.7
    # seasons: late summer and autumn outnumber late winter
    month = inc["occurred_at"].str[5:7]
    assert month.isin(["08", "09", "10"]).sum() > 1.5 * month.isin(["01", "02", "03"]).sum()


def test_flows_cover_every_crossing_with_peaks_and_paired_counts(year_demo: Path) -> None:
    ref = read_reference(SHIPPED_GEODATA)
    flows = _read(year_demo / "flows.csv")
    assert set(flows["bcp_code"]) == set(ref.bcps["code"])
    key = ["bcp_code", "reporting_country", "date", "direction", "category"]
    assert len(flows.drop_duplicates(key)) == len(flows)
    assert (flows.groupby("bcp_code")["date"].nunique() == 365).all()
    rail = set(ref.bcps.loc[ref.bcps["mode"] == "rail", "code"])
    assert set(flows.loc[flows["category"] == "rail", "bcp_code"]) == rail
    cars = flows[flows["category"] == "cars"].astype({"count": int})
    cars["wait"] = cars["wait_minutes_avg"].astype(float)
    horgos = cars[cars["bcp_code"] == "RS-HU-HORGOS"]
    july = horgos[horgos["date"].str[5:7] == "07"]
    march = horgos[horgos["date"].str[5:7] == "03"]
    assert july["count"].mean() > 1.5 * march["count"].mean()
    assert july["wait"].max() > 120 > march["wait"].max()
    assert (cars["wait_minutes_max"].astype(float) >= cars["wait"]).all()
    # each side reports its own rows: country_b's exit is country_a's entry, and the two
    # agree within a few percent, except where a mismatch was planted
    sides = ref.bcps.set_index("code")[["country_a", "country_b"]]
    flows = flows.join(sides, on="bcp_code")
    assert (flows["reporting_country"].eq(flows["country_a"])
            | flows["reporting_country"].eq(flows["country_b"])).all()
    silent = flows["country_b"].isin(["SY", "IQ", "IR"])
    assert not (silent & flows["reporting_country"].eq(flows["country_b"])).any()
    a_side = flows[flows["reporting_country"] == flows["country_a"]]
    b_side = flows[flows["reporting_country"] == flows["country_b"]].assign(
        direction=lambda f: f["direction"].map({"entry": "exit", "exit": "entry"}))
    on = ["bcp_code", "date", "direction", "category"]
    both = a_side.merge(b_side[[*on, "count"]], on=on, suffixes=("", "_b"))
    assert len(both) == len(b_side) == (~silent & flows["reporting_country"].eq(
        flows["country_a"])).sum()
    truth = json.loads((year_demo / "ground_truth.json").read_text())
    paired = both[both["count"].astype(int) >= 200]
    ratio = paired["count_b"].astype(int) / paired["count"].astype(int)
    planted = np.zeros(len(paired), dtype=bool)
    for m in truth["flow_mismatches"]:
        hit = ((paired["bcp_code"] == m["bcp_code"]) & (paired["direction"] == m["direction"])
               & (paired["category"] == m["category"]) & (paired["date"] >= m["start"])
               & (paired["date"] <= m["end"])).to_numpy()
        if hit.any():
            assert abs(ratio[hit].median() - m["counterpart_ratio"]) < 0.05
        planted |= hit
    assert (ratio[~planted] - 1).abs().quantile(0.99) < 0.05
    for a in truth["flow_anomalies"]:
        one = a_side[(a_side["bcp_code"] == a["bcp_code"]) & (a_side["category"] == "persons")
                     & (a_side["direction"] == a["directions"][0])].astype({"count": int})
        inside = one["date"].between(a["start"], a["end"])
        change = one.loc[inside, "count"].mean() / one.loc[~inside, "count"].median()
        assert change < 0.4 if a["kind"] == "drop" else change > 1.6, a


def test_benchmarks_cover_targets_components_rounds_and_improve(year_demo: Path) -> None:
    ref = read_reference(SHIPPED_GEODATA)
    bench = _read(year_demo / "benchmarks.csv").astype({"level": int})
    assert set(bench["country"]) == set(TARGETS)
    assert set(bench["component"]) == set(ref.components)
    assert {"2009", "2010", "2011", "2015", "2020", "2025"} == set(bench["round"])
    by_round = bench.groupby("round")["level"].mean()
    assert by_round["2025"] > by_round["2011"] > by_round["2009"]
    below_top = bench[bench["level"] < max(ref.levels)]
    assert (below_top["recommendation"] != "").all() and (below_top["deadline"] != "").all()
    assert bench["evidence"].str.startswith("Illustrative").all()


def test_end_in_the_future_is_a_clear_usage_error(tmp_path: Path) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    with pytest.raises(ConfigurationError, match="before today"):
        generate(tmp_path, DemoSpec(incidents=10, days=7, end=tomorrow),
                 geodata_dir=SHIPPED_GEODATA)
    result = CliRunner().invoke(
        cli_group, ["demo", "generate", "--out", str(tmp_path), "--end", tomorrow.isoformat()])
    assert result.exit_code == 2 and "before today" in result.output
    assert "Traceback" not in result.output


def test_cli_generate_writes_the_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_group, [
        "demo", "generate", "--out", str(tmp_path), "--incidents", "300", "--days", "10",
        "--seed", "5", "--end", END.isoformat(), "--with-errors"])
    assert result.exit_code == 0, result.output
    for name in (*FILES, "incidents_bad.csv", "README.md"):
        assert (tmp_path / name).is_file(), name
    assert len(_read(tmp_path / "incidents.csv")) == 300
    assert "illustrative" in (tmp_path / "README.md").read_text().lower()


def test_strategies_and_trainings_are_illustrative_and_plausible(year_demo: Path) -> None:
    strategies = _read(year_demo / "strategies.csv")
    assert set(strategies["country"]) == set(TARGETS)
    assert strategies["title"].str.startswith("Illustrative demo").all()
    assert (strategies["valid_until"] >= strategies["adopted_on"]).all()
    assert (strategies["adopted_on"] <= END.isoformat()).all()
    for _, docs in strategies.groupby("country"):
        current = docs[docs["valid_until"] >= END.isoformat()]
        assert len(current) == 2, docs  # one strategy and its action plan in force
        plans = docs[docs["document"] == "action_plan"]
        assert plans["measures_implemented_pct"].astype(float).between(0, 100).all()
    trainings = _read(year_demo / "trainings.csv")
    assert set(trainings["country"]) == set(TARGETS)
    assert trainings["title"].str.startswith("Illustrative demo training").all()
    assert trainings["agencies"].str.startswith("border_police").all()
    assert not trainings.duplicated(["country", "date", "topic", "organiser"]).any()
    years = trainings["date"].str[:4].astype(int)
    assert years.min() == 2009 and (trainings["date"] <= END.isoformat()).all()
    assert trainings["participants"].astype(int).between(8, 80).all()


def _count(engine: Engine, query: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def test_demo_loads_clean_into_postgis(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    spec = DemoSpec(incidents=2_000, days=30, seed=8, end=END, with_errors=True)
    done = load_demo(geo_engine, geo_settings, spec, out_dir=tmp_path)
    assert done.rejected == 0
    rows = done.files.rows if done.files else {}
    for kind, table in (("incidents", "incident"), ("flows", "flow"),
                        ("benchmarks", "benchmark_assessment"),
                        ("strategies", "national_strategy"), ("trainings", "training")):
        report = done.reports[kind]
        assert report.inserted == report.read == rows[f"{kind}.csv"]
        assert _count(geo_engine, f"SELECT count(*) FROM {table} WHERE source = 'demo'") == (
            report.read)
    assert rows["incidents.csv"] == 2_000
    assert _count(geo_engine, "SELECT count(*) FROM incident WHERE section_id IS NULL "
                              "OR country IS NULL OR h3_r7 IS NULL") == 0
    # a point given by the generator lies in the reporting country for the loader too
    assert _count(geo_engine, "SELECT count(*) FROM incident WHERE bcp_code IS NULL "
                              "AND country <> reporting_country") == 0
    assert _count(geo_engine, "SELECT count(DISTINCT bcp_code) FROM flow") == _count(
        geo_engine, "SELECT count(*) FROM bcp")
    assert load_demo(geo_engine, geo_settings, spec, out_dir=tmp_path, if_empty=True).skipped

    # the malformed file: every planted problem rejected with its reason code
    bad = load_file(geo_engine, geo_settings, "incidents", tmp_path / "incidents_bad.csv",
                    source="demo-bad")
    truth = json.loads((tmp_path / "ground_truth.json").read_text())["bad_rows"]
    expected = {t["row"]: set(t["expected_codes"]) for t in truth if t["expected_codes"]}
    assert bad.read == len(truth) and bad.rejected == len(expected) and bad.inserted == 1
    got = {number: {r["code"] for r in reasons}
           for number, _, reasons in iter_rejects(geo_engine, bad.run_id or 0)}
    assert set(got) == set(expected)
    for number, codes in expected.items():
        assert codes <= got[number], (number, got[number])

    # other sources' data is never overwritten silently
    with pytest.raises(ConfigurationError, match="--force"):
        load_demo(geo_engine, geo_settings, spec, out_dir=tmp_path)

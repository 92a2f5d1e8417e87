"""``bench.env``: the benchmarks' dashboard users (no benchmark is run)."""

from __future__ import annotations

from sqlalchemy import Engine

from bench.env import bench_user
from etl.warehouse import accounts


def _logs_in(engine: Engine, name: str, password: str) -> bool:
    return accounts.authenticate(engine, name, password, "127.0.0.1", accounts.Policy()).outcome == "ok"


def test_a_rerun_gives_the_officer_of_the_country_asked_for(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    serbian, _ = bench_user(url, "national_officer", "RS")
    # a later run on the same warehouse, whose busiest country is another one
    croatian, password = bench_user(url, "national_officer", "HR")
    found = accounts.find_user(engine, croatian)
    assert found is not None and (found.role, found.country) == ("national_officer", "HR")
    assert _logs_in(engine, croatian, password)
    again, new_password = bench_user(url, "national_officer", "RS")
    found = accounts.find_user(engine, again)
    assert again == serbian and found is not None and found.country == "RS"
    assert _logs_in(engine, again, new_password)  # the same user, given a new password
    admin, admin_password = bench_user(url)
    found = accounts.find_user(engine, admin)
    assert found is not None and (found.role, found.country) == ("admin", None)
    assert _logs_in(engine, admin, admin_password)

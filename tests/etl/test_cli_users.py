"""``borderwatch users ...`` and ``borderwatch audit``; the accounts and the append-only audit log."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from etl.cli import cli_group
from etl.warehouse import accounts, audit
from tests.support import query_rows


def _run(engine: Engine, *args: str, stdin: str | None = None) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, input=stdin, catch_exceptions=False)


def test_add_list_set_password_disable(engine: Engine) -> None:
    added = _run(engine, "users", "add", "Ana.Petrovic", "--role", "national_officer", "--country", "rs",
                 "--password-stdin", stdin="correct horse 1\n")
    assert added.exit_code == 0, added.output
    assert "added ana.petrovic: national_officer (RS)" in added.stdout
    (stored,) = query_rows(engine, "SELECT username, role, country, password_hash FROM app_user")
    assert stored[:3] == ("ana.petrovic", "national_officer", "RS")
    assert stored[3].startswith("$argon2id$") and "correct horse" not in stored[3]
    listed = _run(engine, "users", "list")
    assert all(word in listed.stdout for word in ("ana.petrovic", "national_officer", "never"))
    rows = [json.loads(line) for line in _run(engine, "users", "list", "--json").stdout.splitlines()]
    assert rows[0]["username"] == "ana.petrovic" and rows[0]["disabled"] is False

    def outcome(password: str) -> str:
        return accounts.authenticate(engine, "ana.petrovic", password, "10.0.0.1", accounts.Policy()).outcome

    assert outcome("correct horse 1") == "ok"
    changed = _run(engine, "users", "set-password", "ANA.PETROVIC", "--password-stdin",
                   stdin="another one 22\n")
    assert changed.exit_code == 0, changed.output
    assert outcome("correct horse 1") == "bad"
    assert outcome("another one 22") == "ok"
    assert _run(engine, "users", "disable", "ana.petrovic").exit_code == 0
    assert outcome("another one 22") == "disabled"
    assert "disabled" in _run(engine, "users", "list").stdout
    assert _run(engine, "users", "enable", "ana.petrovic").exit_code == 0

    actions = [e["action"] for e in audit.entries(engine)]
    assert actions[:4] == ["user_enable", "login_refused", "user_disable", "login"]
    assert {"user_add", "user_password", "login_failed"} <= set(actions)
    cli_entry = audit.entries(engine, action="user_add")[0]
    assert cli_entry["actor"].startswith("cli:") and cli_entry["target"] == "ana.petrovic"


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["users", "add", "x y", "--role", "admin", "--password-stdin"], "long enough pw\n", "Invalid user name"),
    (["users", "add", "bob", "--role", "national_officer", "--password-stdin"], "long enough pw\n",
     "needs the country"),
    (["users", "add", "bob", "--role", "admin", "--country", "RS", "--password-stdin"], "long enough pw\n",
     "Only a national_officer"),
    (["users", "add", "bob", "--role", "admin", "--password-stdin"], "short\n", "too short"),
    (["users", "add", "bob", "--role", "admin"], "", "--password-stdin"),
    (["users", "set-password", "nobody", "--password-stdin"], "long enough pw\n", "No user named"),
    (["users", "disable", "nobody"], None, "No user named"),
    (["users", "revoke-token", "99"], None, "No active token"),
])
def test_clear_errors(engine: Engine, args: list[str], stdin: str | None, message: str) -> None:
    result = _run(engine, *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_officer_country_must_exist_once_geodata_is_loaded(geo_engine: Engine) -> None:
    result = _run(geo_engine, "users", "add", "bob", "--role", "national_officer", "--country", "ZZ",
                  "--password-stdin", stdin="long enough pw\n")
    assert result.exit_code == 2 and "Unknown country 'ZZ'" in result.output
    assert _run(geo_engine, "users", "add", "bob", "--role", "national_officer", "--country", "XK",
                "--password-stdin", stdin="long enough pw\n").exit_code == 0
    (neighbours,) = [accounts.find_user(geo_engine, "bob").neighbours]  # type: ignore[union-attr]
    assert {"AL", "ME", "MK", "RS"} <= set(neighbours)


def _role_of(engine: Engine, name: str) -> tuple[str, str | None]:
    (row,) = query_rows(engine, "SELECT role, country FROM app_user WHERE username = :n", n=name)
    return row


def test_set_role_and_set_country_change_the_row_and_are_audited(geo_engine: Engine) -> None:
    _run(geo_engine, "users", "add", "ana", "--role", "regional_analyst", "--password-stdin",
         stdin="long enough pw\n")
    accounts.create_token(geo_engine, "ana", "QGIS")
    made = _run(geo_engine, "users", "set-role", "ANA", "national_officer", "--country", "rs")
    assert made.exit_code == 0, made.output
    assert "ana: regional_analyst -> national_officer (RS), from their next request" in made.stdout
    assert "1 active API token(s) follow the new role" in made.stdout
    assert _role_of(geo_engine, "ana") == ("national_officer", "RS")
    moved = _run(geo_engine, "users", "set-country", "ana", "ba")
    assert moved.exit_code == 0 and "national_officer (RS) -> national_officer (BA)" in moved.stdout
    assert _role_of(geo_engine, "ana") == ("national_officer", "BA")
    assert set(accounts.find_user(geo_engine, "ana").neighbours) >= {"HR", "ME", "RS"}  # type: ignore[union-attr]
    again = _run(geo_engine, "users", "set-country", "ana", "BA")
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    promoted = _run(geo_engine, "users", "set-role", "ana", "admin")
    assert promoted.exit_code == 0 and _role_of(geo_engine, "ana") == ("admin", None)  # the country goes

    changes = [(e["target"], e["detail"]) for e in audit.entries(geo_engine, action="user_role")]
    assert changes == [  # newest first; the unchanged set-country wrote nothing
        ("ana", {"role": "admin", "country": None, "previous_role": "national_officer",
                 "previous_country": "BA"}),
        ("ana", {"role": "national_officer", "country": "BA", "previous_role": "national_officer",
                 "previous_country": "RS"}),
        ("ana", {"role": "national_officer", "country": "RS", "previous_role": "regional_analyst",
                 "previous_country": None})]
    assert all(e["actor"].startswith("cli:") for e in audit.entries(geo_engine, action="user_role"))


@pytest.mark.parametrize(("args", "message"), [
    (["users", "set-role", "nobody", "admin"], "No user named 'nobody'"),
    (["users", "set-role", "bob", "superuser"], "Unknown role 'superuser': choose one of admin,"),
    (["users", "set-role", "bob", "national_officer"], "needs the country of their service"),
    (["users", "set-role", "bob", "national_officer", "--country", "ZZ"], "Unknown country 'ZZ'"),
    (["users", "set-role", "bob", "national_officer", "--country", "Serbia"], "give the ISO alpha-2 code"),
    (["users", "set-role", "bob", "forum_viewer", "--country", "RS"],
     "Only a national_officer has a country"),
    (["users", "set-country", "bob", "RS"],
     "bob is regional_analyst, and only a national_officer has a country (to make them one: "
     "borderwatch users set-role bob national_officer --country CC)"),
    (["users", "set-country", "nobody", "RS"], "No user named 'nobody'"),
    (["users", "set-country", "officer", "ZZ"], "Unknown country 'ZZ'"),
])
def test_role_changes_refuse_mistakes_in_one_line(geo_engine: Engine, args: list[str], message: str) -> None:
    accounts.add_user(geo_engine, "bob", "regional_analyst", "long enough pw")
    accounts.add_user(geo_engine, "officer", "national_officer", "long enough pw", country_code="RS")
    result = _run(geo_engine, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.startswith("Error: ")
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert (_role_of(geo_engine, "bob"), _role_of(geo_engine, "officer")) == (
        ("regional_analyst", None), ("national_officer", "RS"))
    assert audit.entries(geo_engine, action="user_role") == []


def test_tokens_are_shown_once_stored_hashed_and_revocable(engine: Engine) -> None:
    _run(engine, "users", "add", "qgis", "--role", "regional_analyst", "--password-stdin",
         stdin="long enough pw\n")
    made = _run(engine, "users", "token", "qgis", "--label", "laptop 12")
    assert made.exit_code == 0
    value = made.stdout.strip()
    assert value.startswith("bw_") and len(value) > 40 and "shown only now" in made.stderr
    assert not query_rows(engine, "SELECT 1 FROM api_token WHERE token_hash = :v OR prefix = :v", v=value)
    assert accounts.token_user(engine, value).username == "qgis"  # type: ignore[union-attr]
    listed = _run(engine, "users", "tokens", "qgis").stdout
    assert value[:10] in listed and "laptop 12" in listed and value not in listed
    token_id = int(listed.split()[0])
    assert _run(engine, "users", "revoke-token", str(token_id)).exit_code == 0
    assert accounts.token_user(engine, value) is None
    assert "revoked" in _run(engine, "users", "tokens").stdout


def test_demo_users_once(engine: Engine) -> None:
    first = _run(engine, "users", "demo", "--if-none")
    assert first.exit_code == 0
    lines = [line.split() for line in first.stdout.splitlines() if line.startswith("  demo-")]
    assert [(name, role) for name, _pw, role, *_ in lines] == [
        ("demo-admin", "admin"), ("demo-analyst", "regional_analyst"),
        ("demo-officer-rs", "national_officer"), ("demo-forum", "forum_viewer")]
    for name, password, *_ in lines:
        assert accounts.authenticate(engine, name, password, "127.0.0.1", accounts.Policy()).outcome == "ok"
    again = _run(engine, "users", "demo", "--if-none")
    assert again.exit_code == 0 and "exist already" in again.stdout and "demo-admin " not in again.stdout


def test_the_audit_log_is_append_only(engine: Engine) -> None:
    audit.record(engine, audit.Actor("someone", "admin", "10.1.2.3"), "export", target="x.csv",
                 detail={"rows": 3})
    for statement in ("UPDATE audit_log SET actor = 'other'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    kept = query_rows(engine, "SELECT actor, action, target FROM audit_log")
    assert kept == [("someone", "export", "x.csv")]


def test_audit_command_filters_and_json(engine: Engine) -> None:
    for who, action in (("ana", "login"), ("bob", "login"), ("ana", "export")):
        audit.record(engine, audit.Actor(who, "admin", "10.0.0.9"), action)
    with engine.begin() as conn:  # an old entry (inserting is allowed, and its time is ours to give)
        conn.execute(text("INSERT INTO audit_log (at, actor, action) VALUES (now() - interval '40 days', "
                          "'ana', 'login')"))
    shown = _run(engine, "audit").stdout.splitlines()
    assert len(shown) == 4 and "export" in shown[0]
    assert len(_run(engine, "audit", "--since", "7d").stdout.splitlines()) == 3
    assert len(_run(engine, "audit", "--user", "ANA", "--since", "2000-01-01").stdout.splitlines()) == 3
    rows = [json.loads(line) for line in _run(engine, "audit", "--json", "--user", "bob").stdout.splitlines()]
    assert [(r["actor"], r["action"], r["address"]) for r in rows] == [("bob", "login", "10.0.0.9")]
    bad = _run(engine, "audit", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "give a date" in bad.output


def test_impact_level_loads_are_audited(geo_engine: Engine) -> None:
    from pathlib import Path

    good = Path(__file__).parent.parent / "data" / "impact_levels_good.csv"
    assert _run(geo_engine, "load", "impact-levels", str(good), "--dry-run").exit_code == 0
    assert audit.entries(geo_engine, action="impact_levels_load") == []
    assert _run(geo_engine, "load", "impact-levels", str(good)).exit_code == 0
    (entry,) = audit.entries(geo_engine, action="impact_levels_load")
    assert entry["actor"].startswith("cli:") and entry["target"] == "impact_levels_good.csv"
    assert entry["detail"]["status"] == "succeeded" and entry["detail"]["run_id"]
    assert entry["detail"]["updated"] > 0

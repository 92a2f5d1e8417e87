"""The admin page: the audit log and the users, for administrators only (checked on the server)."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.dashboard.dash_calls import call, page_values, server_callbacks
from tests.support import ROLE_USERS, add_role_users, app_for, login


def test_only_admins_open_the_audit_log(seeded: Engine) -> None:
    add_role_users(seeded)
    app = app_for(seeded)
    clients = {role: login(app.server.test_client(), name) for role, (name, _) in ROLE_USERS.items()}
    app.server.test_client().post("/login", data={"username": "t-forum", "password": "wrong!"})
    admin = clients["admin"]
    deps = server_callbacks(admin)
    log = next(d for d in deps if "admin-log.children" in d["output"])
    _layout, values = page_values(admin, deps, "/admin")
    assert "Audit log" in str(_layout.get_json())
    shown = call(admin, log, values).get_json()["response"]
    text = str(shown)
    for name, _ in ROLE_USERS.values():  # every login these tests made
        assert name in text
    assert "login failed" in text and "127.0.0.1" in text
    only_failed = str(call(admin, log, {**values, "admin-action.value": "login_failed"}).get_json())
    assert "login failed" in only_failed and "'login'" not in only_failed
    assert "Audit log" in str(admin.get("/_dash-layout").get_json())  # in the navigation

    for role in ("regional_analyst", "national_officer", "forum_viewer"):
        client = clients[role]
        assert "Audit log" not in str(client.get("/_dash-layout").get_json())  # no link
        refused = call(client, log, values)  # and the server refuses the callback itself
        assert refused.status_code == 403, role
        assert "t-forum" not in refused.get_data(as_text=True)
        _page, page = page_values(client, deps, "/admin")
        assert "Only administrators" in str(_page.get_json()) and "t-admin" not in str(_page.get_json())

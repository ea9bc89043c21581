"""Signing in and out: passwords, rotation, timeouts, CSRF and throttling."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from laoke.accounts import passwords
from laoke.accounts.models import WebSession
from laoke.audit.models import AuditAction, AuditEvent
from laoke.db import utcnow
from laoke.web.security import SESSION_COOKIE
from tests.conftest import PASSWORD, csrf_from, login


def _post_login(client: TestClient, email: str, password: str):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_passwords_are_argon2id_at_owasp_minimum_or_stronger() -> None:
    hashed = passwords.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    params = dict(part.split("=") for part in hashed.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    assert passwords.verify_password(hashed, "a long passphrase")
    assert not passwords.verify_password(hashed, "wrong")


def test_it_signs_in_and_out_and_audits_both(client, cast, database) -> None:
    response = _post_login(client, cast.alice.email, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/customers").status_code == 200
    token = csrf_from(client.get("/customers").text)
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert client.get("/customers", follow_redirects=False).status_code == 303
    with database.unit_of_work() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == [AuditAction.LOGIN, AuditAction.LOGOUT]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, cast) -> None:
    wrong_password = _post_login(client, cast.alice.email, "nope-nope")
    unknown_user = _post_login(client, "nobody@acme.test", "nope-nope")
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert "customers" not in wrong_password.headers.get("location", "")


def test_the_session_is_rotated_at_login(app, cast) -> None:
    fixated = TestClient(app, cookies={SESSION_COOKIE: "attacker-chosen-session-id"})
    first = _post_login(fixated, cast.alice.email, PASSWORD).cookies.get(SESSION_COOKIE)
    assert first not in (None, "attacker-chosen-session-id")
    second = _post_login(TestClient(app), cast.alice.email, PASSWORD).cookies.get(SESSION_COOKIE)
    assert second not in (None, first)


def test_idle_and_absolute_timeouts_end_the_session(client, cast, database) -> None:
    login(client, cast.alice)
    assert client.get("/customers", follow_redirects=False).status_code == 200
    with database.unit_of_work() as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=61)))
        s.commit()
    assert client.get("/customers", follow_redirects=False).status_code == 303
    login(client, cast.alice)
    with database.unit_of_work() as s:
        s.execute(update(WebSession).values(created_at=utcnow() - timedelta(hours=13)))
        s.commit()
    assert client.get("/customers", follow_redirects=False).status_code == 303


def test_failed_logins_are_throttled_per_account(client, cast) -> None:
    for _ in range(5):
        assert _post_login(client, cast.alice.email, "wrong-password").status_code == 400
    blocked = _post_login(client, cast.alice.email, PASSWORD)
    assert blocked.status_code == 429
    # Another account from the same address is not locked by alice's failures.
    assert _post_login(TestClient(client.app), cast.bob.email, PASSWORD).status_code == 303


def test_failed_logins_are_throttled_per_address(client, cast, app) -> None:
    app.state.settings.login_failures_per_ip = 3
    for index in range(3):
        _post_login(client, f"guess{index}@acme.test", "wrong-password")
    assert _post_login(client, cast.bob.email, PASSWORD).status_code == 429


def test_login_needs_the_csrf_token(client, cast) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": cast.alice.email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    forged = client.post(
        "/login",
        data={"email": cast.alice.email, "password": PASSWORD, "csrf_token": "0" * 64},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_next_only_redirects_within_the_site(client, cast) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "email": cast.alice.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_deactivated_user_is_signed_out_everywhere(cast, browser_of, database) -> None:
    bob = browser_of(cast.bob)
    owner = browser_of(cast.alice)
    token = csrf_from(owner.get("/settings/staff").text)
    owner.post(f"/settings/staff/{cast.bob.id}/deactivate", data={"csrf_token": token})
    assert bob.get("/customers", follow_redirects=False).status_code == 303
    with database.unit_of_work() as s:
        assert s.scalars(select(WebSession).where(WebSession.user_id == cast.bob.id)).all() == []

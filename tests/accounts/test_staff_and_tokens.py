"""Staff management and API tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from laoke.accounts import service
from laoke.accounts.models import ApiToken, User
from laoke.accounts.roles import Role
from laoke.audit.models import AuditAction, AuditEvent
from laoke.errors import Conflict, PermissionDenied
from tests.conftest import csrf_from


def test_owner_adds_staff_and_changes_roles_with_an_audit_trail(cast, browser_of, database) -> None:
    owner = browser_of(cast.alice)
    token = csrf_from(owner.get("/settings/staff").text)
    response = owner.post(
        "/settings/staff",
        data={
            "csrf_token": token,
            "email": "dora@acme.test",
            "name": "Dora",
            "role": "sales",
            "password": "long enough",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    with database.unit_of_work() as s:
        dora_id = s.scalars(select(User.id).where(User.email == "dora@acme.test")).one()
    owner.post(f"/settings/staff/{dora_id}/role", data={"csrf_token": token, "role": "manager"})
    with database.unit_of_work() as s:
        assert s.get(User, dora_id).role == Role.MANAGER
        change = s.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.ROLE_CHANGED)
        ).one()
        assert change.details == {"from": "sales", "to": "manager"}


def test_duplicate_staff_email_is_shown_as_a_form_error(cast, browser_of) -> None:
    owner = browser_of(cast.alice)
    token = csrf_from(owner.get("/settings/staff").text)
    response = owner.post(
        "/settings/staff",
        data={
            "csrf_token": token,
            "email": cast.bob.email.upper(),
            "name": "B",
            "role": "sales",
            "password": "long enough",
        },
    )
    assert response.status_code == 400 and 'role="alert"' in response.text


def test_nobody_grants_a_role_above_their_own(session, cast) -> None:
    maggie = cast.actor(cast.maggie)
    with pytest.raises(PermissionDenied):
        service.change_role(session, maggie, cast.bob.id, Role.OWNER)
    admin = service.create_user(
        session,
        org_id=cast.acme.id,
        email="ada@acme.test",
        name="Ada",
        role=Role.ADMIN,
        password="long enough",
    )
    with pytest.raises(PermissionDenied):
        service.change_role(session, service.actor_for(admin), cast.bob.id, Role.OWNER)


def test_the_last_owner_cannot_be_demoted(session, cast) -> None:
    with pytest.raises(Conflict):
        service.change_role(session, cast.actor(cast.alice), cast.alice.id, Role.ADMIN)


def test_staff_pages_are_for_owners_and_admins(cast, browser_of) -> None:
    assert browser_of(cast.bob).get("/settings/staff").status_code == 403
    assert browser_of(cast.victor).get("/audit").status_code == 403


def test_a_token_is_shown_once_stored_hashed_and_revocable(
    cast, browser_of, client, database
) -> None:
    owner = browser_of(cast.alice)
    token = csrf_from(owner.get("/settings/tokens").text)
    page = owner.post("/settings/tokens", data={"csrf_token": token, "name": "shop"})
    secret = page.text.split('data-test="new-token">')[1].split("<")[0]
    assert secret.startswith("lk_")
    assert secret not in owner.get("/settings/tokens").text
    with database.unit_of_work() as s:
        row = s.scalars(select(ApiToken)).one()
        assert secret not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
        row_id = row.id
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json()["user_id"] == cast.alice.id
    owner.post(f"/settings/tokens/{row_id}/revoke", data={"csrf_token": token})
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_salesperson_cannot_revoke_someone_elses_token(session, cast) -> None:
    created = service.create_api_token(session, cast.actor(cast.carol), name="carol")
    with pytest.raises(PermissionDenied):
        service.revoke_api_token(session, cast.actor(cast.bob), created.token.id)

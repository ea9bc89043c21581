"""Staff set fan/agent (or hand back to the rules) by API and on the customer page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from laoke.customers.models import Customer
from laoke.db import Database, utcnow
from laoke.engagement.models import StageChange
from tests.conftest import Cast, csrf_from
from tests.engagement.figures_history import customer, order


@pytest.fixture
def bobs(database: Database, cast: Cast) -> int:
    with database.unit_of_work() as s:
        row = customer(s, cast.acme.id, "鲍勃的客户", owner_id=cast.bob.id)
        order(s, row, "100", utcnow())
        s.commit()
        return row.id


@pytest.fixture
def carols(database: Database, cast: Cast) -> int:
    with database.unit_of_work() as s:
        row = customer(s, cast.acme.id, "卡罗尔的客户", owner_id=cast.carol.id)
        s.commit()
        return row.id


def _history(database: Database, customer_id: int) -> list[tuple]:
    with database.unit_of_work() as s:
        rows = s.scalars(
            select(StageChange)
            .where(StageChange.customer_id == customer_id)
            .order_by(StageChange.id)
        )
        return [(r.from_stage, r.to_stage, r.reason, r.changed_by_id) for r in rows]


def test_staff_make_a_fan_and_hand_back_to_the_rules(
    database: Database, cast: Cast, api_of, bobs: int
) -> None:
    api = api_of(cast.bob)
    url = f"/api/v1/customers/{bobs}/lifecycle-stage"
    response = api.put(url, json={"stage": "fan", "reason": "转介绍了三位朋友"})
    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": bobs, "lifecycle_stage": "fan"}
    assert api.put(url, json={"stage": "fan"}).status_code == 200  # no second history row
    back = api.put(url, json={"stage": "auto", "reason": "搞错了"})
    assert back.json()["lifecycle_stage"] == "new"
    assert _history(database, bobs) == [
        ("prospect", "fan", "转介绍了三位朋友", cast.bob.id),
        ("fan", "new", "搞错了", cast.bob.id),
    ]
    assert api.get(f"/api/v1/customers/{bobs}").json()["lifecycle_stage"] == "new"


@pytest.mark.parametrize(
    "body",
    [
        {"stage": "loyal"},
        {"stage": "prospect"},
        {"stage": ""},
        {},
        {"stage": "fan", "reason": "x" * 201},
        {"stage": "fan", "extra": 1},
        {"stage": ["fan"]},
        {"stage": "fan'; DROP TABLE customers; --"},
    ],
)
def test_malformed_stage_requests_are_refused(cast: Cast, api_of, bobs: int, body: dict) -> None:
    response = api_of(cast.bob).put(f"/api/v1/customers/{bobs}/lifecycle-stage", json=body)
    assert response.status_code == 422, response.text


def test_who_may_set_a_stage(
    cast: Cast, api_of, bobs: int, carols: int, database: Database
) -> None:
    body = {"stage": "agent"}
    assert (
        api_of(cast.bob).put(f"/api/v1/customers/{carols}/lifecycle-stage", json=body).status_code
        == 404
    )
    assert (
        api_of(cast.oscar).put(f"/api/v1/customers/{bobs}/lifecycle-stage", json=body).status_code
        == 404
    )
    assert (
        api_of(cast.victor).put(f"/api/v1/customers/{bobs}/lifecycle-stage", json=body).status_code
        == 403
    )
    assert (
        api_of(cast.maggie)
        .put(f"/api/v1/customers/{carols}/lifecycle-stage", json=body)
        .status_code
        == 200
    )
    assert (
        api_of(cast.alice).put("/api/v1/customers/999999/lifecycle-stage", json=body).status_code
        == 404
    )
    with database.unit_of_work() as s:
        assert s.get(Customer, bobs).lifecycle_stage == "prospect"


def test_the_customer_page_shows_figures_and_sets_the_stage(
    database: Database, cast: Cast, browser_of, bobs: int, carols: int
) -> None:
    from laoke.engagement.recompute import recompute_org

    recompute_org(database, cast.acme.id, utcnow())
    browser = browser_of(cast.bob)
    page = browser.get(f"/customers/{bobs}")
    assert page.status_code == 200
    assert 'data-test="customer-figures"' in page.text
    assert 'data-test="orders-count">1<' in page.text and "¥100.00" in page.text
    response = browser.post(
        f"/customers/{bobs}/lifecycle-stage",
        data={"stage": "agent", "reason": "开始分销", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _history(database, bobs)[-1] == ("new", "agent", "开始分销", cast.bob.id)
    refused = browser.post(
        f"/customers/{carols}/lifecycle-stage",
        data={"stage": "fan", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    viewer = browser_of(cast.victor)
    viewed = viewer.get(f"/customers/{bobs}")
    assert 'data-test="set-stage"' not in viewed.text
    denied = viewer.post(
        f"/customers/{bobs}/lifecycle-stage",
        data={"stage": "fan", "csrf_token": csrf_from(viewed.text)},
        follow_redirects=False,
    )
    assert denied.status_code == 403

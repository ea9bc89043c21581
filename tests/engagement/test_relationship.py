"""Relationship depth: set by staff in any direction, every change kept, a repeat is a no-op."""

from __future__ import annotations

from sqlalchemy import select

from laoke.customers.models import Customer
from laoke.engagement.models import StageChange, StageKind
from tests.conftest import csrf_from
from tests.engagement.test_contacts import new_customer


def _history(database, customer_id: int) -> list[tuple[str | None, str, int | None, str | None]]:
    with database.unit_of_work(write=False) as s:
        rows = s.scalars(
            select(StageChange)
            .where(StageChange.customer_id == customer_id)
            .order_by(StageChange.id)
        ).all()
        assert all(row.kind == StageKind.RELATIONSHIP for row in rows)
        return [(r.from_stage, r.to_stage, r.changed_by_id, r.reason) for r in rows]


def test_stages_move_forwards_and_back_with_history(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    url = f"/api/v1/customers/{customer_id}/relationship-stage"
    first = bob.put(url, json={"stage": "friend", "reason": "一起喝过下午茶"})
    assert first.status_code == 200 and first.json() == {
        "customer_id": customer_id,
        "stage": "friend",
        "changed": True,
    }
    again = bob.put(url, json={"stage": "friend"})
    assert again.json()["changed"] is False
    bob.put(url, json={"stage": "acquainted", "reason": "  "})
    assert _history(database, customer_id) == [
        ("stranger", "friend", cast.bob.id, "一起喝过下午茶"),
        ("friend", "acquainted", cast.bob.id, None),
    ]
    with database.unit_of_work(write=False) as s:
        assert s.get(Customer, customer_id).relationship_stage == "acquainted"


def test_who_may_set_the_stage(cast, api_of, database) -> None:
    carols = new_customer(database, cast.acme, cast.carol)
    theirs = new_customer(database, cast.globex, cast.oscar)
    body = {"stage": "confidant"}
    assert (
        api_of(cast.bob)
        .put(f"/api/v1/customers/{carols}/relationship-stage", json=body)
        .status_code
        == 404
    )
    assert (
        api_of(cast.alice)
        .put(f"/api/v1/customers/{theirs}/relationship-stage", json=body)
        .status_code
        == 404
    )
    assert (
        api_of(cast.victor)
        .put(f"/api/v1/customers/{carols}/relationship-stage", json=body)
        .status_code
        == 403
    )
    assert (
        api_of(cast.maggie)
        .put(f"/api/v1/customers/{carols}/relationship-stage", json=body)
        .status_code
        == 200
    )
    assert [h[1] for h in _history(database, carols)] == ["confidant"]
    assert _history(database, theirs) == []


def test_unknown_stages_and_long_reasons_are_refused(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    url = f"/api/v1/customers/{customer_id}/relationship-stage"
    bob = api_of(cast.bob)
    for body in (
        {"stage": "soulmate"},
        {"stage": "friend", "reason": "长" * 201},
        {"stage": "friend", "changed_by_id": cast.alice.id},
        {},
    ):
        assert bob.put(url, json=body).status_code == 422, body
    assert _history(database, customer_id) == []


def test_the_page_select_saves_with_and_without_htmx(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    page = bob.get(f"/customers/{customer_id}").text
    assert f'id="relationship-stage-{customer_id}"' in page and ">陌生</option>" in page
    token = csrf_from(page)
    url = f"/customers/{customer_id}/relationship-stage"
    plain = bob.post(
        url,
        data={"csrf_token": token, "stage": "customer", "next": "//evil.example"},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/customers/{customer_id}"
    htmx = bob.post(
        url, data={"csrf_token": token, "stage": "confidant"}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 200 and "已保存" in htmx.text
    assert 'value="confidant" selected' in htmx.text
    refused = bob.post(url, data={"csrf_token": token, "stage": "<script>"})
    assert refused.status_code == 422 and "<script>" not in refused.text
    timeline = bob.get(f"/customers/{customer_id}").text
    assert "关系阶段：客户 → 闺蜜" in timeline
    victor = browser_of(cast.victor)
    viewer_page = victor.get(f"/customers/{customer_id}").text
    assert 'name="stage"' not in viewer_page and "关系阶段：闺蜜" in viewer_page
    denied = victor.post(url, data={"csrf_token": csrf_from(viewer_page), "stage": "friend"})
    assert denied.status_code == 403

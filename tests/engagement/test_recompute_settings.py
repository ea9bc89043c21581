"""The rules page and API: who may see and change them, validation, the recompute button;
the customer JSON and list carry the figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from laoke.db import Database, utcnow
from laoke.engagement.recompute import recompute_org
from tests.conftest import Cast, csrf_from
from tests.engagement.figures_history import customer, order

GOOD = {
    "lapsed_factor": 2.5,
    "default_cycle_days": 60,
    "lapsed_p_alive_below": 0.2,
    "loyal_min_orders": 4,
    "reminder_days_before": 5,
    "winback_factor": 1.5,
}


def test_the_rules_api_reads_defaults_and_saves(cast: Cast, api_of) -> None:
    api = api_of(cast.alice)
    body = api.get("/api/v1/engagement/settings").json()
    assert (body["lapsed_factor"], body["default_cycle_days"], body["loyal_min_orders"]) == (
        2.0,
        90,
        5,
    )
    assert body["lapsed_p_alive_below"] is None and body["last_recomputed_at"] is None
    assert len(body["rules"]) == 5
    saved = api.put("/api/v1/engagement/settings", json=GOOD)
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in GOOD} == GOOD
    assert len(saved.json()["rules"]) == 6  # the p_alive rule appears
    again = api_of(cast.maggie).get("/api/v1/engagement/settings").json()
    assert again["loyal_min_orders"] == 4
    assert api_of(cast.oscar).get("/api/v1/engagement/settings").json()["loyal_min_orders"] == 5


@pytest.mark.parametrize(
    "change",
    [
        {"lapsed_factor": 0.5},
        {"lapsed_factor": 10.5},
        {"lapsed_factor": "NaN"},
        {"lapsed_factor": "Infinity"},
        {"default_cycle_days": 0},
        {"default_cycle_days": 3651},
        {"default_cycle_days": 1.5},
        {"lapsed_p_alive_below": 1.5},
        {"lapsed_p_alive_below": -0.1},
        {"loyal_min_orders": 1},
        {"loyal_min_orders": 101},
        {"reminder_days_before": -3},
        {"winback_factor": "lots"},
        {"extra": 1},
        {"lapsed_factor": None},
    ],
)
def test_out_of_range_rules_are_refused(cast: Cast, api_of, change: dict) -> None:
    api = api_of(cast.alice)
    response = api.put("/api/v1/engagement/settings", json={**GOOD, **change})
    assert response.status_code == 422, response.text
    assert api.get("/api/v1/engagement/settings").json()["lapsed_factor"] == 2.0


def test_who_may_see_and_change_the_rules(cast: Cast, api_of) -> None:
    assert api_of(cast.maggie).get("/api/v1/engagement/settings").status_code == 200
    for user in (cast.maggie, cast.bob, cast.victor):
        assert api_of(user).put("/api/v1/engagement/settings", json=GOOD).status_code == 403
    assert api_of(cast.bob).get("/api/v1/engagement/settings").status_code == 403
    assert api_of(cast.victor).get("/api/v1/engagement/settings").status_code == 200  # reads all


def test_the_rules_page_saves_validates_and_recomputes(
    database: Database, cast: Cast, browser_of
) -> None:
    with database.unit_of_work() as s:
        order(s, customer(s, cast.acme.id, "买过"), "10", utcnow() - timedelta(days=3))
        s.commit()
    browser = browser_of(cast.alice)
    page = browser.get("/settings/engagement")
    assert page.status_code == 200 and 'data-test="rule-lines"' in page.text
    token = csrf_from(page.text)
    form = {**{k: str(v) for k, v in GOOD.items()}, "csrf_token": token}
    saved = browser.post("/settings/engagement", data=form, follow_redirects=False)
    assert saved.status_code == 303
    bad = browser.post(
        "/settings/engagement",
        data={**form, "loyal_min_orders": "<script>alert(1)</script>"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and 'data-test="rules-error"' in bad.text
    assert "<script>alert(1)</script>" not in bad.text
    off = browser.post(
        "/settings/engagement", data={**form, "lapsed_p_alive_below": ""}, follow_redirects=False
    )
    assert off.status_code == 303
    assert browser_of(cast.alice).get("/api/v1/engagement/settings").status_code in (200, 401)
    run = browser.post(
        "/settings/engagement/recompute", data={"csrf_token": token}, follow_redirects=False
    )
    assert run.status_code == 303 and run.headers["location"].endswith("notice=done")
    after = browser.get("/settings/engagement")
    assert 'data-test="last-run"' in after.text and "Not recomputed" not in after.text
    listed = browser.get("/customers", params={"stage": "new", "sort": "-total_spent"})
    assert listed.status_code == 200 and listed.text.count('data-test="customer-row"') == 1
    assert "¥10.00" in listed.text
    none = browser.get("/customers", params={"stage": "loyal", "tier": "top", "sort": "x"})
    assert none.text.count('data-test="customer-row"') == 0
    hostile = browser.get("/customers", params={"stage": "<b>", "tier": "'", "sort": "-id"})
    assert hostile.status_code == 200 and hostile.text.count('data-test="customer-row"') == 1


def test_managers_view_the_rules_page_without_changing_it(cast: Cast, browser_of) -> None:
    manager = browser_of(cast.maggie)
    page = manager.get("/settings/engagement")
    assert page.status_code == 200 and 'data-test="recompute"' not in page.text
    token = csrf_from(page.text)
    form = {**{k: str(v) for k, v in GOOD.items()}, "csrf_token": token}
    assert manager.post("/settings/engagement", data=form).status_code == 403
    assert (
        manager.post("/settings/engagement/recompute", data={"csrf_token": token}).status_code
        == 403
    )
    assert browser_of(cast.bob).get("/settings/engagement").status_code == 403


def test_customer_json_and_list_carry_the_figures(database: Database, cast: Cast, api_of) -> None:
    now = utcnow().replace(microsecond=0)
    with database.unit_of_work() as s:
        small = customer(s, cast.acme.id, "小", owner_id=cast.bob.id)
        big = customer(s, cast.acme.id, "大", owner_id=cast.bob.id)
        never = customer(s, cast.acme.id, "零", owner_id=cast.bob.id)
        order(s, small, "10.50", now - timedelta(days=9))
        order(s, big, "300", now - timedelta(days=40))
        order(s, big, "500", now - timedelta(days=20))
        s.commit()
        ids = small.id, big.id, never.id
    recompute_org(database, cast.acme.id, now)
    api = api_of(cast.bob)
    body = api.get(f"/api/v1/customers/{ids[1]}").json()
    assert body["orders_count"] == 2 and body["total_spent"] == "800.00"
    assert body["average_order_value"] == "400.00"
    assert body["lifecycle_stage"] == "repeat" and body["relationship_stage"] == "stranger"
    assert body["next_expected_purchase_at"].startswith((now).date().isoformat())
    assert body["rfm"] == {"r": 1, "f": 3, "m": 3}  # 2nd of 2 buyers: 1 + 5 × 1 ÷ 2
    assert body["value_tier"] == "top"
    assert Decimal(body["total_spent"]) == Decimal("800")
    empty = api.get(f"/api/v1/customers/{ids[2]}").json()
    assert (empty["orders_count"], empty["rfm"], empty["first_purchase_at"]) == (0, None, None)
    by_spend = api.get("/api/v1/customers", params={"sort": "-total_spent"}).json()
    assert [c["id"] for c in by_spend["items"]] == [ids[1], ids[0], ids[2]]
    by_last = api.get("/api/v1/customers", params={"sort": "-last_purchase_at"}).json()
    assert [c["id"] for c in by_last["items"]] == [ids[0], ids[1], ids[2]]
    new = api.get("/api/v1/customers", params={"lifecycle_stage": "new"}).json()
    assert [c["id"] for c in new["items"]] == [ids[0]]
    top = api.get("/api/v1/customers", params={"value_tier": "top"}).json()
    assert [c["id"] for c in top["items"]] == [ids[1]]
    assert api.get("/api/v1/customers", params={"value_tier": "gold"}).status_code == 422
    assert api.get("/api/v1/customers", params={"sort": "-recency_score"}).status_code == 422
    assert api_of(cast.carol).get(f"/api/v1/customers/{ids[1]}").status_code == 404

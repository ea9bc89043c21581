"""The Today and cadence-rule JSON API: contract, authorisation, hostile input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from laoke.engagement import cadence
from laoke.engagement.models import TaskKind
from laoke.engagement.today import Section
from tests.engagement.today_helpers import CLOCK_TODAY, customer, task
from tests.engagement.today_helpers import days_before_clock as days_ago


def seed(cast, database) -> dict[str, int]:
    with database.unit_of_work() as s:
        wang = customer(s, cast.acme.id, cast.bob.id, "王丽", created_at=days_ago(200))
        li = customer(s, cast.acme.id, cast.carol.id, "李娜", created_at=days_ago(200))
        task(
            s,
            cast.acme.id,
            wang,
            cast.bob.id,
            kind=TaskKind.REPURCHASE,
            title="面霜",
            due_on=CLOCK_TODAY,
        )
        s.commit()
    return {"wang": wang, "li": li}


def test_today_lists_the_tokens_users_sections(cast, api_of, database) -> None:
    ids = seed(cast, database)
    body = api_of(cast.bob).get("/api/v1/today").json()
    assert set(body) == {"today", "staff_id", "sections", "team"}
    assert body["staff_id"] == cast.bob.id and body["team"] == []
    assert list(body["sections"]) == [s.value for s in Section]
    overdue = body["sections"]["overdue"]
    assert (overdue["total"], overdue["page"], overdue["has_more"]) == (1, 1, False)
    item = overdue["items"][0]
    assert item["customer_id"] == ids["wang"] and item["days_late"] == 140
    assert item["reason"] == "已有 200 天未联系；维温频率为每 60 天一次。"
    assert item["total_spent"] == "0"
    (due,) = body["sections"]["tasks"]["items"]
    assert (due["task_kind"], due["reason"]) == ("repurchase", "该回购了：面霜（今天到期）")


def test_managers_pick_a_colleague_or_the_team_and_sales_cannot(cast, api_of, database) -> None:
    ids = seed(cast, database)
    maggie = api_of(cast.maggie)
    carol = maggie.get("/api/v1/today", params={"staff_id": cast.carol.id}).json()
    assert [i["customer_id"] for i in carol["sections"]["overdue"]["items"]] == [ids["li"]]
    team = maggie.get("/api/v1/today", params={"team": 1}).json()
    assert team["staff_id"] is None
    assert {row["staff_id"]: row["overdue"] for row in team["team"]} == {
        cast.bob.id: 1,
        cast.carol.id: 1,
    }
    bob = api_of(cast.bob)
    assert bob.get("/api/v1/today", params={"staff_id": cast.carol.id}).status_code == 403
    assert bob.get("/api/v1/today", params={"team": 1}).status_code == 403
    oscar = api_of(cast.oscar)
    assert oscar.get("/api/v1/today", params={"staff_id": cast.bob.id}).status_code == 404
    assert (
        oscar.get("/api/v1/today", params={"team": 1}).json()["sections"]["overdue"]["total"] == 0
    )


def test_one_section_pages_and_bad_parameters_are_refused(cast, api_of, database) -> None:
    seed(cast, database)
    api = api_of(cast.bob)
    one = api.get("/api/v1/today", params={"section": "tasks", "per_page": 1}).json()
    assert list(one["sections"]) == ["tasks"] and one["sections"]["tasks"]["per_page"] == 1
    for params in (
        {"section": "everything"},
        {"page": 0},
        {"per_page": 1000},
        {"staff_id": "abc"},
        {"staff_id": 10**30},
        {"team": "maybe"},
    ):
        assert api.get("/api/v1/today", params=params).status_code == 422, params


def test_cadence_rules_start_from_the_defaults_and_only_owners_change_them(cast, api_of) -> None:
    viewer = api_of(cast.victor)
    listed = viewer.get("/api/v1/cadence-rules").json()
    first = listed[0]
    assert (first["scope"], first["value"], first["max_gap_days"]) == ("default", "", 60)
    assert len(listed) == len(cadence.DEFAULT_CADENCE)
    body = {"scope": "tag", "value": "VIP", "max_gap_days": 14}
    for who in (cast.victor, cast.maggie, cast.bob):
        assert api_of(who).post("/api/v1/cadence-rules", json=body).status_code == 403
    alice = api_of(cast.alice)
    created = alice.post("/api/v1/cadence-rules", json=body)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert {k: rule[k] for k in ("scope", "value", "max_gap_days", "active")} == {
        **body,
        "active": True,
    }
    assert alice.post("/api/v1/cadence-rules", json=body).json()["code"] == (
        "duplicate_cadence_rule"
    )
    patched = alice.patch(f"/api/v1/cadence-rules/{rule['id']}", json={"max_gap_days": 10})
    assert patched.json()["max_gap_days"] == 10
    off = alice.patch(f"/api/v1/cadence-rules/{rule['id']}", json={"active": False})
    assert off.json()["active"] is False
    assert api_of(cast.maggie).delete(f"/api/v1/cadence-rules/{rule['id']}").status_code == 403
    assert alice.delete(f"/api/v1/cadence-rules/{rule['id']}").status_code == 204
    assert alice.delete(f"/api/v1/cadence-rules/{rule['id']}").status_code == 404
    default_id = listed[0]["id"]
    assert alice.delete(f"/api/v1/cadence-rules/{default_id}").status_code == 409
    switched = alice.patch(f"/api/v1/cadence-rules/{default_id}", json={"active": False})
    assert (switched.status_code, switched.json()["code"]) == (409, "default_rule_required")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"scope": "tag", "value": "VIP", "max_gap_days": 0}, 422),
        ({"scope": "tag", "value": "VIP", "max_gap_days": -1}, 422),
        ({"scope": "tag", "value": "VIP", "max_gap_days": 10**9}, 422),
        ({"scope": "tag", "value": "VIP", "max_gap_days": "abc"}, 422),
        ({"scope": "tag", "value": "VIP"}, 422),
        ({"scope": "weather", "value": "rain", "max_gap_days": 5}, 422),
        ({"scope": "tag", "value": "   ", "max_gap_days": 5}, 422),
        ({"scope": "tag", "value": "x" * 51, "max_gap_days": 5}, 422),
        ({"scope": "value_tier", "value": "platinum", "max_gap_days": 5}, 422),
        ({"scope": "tag", "value": "VIP", "max_gap_days": 5, "owner": 1}, 422),
        ({"scope": "default", "max_gap_days": 5}, 409),
        ({"scope": "lifecycle_stage", "value": "loyal", "max_gap_days": 5}, 409),
    ],
)
def test_hostile_cadence_rules_are_refused(cast, api_of, body, status) -> None:
    alice = api_of(cast.alice)
    alice.get("/api/v1/cadence-rules")  # the defaults exist
    response = alice.post("/api/v1/cadence-rules", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_another_tenants_rules_are_not_found(cast, api_of) -> None:
    listed = api_of(cast.alice).get("/api/v1/cadence-rules").json()
    oscar = api_of(cast.oscar)
    assert (
        oscar.patch(
            f"/api/v1/cadence-rules/{listed[1]['id']}", json={"max_gap_days": 3}
        ).status_code
        == 404
    )
    assert oscar.delete(f"/api/v1/cadence-rules/{listed[1]['id']}").status_code == 404
    assert api_of(cast.alice).patch(
        "/api/v1/cadence-rules/99999999999999999999", json={}
    ).status_code in (404, 422)
    assert {r["id"] for r in oscar.get("/api/v1/cadence-rules").json()}.isdisjoint(
        {r["id"] for r in listed}
    )


def test_a_future_task_is_not_due_yet(cast, api_of, database) -> None:
    with database.unit_of_work() as s:
        wang = customer(s, cast.acme.id, cast.bob.id, "王丽", last_contact_at=days_ago(1))
        task(s, cast.acme.id, wang, cast.bob.id, due_on=CLOCK_TODAY + timedelta(days=400))
        s.commit()
    body = api_of(cast.bob).get("/api/v1/today").json()
    assert body["sections"]["tasks"]["total"] == 0

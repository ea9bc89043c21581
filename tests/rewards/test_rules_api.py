"""The rules, ladder, budget and settings API, and rules made through it paying out: on a
friend's first purchase, within a monthly cap and a budget, and up a ladder to an agent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laoke.customers.stages import LifecycleStage
from laoke.rewards.models import Agent, Asset, RewardKind, RewardStatus
from tests.conftest import Cast
from tests.rewards.conftest import Rewards

POINTS = {"beneficiary": "referrer", "trigger": "first_purchase", "kind": "points", "amount": 500}
SETTINGS = {
    "return_window_days": 10,
    "point_value": "0.05",
    "points_valid_days": 180,
    "expiry_reminder_days": 3,
    "max_redeem_share": "0.4",
}


def _rules_url(program_id: int) -> str:
    return f"/api/v1/referral-programs/{program_id}/reward-rules"


def _tiers_url(program_id: int) -> str:
    return f"/api/v1/referral-programs/{program_id}/reward-tiers"


def test_rules_are_created_listed_changed_and_stopped(rw: Rewards, cast: Cast, api_of) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    created = api.post(_rules_url(program), json={**POINTS, "cap_per_month": 5})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["kind"], Decimal(rule["amount"]), rule["active"]) == ("points", 500, True)
    assert rule["description"] == "被推荐人首单后 推荐人得 500 积分，每月最多 5 次"
    listed = api_of(cast.victor).get(_rules_url(program))
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [rule["id"]]
    changed = api.patch(f"/api/v1/reward-rules/{rule['id']}", json={"amount": 800})
    assert changed.status_code == 200 and Decimal(changed.json()["amount"]) == 800
    stopped = api.patch(f"/api/v1/reward-rules/{rule['id']}", json={"active": False})
    assert stopped.json()["active"] is False
    assert api.get(_rules_url(program)).json()[0]["active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**POINTS, "amount": -5}, "amount"),
        ({**POINTS, "amount": 0}, "amount"),
        ({**POINTS, "amount": 2.5}, "amount"),
        ({**POINTS, "amount": 10**40}, "amount"),
        ({**POINTS, "amount": "1e999"}, "amount"),
        ({**POINTS, "amount": "NaN"}, "amount"),
        ({**POINTS, "amount": "lots"}, "amount"),
        ({**POINTS, "kind": "commission"}, "kind"),
        ({**POINTS, "kind": "diamonds"}, "kind"),
        ({**POINTS, "trigger": "tier"}, "trigger"),
        ({**POINTS, "trigger": "purchase_at_least"}, "min_amount"),
        ({**POINTS, "beneficiary": "referee", "trigger": "tier"}, "trigger"),
        ({**POINTS, "hold_days": 400}, "hold_days"),
        ({**POINTS, "hold_days": 1.5}, "hold_days"),
        ({**POINTS, "cap_lifetime": 0}, "cap_lifetime"),
        ({**POINTS, "cap_per_month": 2**63}, "cap_per_month"),
        ({"kind": "coupon", "amount": 10}, "coupon_kind"),
        ({"kind": "coupon", "coupon_kind": "percent", "amount": 120}, "amount"),
        ({"kind": "gift", "amount": 10}, "label"),
        ({"kind": "privilege", "label": "VIP"}, "valid_days"),
        ({"kind": "honour", "label": "x" * 101}, "label"),
        ({**POINTS, "surprise": 1}, "surprise"),
    ],
)
def test_invalid_rules_get_problem_details_naming_the_field(
    rw: Rewards, cast: Cast, api_of, body: dict, field: str
) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    response = api.post(_rules_url(program), json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert api.get(_rules_url(program)).json() == []


def test_a_hostile_label_is_stored_as_text(rw: Rewards, cast: Cast, api_of) -> None:
    program = rw.program()
    hostile = "<script>alert('x')</script>"
    body = {"kind": "gift", "label": hostile, "amount": 30}
    rule = api_of(cast.alice).post(_rules_url(program), json=body).json()
    assert rule["label"] == hostile and hostile in rule["description"]


def test_who_may_change_rules_and_other_tenants_see_nothing(
    rw: Rewards, cast: Cast, api_of
) -> None:
    program = rw.program()
    rule = api_of(cast.alice).post(_rules_url(program), json=POINTS).json()
    tier = api_of(cast.alice).post(_tiers_url(program), json={"threshold": 1, "title": "铜"}).json()
    for user in (cast.maggie, cast.bob, cast.victor):
        api = api_of(user)
        assert api.post(_rules_url(program), json=POINTS).status_code == 403
        assert (
            api.patch(f"/api/v1/reward-rules/{rule['id']}", json={"active": False}).status_code
            == 403
        )
        assert api.post(_tiers_url(program), json={"threshold": 2, "title": "x"}).status_code == 403
        assert (
            api.patch(f"/api/v1/reward-tiers/{tier['id']}", json={"title": "y"}).status_code == 403
        )
        assert api.delete(f"/api/v1/reward-tiers/{tier['id']}").status_code == 403
        assert api.put("/api/v1/reward-settings", json=SETTINGS).status_code == 403
        budget = f"/api/v1/referral-programs/{program}/reward-budget"
        assert api.put(budget, json={"reward_budget": 5}).status_code == 403
        assert api.get(_rules_url(program)).status_code == 200
        assert api.get(_tiers_url(program)).status_code == 200
        assert api.get("/api/v1/reward-settings").status_code == 200
    oscar = api_of(cast.oscar)
    assert oscar.get(_rules_url(program)).status_code == 404
    assert oscar.post(_rules_url(program), json=POINTS).status_code == 404
    assert oscar.patch(f"/api/v1/reward-rules/{rule['id']}", json={"amount": 1}).status_code == 404
    assert oscar.get(_tiers_url(program)).status_code == 404
    assert oscar.patch(f"/api/v1/reward-tiers/{tier['id']}", json={"title": "z"}).status_code == 404
    assert oscar.delete(f"/api/v1/reward-tiers/{tier['id']}").status_code == 404
    assert oscar.get(f"/api/v1/referral-programs/{program}/reward-budget").status_code == 404
    assert api_of(cast.alice).get(_rules_url(program)).json()[0]["active"] is True


def test_tiers_api_checks_duplicates_and_deletes(rw: Rewards, cast: Cast, api_of) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    first = api.post(_tiers_url(program), json={"threshold": 1, "title": "铜牌推荐官"})
    assert first.status_code == 201, first.text
    duplicate = api.post(_tiers_url(program), json={"threshold": 1, "title": "again"})
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "threshold"
    for bad in (
        {"threshold": 0, "title": "x"},
        {"threshold": 99999999999, "title": "x"},
        {"threshold": 2, "title": ""},
        {"threshold": 2, "title": "x" * 61},
        {"threshold": 2, "title": "x", "makes_agent": True},
        {"threshold": 2, "title": "x", "makes_agent": True, "commission_rate": 1.5},
        {"threshold": "two", "title": "x"},
    ):
        assert api.post(_tiers_url(program), json=bad).status_code == 422, bad
    top = api.post(
        _tiers_url(program),
        json={"threshold": 20, "title": "分销商", "makes_agent": True, "commission_rate": "0.1"},
    ).json()
    reward = api.post(
        _rules_url(program), json={"kind": "points", "amount": 500, "tier_id": top["id"]}
    )
    assert reward.status_code == 201 and reward.json()["trigger"] == "tier"
    assert api.get(_rules_url(program)).json() == []  # tier rules are listed with the tier
    ladder = api.get(_tiers_url(program)).json()
    assert [t["threshold"] for t in ladder] == [1, 20]
    assert [r["id"] for r in ladder[1]["rules"]] == [reward.json()["id"]]
    moved = api.patch(f"/api/v1/reward-tiers/{top['id']}", json={"threshold": 1})
    assert moved.status_code == 409
    renamed = api.patch(f"/api/v1/reward-tiers/{top['id']}", json={"title": "金牌"})
    assert renamed.json()["title"] == "金牌" and renamed.json()["rules"]
    assert api.delete(f"/api/v1/reward-tiers/{top['id']}").status_code == 204
    assert api.delete(f"/api/v1/reward-tiers/{top['id']}").status_code == 404
    assert [t["threshold"] for t in api.get(_tiers_url(program)).json()] == [1]


def test_settings_and_budget_api(rw: Rewards, cast: Cast, api_of) -> None:
    api = api_of(cast.alice)
    defaults = api.get("/api/v1/reward-settings").json()
    assert (defaults["return_window_days"], defaults["default_hold_days"]) == (7, 8)
    saved = api.put("/api/v1/reward-settings", json=SETTINGS)
    assert saved.status_code == 200, saved.text
    assert saved.json()["default_hold_days"] == 11
    for change in (
        {"return_window_days": 91},
        {"point_value": 0},
        {"point_value": "NaN"},
        {"points_valid_days": 0},
        {"expiry_reminder_days": -1},
        {"max_redeem_share": 2},
        {"max_redeem_share": None},
        {"extra": True},
    ):
        assert api.put("/api/v1/reward-settings", json={**SETTINGS, **change}).status_code == 422
    assert api_of(cast.victor).get("/api/v1/reward-settings").json()["return_window_days"] == 10
    assert api_of(cast.oscar).get("/api/v1/reward-settings").json()["return_window_days"] == 7

    program = rw.program()
    url = f"/api/v1/referral-programs/{program}/reward-budget"
    assert api.get(url).json()["reward_budget"] is None
    for bad in (-1, "1e20", "abc", 0.001):
        assert api.put(url, json={"reward_budget": bad}).status_code == 422, bad
    budget = api.put(url, json={"reward_budget": "300"}).json()
    assert (Decimal(budget["reward_budget"]), Decimal(budget["spent"])) == (300, 0)
    assert budget["share_used"] == 0
    assert api.put(url, json={"reward_budget": None}).json()["reward_budget"] is None


# --- rules made through the API pay out ----------------------------------------------------


def _friend_buys(rw: Rewards, referrer_id: int, program: int, n: int, amount: str = "300") -> int:
    phone = f"+861390013{n:04d}"
    rw.refer(referrer_id, f"朋友{n}", phone, program)
    friend = rw.customer(f"朋友{n}", phone, stage=LifecycleStage.PROSPECT)
    rw.order(friend.id, amount)
    return friend.id


def test_a_rule_made_through_the_api_pays_on_the_friends_first_purchase(
    rw: Rewards, cast: Cast, api_of
) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    assert api.post(_rules_url(program), json=POINTS).status_code == 201
    coupon = {
        "beneficiary": "referee",
        "trigger": "first_purchase",
        "kind": "coupon",
        "coupon_kind": "fixed",
        "amount": 20,
        "min_spend": 200,
    }
    assert api.post(_rules_url(program), json=coupon).status_code == 201
    wang = rw.customer()
    friend = _friend_buys(rw, wang.id, program, 1)
    assert rw.balances(wang.id)[Asset.POINTS].held == Decimal(500)
    assert rw.balances(friend)[Asset.COUPON].held == Decimal(1)
    rw.release_all()
    assert rw.balances(wang.id)[Asset.POINTS].available == Decimal(500)
    assert rw.verify().ok


def test_a_monthly_cap_of_two_caps_the_third_reward(rw: Rewards, cast: Cast, api_of) -> None:
    program = rw.program()
    api_of(cast.alice).post(_rules_url(program), json={**POINTS, "cap_per_month": 2})
    wang = rw.customer()
    for n in range(3):
        _friend_buys(rw, wang.id, program, n)
    statuses = [r.status for r in rw.rewards(wang.id)]
    assert statuses == [RewardStatus.HELD, RewardStatus.HELD, RewardStatus.CAPPED]
    assert rw.rewards(wang.id)[2].status_reason == "cap_per_month"
    assert rw.balances(wang.id)[Asset.POINTS].held == Decimal(1000)


def test_a_spent_budget_stops_issuing(rw: Rewards, cast: Cast, api_of) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    cash = {**POINTS, "kind": "cash", "amount": 50}
    api.post(_rules_url(program), json=cash)
    url = f"/api/v1/referral-programs/{program}/reward-budget"
    api.put(url, json={"reward_budget": 120})
    wang = rw.customer()
    for n in range(3):
        _friend_buys(rw, wang.id, program, n)
    rewards = rw.rewards(wang.id)
    assert [r.status for r in rewards] == [RewardStatus.HELD] * 2 + [RewardStatus.CAPPED]
    assert rewards[2].status_reason == "budget"
    usage = api.get(url).json()
    assert (Decimal(usage["spent"]), Decimal(usage["left"])) == (100, 20)


def test_the_ladder_grants_each_tier_once_and_the_top_makes_an_agent(
    rw: Rewards, cast: Cast, api_of
) -> None:
    program = rw.program()
    api = api_of(cast.alice)
    tiers = {}
    for threshold, title, extra in (
        (1, "铜牌推荐官", {}),
        (3, "银牌推荐官", {}),
        (5, "金牌分销商", {"makes_agent": True, "commission_rate": "0.1"}),
    ):
        body = {"threshold": threshold, "title": title, **extra}
        tiers[threshold] = api.post(_tiers_url(program), json=body).json()["id"]
    tier_reward = {"kind": "points", "amount": 1000, "hold_days": 0}
    api.post(_rules_url(program), json={**tier_reward, "tier_id": tiers[1]})
    api.post(
        _rules_url(program), json={**tier_reward, "kind": "cash", "amount": 88, "tier_id": tiers[3]}
    )
    wang = rw.customer()
    friends = []

    def titles() -> list[str]:
        return [r.label for r in rw.rewards(wang.id) if r.kind == RewardKind.HONOUR]

    for n in range(5):
        friends.append(_friend_buys(rw, wang.id, program, n))
        if n == 0:
            assert titles() == ["铜牌推荐官"]
            assert rw.balances(wang.id)[Asset.POINTS].available == Decimal(1000)
        if n == 2:
            assert titles() == ["铜牌推荐官", "银牌推荐官"]
    assert titles() == ["铜牌推荐官", "银牌推荐官", "金牌分销商"]
    by_tier = [r.tier_id for r in rw.rewards(wang.id) if r.tier_id]
    assert sorted(by_tier) == sorted([tiers[1], tiers[1], tiers[3], tiers[3], tiers[5]])
    with rw.database.unit_of_work(write=False) as s:
        agent = s.query(Agent).filter_by(customer_id=wang.id).one()
        assert (agent.commission_rate, agent.tier_id) == (Decimal("0.1"), tiers[5])
    before = [r.id for r in rw.rewards(wang.id) if r.kind == RewardKind.COMMISSION]
    order_id = rw.order(friends[0], "1000")
    commission = [
        r for r in rw.rewards(wang.id) if r.kind == RewardKind.COMMISSION and r.id not in before
    ]
    assert [(c.amount, c.order_id) for c in commission] == [(Decimal(100), order_id)]
    assert titles().count("铜牌推荐官") == 1  # a later order grants nothing twice
    assert rw.verify().ok
    # Removing tiers keeps what was granted: rewards, titles and the agent.
    granted = len(rw.rewards(wang.id))
    for tier_id in tiers.values():
        assert api.delete(f"/api/v1/reward-tiers/{tier_id}").status_code == 204
    assert len(rw.rewards(wang.id)) == granted
    assert all(r.tier_id is None for r in rw.rewards(wang.id))
    with rw.database.unit_of_work(write=False) as s:
        agent = s.query(Agent).filter_by(customer_id=wang.id).one()
        assert (agent.active, agent.tier_id) == (True, None)
    assert rw.verify().ok


def test_an_old_rule_that_no_longer_passes_the_checks_can_still_be_stopped(
    rw: Rewards, cast: Cast, api_of
) -> None:
    program = rw.program()
    odd = rw.rule(program, kind="honour", amount=Decimal(0), label="")
    api = api_of(cast.alice)
    assert (
        api.patch(f"/api/v1/reward-rules/{odd}", json={"active": False}).json()["active"] is False
    )
    refused = api.patch(f"/api/v1/reward-rules/{odd}", json={"active": True, "hold_days": 3})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "label"

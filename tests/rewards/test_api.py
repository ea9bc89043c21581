"""The rewards API: the wallet contract, the reward list and detail, idempotent issue and
redeem (201, 200, 409), hostile input, permissions, tenants, busy databases, the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError

from laoke.rewards import busy
from laoke.rewards.models import Asset, CouponKind, RewardKind
from tests.rewards.conftest import Rewards
from tests.rewards.test_wallet import give


def issue_body(customer_id: int, **fields) -> dict:
    body = {"customer_id": customer_id, "kind": "points", "amount": 300, "hold_days": 0}
    return {**body, **fields}


def test_the_wallet_contract(rw: Rewards, cast, api_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    rw.issue(wang.id, 200, key="b")
    give(rw, wang.id, "cash", kind=RewardKind.CASH, amount=Decimal("12.5"), hold_days=0)
    give(
        rw,
        wang.id,
        "coupon",
        kind=RewardKind.COUPON,
        amount=Decimal(20),
        coupon_kind=CouponKind.FIXED,
        min_spend=Decimal(100),
        hold_days=0,
    )
    response = api_of(cast.alice).get(f"/api/v1/customers/{wang.id}/wallet")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"points", "coupons", "cash_payable"} <= body.keys()
    assert body["points"]["available"] == 500 and body["points"]["held"] == 200
    assert body["points"]["value"] == "5.00"
    assert body["cash_payable"] == {"available": "12.50", "held": "0.00", "owed": "0.00"}
    [coupon] = body["coupons"]
    assert (coupon["value"], coupon["min_spend"], coupon["usable"]) == ("20.00", "100.00", True)
    assert set(coupon) >= {"code", "kind", "value", "min_spend", "expires_on"}


def test_a_salesperson_sees_the_wallets_of_their_own_customers_only(rw, cast, api_of) -> None:
    bobs = rw.customer(owner=cast.bob)
    carols = rw.customer("陈", "+8613800138111", owner=cast.carol)
    bob = api_of(cast.bob)
    assert bob.get(f"/api/v1/customers/{bobs.id}/wallet").status_code == 200
    assert bob.get(f"/api/v1/customers/{carols.id}/wallet").status_code == 404
    assert api_of(cast.oscar).get(f"/api/v1/customers/{bobs.id}/wallet").status_code == 404


def test_manual_issue_is_idempotent_201_then_200_then_409(rw, cast, api_of) -> None:
    wang = rw.customer()
    api = api_of(cast.maggie)
    headers = {"Idempotency-Key": "goodwill-1"}
    first = api.post("/api/v1/rewards", json=issue_body(wang.id), headers=headers)
    assert first.status_code == 201, first.text
    again = api.post("/api/v1/rewards", json=issue_body(wang.id), headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = api.post("/api/v1/rewards", json=issue_body(wang.id, amount=301), headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"].startswith("application/problem+json")
    assert rw.balances(wang.id)[Asset.POINTS].available == 300
    detail = first.json()
    assert detail["status"] == "released" and [e["operation"] for e in detail["entries"]] == [
        "issue",
        "release",
    ]


def test_manual_issue_needs_the_key_and_the_permission(rw, cast, api_of) -> None:
    wang = rw.customer()
    api = api_of(cast.alice)
    assert api.post("/api/v1/rewards", json=issue_body(wang.id)).status_code == 422
    blank = api.post("/api/v1/rewards", json=issue_body(wang.id), headers={"Idempotency-Key": " "})
    assert blank.status_code == 422
    for user in (cast.bob, cast.victor):
        refused = api_of(user).post(
            "/api/v1/rewards", json=issue_body(wang.id), headers={"Idempotency-Key": "x"}
        )
        assert refused.status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"amount": -5},
        {"amount": 1e30},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "lots"},
        {"amount": 0},
        {"amount": 10.5},
        {"kind": "bitcoin"},
        {"hold_days": -1},
        {"customer_id": "me"},
        {"min_spend": 10},
        {"unexpected": 1},
        {"kind": "coupon", "coupon_kind": "percent", "amount": 150},
    ],
)
def test_hostile_issue_bodies_are_refused(rw, cast, api_of, change) -> None:
    wang = rw.customer()
    response = api_of(cast.alice).post(
        "/api/v1/rewards", json={**issue_body(wang.id), **change}, headers={"Idempotency-Key": "h"}
    )
    assert response.status_code == 422, response.text
    assert rw.rewards() == []


def test_issue_for_another_tenants_customer_is_not_found(rw, cast, api_of) -> None:
    theirs = rw.customer(org=cast.globex)
    response = api_of(cast.alice).post(
        "/api/v1/rewards", json=issue_body(theirs.id), headers={"Idempotency-Key": "t"}
    )
    assert response.status_code == 404
    assert rw.rewards() == []


def test_list_filters_and_detail_with_entries_and_referral(rw, cast, api_of) -> None:
    program = rw.program()
    rw.rule(program, trigger="lead", kind="points", amount=Decimal(50))
    referrer = rw.customer()
    lead = rw.refer(referrer.id, "小张", "+8613700137000", program)
    other = rw.customer("陈", "+8613800138111")
    give(rw, other.id, "cash", kind=RewardKind.CASH, amount=Decimal(10))
    api = api_of(cast.alice)
    everything = api.get("/api/v1/rewards").json()
    assert everything["total"] == 2
    points = api.get("/api/v1/rewards", params={"kind": "points"}).json()["items"]
    assert [r["lead_id"] for r in points] == [lead]
    assert api.get("/api/v1/rewards", params={"customer_id": other.id}).json()["total"] == 1
    assert api.get("/api/v1/rewards", params={"program_id": program}).json()["total"] == 1
    assert api.get("/api/v1/rewards", params={"status": "released"}).json()["total"] == 0
    assert api.get("/api/v1/rewards", params={"status": "nonsense"}).status_code == 422
    assert api.get("/api/v1/rewards", params={"per_page": 100000}).status_code == 422
    detail = api.get(f"/api/v1/rewards/{points[0]['id']}").json()
    assert detail["referral"]["lead_id"] == lead
    assert detail["referral"]["referrer_customer_id"] == referrer.id
    assert [e["operation"] for e in detail["entries"]] == ["issue"]
    assert api_of(cast.oscar).get(f"/api/v1/rewards/{points[0]['id']}").status_code == 404
    assert api_of(cast.oscar).get("/api/v1/rewards").json()["total"] == 0


def test_a_salesperson_lists_only_their_customers_rewards(rw, cast, api_of) -> None:
    bobs = rw.customer(owner=cast.bob)
    carols = rw.customer("陈", "+8613800138111", owner=cast.carol)
    rw.issue(bobs.id, 10, key="b")
    theirs = rw.issue(carols.id, 10, key="c")
    bob = api_of(cast.bob)
    assert [r["customer_id"] for r in bob.get("/api/v1/rewards").json()["items"]] == [bobs.id]
    assert bob.get(f"/api/v1/rewards/{theirs.id}").status_code == 404


def test_payout_hand_over_and_reverse(rw, cast, api_of) -> None:
    wang = rw.customer()
    cash = give(rw, wang.id, "cash", kind=RewardKind.CASH, amount=Decimal(30), hold_days=0)
    gift = give(
        rw, wang.id, "gift", kind=RewardKind.GIFT, amount=Decimal(10), label="伞", hold_days=0
    )
    points = rw.issue(wang.id, 100, key="p").id
    api = api_of(cast.maggie)
    assert api.post(f"/api/v1/rewards/{cash}/payout", json={"reference": ""}).status_code == 422
    assert (
        api_of(cast.bob).post(f"/api/v1/rewards/{cash}/payout", json={"reference": "x"}).status_code
        == 403
    )
    paid = api.post(f"/api/v1/rewards/{cash}/payout", json={"reference": "WX-123"})
    assert paid.status_code == 200 and paid.json()["status"] == "redeemed"
    assert paid.json()["reference"] == "WX-123"
    twice = api.post(f"/api/v1/rewards/{cash}/payout", json={"reference": "WX-123"})
    assert twice.status_code == 409
    assert api.post(f"/api/v1/rewards/{points}/payout", json={"reference": "x"}).status_code == 422
    handed = api_of(cast.bob).post(f"/api/v1/rewards/{gift}/hand-over", json={"note": "到店领取"})
    assert handed.status_code == 200 and handed.json()["status"] == "redeemed"
    assert api.post(f"/api/v1/rewards/{points}/reverse", json={"reason": ""}).status_code == 422
    reversed_ = api.post(f"/api/v1/rewards/{points}/reverse", json={"reason": "录错了"})
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    again = api.post(f"/api/v1/rewards/{points}/reverse", json={"reason": "录错了"})
    assert again.status_code == 409
    assert api_of(cast.oscar).post(f"/api/v1/rewards/{gift}/hand-over", json={}).status_code == 404
    assert rw.balances(wang.id)[Asset.CASH].available == 0
    assert rw.verify().ok


def redeem(api, order_id: int, key: str | None = "r1", **body):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(f"/api/v1/orders/{order_id}/redemptions", json=body, headers=headers)


def test_redemption_is_idempotent_201_then_200_then_409(rw, cast, api_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "300")
    api = api_of(cast.bob)
    first = redeem(api, order, points=100)
    assert first.status_code == 201, first.text
    assert first.json()["value"] == "1.00" and first.json()["points"] == 100
    again = redeem(api, order, points=100)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = redeem(api, order, points=101)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert redeem(api, order, key=None, points=100).status_code == 422
    wallet = api.get(f"/api/v1/customers/{wang.id}/wallet").json()
    assert wallet["points"]["available"] == 400


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"points": -1}, 422, None),
        ({"points": 1e30}, 422, None),
        ({"points": "NaN"}, 422, None),
        ({"points": "abc"}, 422, None),
        ({"points": 1.5}, 422, None),
        ({"points": 0}, 422, None),
        ({}, 422, None),
        ({"points": 501}, 409, "insufficient_points"),
        ({"points": 100, "coupon_id": "x"}, 422, None),
        ({"coupon_id": 999999}, 404, "coupon_not_found"),
        ({"points": 100, "extra": True}, 422, None),
    ],
)
def test_hostile_redemptions_are_refused(rw, cast, api_of, body, status, code) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "100000")
    response = redeem(api_of(cast.alice), order, **body)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["code"] == code
    assert rw.balances(wang.id)[Asset.POINTS].available == 500


def test_redeem_share_coupons_of_others_expiry_and_tenants(rw, cast, api_of) -> None:
    wang = rw.customer()
    chen = rw.customer("陈", "+8613800138111")
    rw.issue(wang.id, 50000, key="a", hold_days=0)
    give(rw, chen.id, "their-coupon", kind=RewardKind.COUPON, amount=Decimal(20), hold_days=0)
    api = api_of(cast.alice)
    chens_coupon = api.get(f"/api/v1/customers/{chen.id}/wallet").json()["coupons"][0]["id"]
    order = rw.order(wang.id, "300")
    over = redeem(api, order, key="over", points=15001)  # ¥150.01 > half of ¥300
    assert over.status_code == 422 and over.json()["code"] == "redeem_limit"
    stolen = redeem(api, order, key="stolen", coupon_id=chens_coupon)
    assert stolen.status_code == 404 and stolen.json()["code"] == "coupon_not_found"
    globex_customer = rw.customer("外人", "+8613600136000", org=cast.globex)
    theirs = rw.order(globex_customer.id, "300")
    assert redeem(api, theirs, key="t", points=1).status_code == 404
    assert redeem(api_of(cast.carol), order, key="c", points=1).status_code == 404
    assert redeem(api_of(cast.victor), order, key="v", points=1).status_code == 403
    assert redeem(api, 10**12, key="missing", points=1).status_code == 404


def test_an_expired_coupon_is_refused(rw, cast, api_of) -> None:
    from laoke.rewards.models import Coupon

    wang = rw.customer()
    give(rw, wang.id, "c", kind=RewardKind.COUPON, amount=Decimal(20), hold_days=0)
    with rw.database.unit_of_work() as s:
        coupon = s.query(Coupon).one()
        coupon.expires_on = date(2020, 1, 1)
        coupon_id = coupon.id
        s.commit()
    order = rw.order(wang.id, "300")
    response = redeem(api_of(cast.alice), order, coupon_id=coupon_id)
    assert response.status_code == 409 and response.json()["code"] == "coupon_expired"


def test_a_busy_database_ends_as_409_busy_retry_never_500(rw, cast, api_of, monkeypatch) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "300")
    calls = []

    def locked(*args, **kwargs):
        calls.append(1)
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("laoke.rewards.api.redeem", locked)
    monkeypatch.setattr(busy.time, "sleep", lambda _: None)
    response = redeem(api_of(cast.alice), order, points=10)
    assert response.status_code == 409 and response.json()["code"] == "busy_retry"
    assert len(calls) == busy.ATTEMPTS


def test_a_racing_insert_of_the_same_key_is_retried_into_a_replay(
    rw, cast, api_of, monkeypatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    from laoke.rewards import api as rewards_api

    wang = rw.customer()
    real = rewards_api.issue
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            real(*args, **kwargs)  # another request's insert won the race
            args[0].commit()
            raise IntegrityError(
                "INSERT",
                {},
                Exception("UNIQUE constraint failed: rewards.org_id, rewards.idempotency_key"),
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(rewards_api, "issue", racing)
    response = api_of(cast.alice).post(
        "/api/v1/rewards", json=issue_body(wang.id), headers={"Idempotency-Key": "race"}
    )
    assert response.status_code == 200, response.text
    assert len(rw.rewards()) == 1 and len(calls) == 2


def test_other_database_errors_are_not_swallowed() -> None:
    error = OperationalError("SELECT", {}, Exception("no such table: rewards"))
    assert not busy.is_contention(error)
    assert busy.is_contention(OperationalError("x", {}, Exception("database is locked")))


def test_ledger_entries_and_verify(rw, cast, api_of) -> None:
    wang = rw.customer()
    for n in range(3):
        rw.issue(wang.id, 10 + n, key=f"k{n}", hold_days=0)
    api = api_of(cast.maggie)
    page = api.get("/api/v1/ledger/entries", params={"limit": 4}).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3, 4]
    assert page["next_after_seq"] == 4
    rest = api.get("/api/v1/ledger/entries", params={"after_seq": 4, "limit": 4}).json()
    assert [e["seq"] for e in rest["items"]] == [5, 6] and rest["next_after_seq"] is None
    verified = api.get("/api/v1/ledger/verify").json()
    assert verified["ok"] and verified["entries"] == 6 and verified["first_broken_seq"] is None
    for user in (cast.bob, cast.victor):
        assert api_of(user).get("/api/v1/ledger/entries").status_code == 403
        assert api_of(user).get("/api/v1/ledger/verify").status_code == 403
    assert api_of(cast.oscar).get("/api/v1/ledger/verify").json()["entries"] == 0


def test_the_openapi_document_names_the_contract(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    wallet = paths["/api/v1/customers/{customer_id}/wallet"]["get"]
    assert "200" in wallet["responses"]
    headers = [p["name"] for p in paths["/api/v1/rewards"]["post"]["parameters"]]
    assert "Idempotency-Key" in headers

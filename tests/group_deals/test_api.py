"""The group deals JSON API: offers, groups, members, cancelling; permissions and tenants."""

from __future__ import annotations

import pytest

OFFERS = "/api/v1/group-offers"
GROUPS = "/api/v1/group-deals"
LEADER_FREE = {
    "name": "3人成团 1人免单",
    "group_size": 3,
    "open_hours": 48,
    "benefit": "leader_free",
}
EIGHT = {
    "name": "带8位朋友 免费学",
    "group_size": 9,
    "open_hours": 24 * 14,
    "benefit": "each_member",
    "member_kind": "coupon",
    "member_amount": "100.00",
    "coupon_min_spend": "300",
    "coupon_valid_days": 60,
    "min_amount": "99",
}


def test_an_offer_round_trips(cast, api_of) -> None:
    api = api_of(cast.alice)
    response = api.post(OFFERS, json={**LEADER_FREE, "leader_cap": "500"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active" and body["leader_cap"] == "500.00"
    assert body["member_kind"] is None and body["min_amount"] is None
    assert api.get(f"{OFFERS}/{body['id']}").json() == body
    (listed,) = api.get(OFFERS).json()
    assert listed["id"] == body["id"] and listed["open_groups"] == 0


def test_leader_free_drops_member_fields_and_each_member_drops_the_cap(cast, api_of) -> None:
    api = api_of(cast.alice)
    body = api.post(
        OFFERS, json={**LEADER_FREE, "member_kind": "points", "member_amount": "5"}
    ).json()
    assert body["member_kind"] is None and body["member_amount"] is None
    other = api.post(OFFERS, json={**EIGHT, "leader_cap": "99"}).json()
    assert other["leader_cap"] is None and other["coupon_min_spend"] == "300.00"


def test_patch_pauses_and_changes_only_the_given_fields(cast, api_of) -> None:
    api = api_of(cast.alice)
    created = api.post(OFFERS, json=EIGHT).json()
    patched = api.patch(f"{OFFERS}/{created['id']}", json={"status": "paused", "group_size": 5})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["status"], body["group_size"], body["member_amount"]) == ("paused", 5, "100.00")
    assert api.patch(f"{OFFERS}/{created['id']}", json={"group_size": None}).status_code == 422
    assert api.patch(f"{OFFERS}/{created['id']}", json={"name": "  "}).status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "\x00\x01"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"group_size": 1}, "group_size"),
        ({"group_size": 51}, "group_size"),
        ({"group_size": "three"}, "group_size"),
        ({"open_hours": 0}, "open_hours"),
        ({"open_hours": 24 * 91}, "open_hours"),
        ({"benefit": "everything_free"}, "benefit"),
        ({"min_amount": "-1"}, "min_amount"),
        ({"min_amount": "NaN"}, "min_amount"),
        ({"min_amount": "1e400"}, "min_amount"),
        ({"leader_cap": "0"}, "leader_cap"),
        ({"benefit": "each_member"}, "member_kind"),
        ({"benefit": "each_member", "member_kind": "gift", "member_amount": "1"}, "member_kind"),
        ({"benefit": "each_member", "member_kind": "points"}, "member_amount"),
        (
            {"benefit": "each_member", "member_kind": "points", "member_amount": "10.5"},
            "member_amount",
        ),
        (
            {
                "benefit": "each_member",
                "member_kind": "coupon",
                "member_amount": "100",
                "coupon_min_spend": "50",
            },
            "coupon_min_spend",
        ),
        ({"product_id": 999999}, "product_id"),
        ({"program_id": 999999}, "program_id"),
        ({"description": "x" * 501}, "description"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_offers_are_refused_naming_the_field(cast, api_of, change, field) -> None:
    response = api_of(cast.alice).post(OFFERS, json={**LEADER_FREE, **change})
    assert response.status_code == 422, response.text
    assert field in response.text
    assert api_of(cast.alice).get(OFFERS).json() == []


def test_duplicate_offer_names_conflict_also_on_rename(cast, api_of) -> None:
    api = api_of(cast.alice)
    api.post(OFFERS, json=LEADER_FREE)
    again = api.post(OFFERS, json={**LEADER_FREE, "name": " 3人成团  1人免单 "})
    assert again.status_code == 409 and again.json()["code"] == "duplicate_group_offer"
    other = api.post(OFFERS, json=EIGHT).json()
    renamed = api.patch(f"{OFFERS}/{other['id']}", json={"name": LEADER_FREE["name"]})
    assert renamed.status_code == 409
    # Another tenant may use the same name.
    assert api_of(cast.oscar).post(OFFERS, json=LEADER_FREE).status_code == 201


def test_only_owners_and_admins_manage_offers(cast, api_of) -> None:
    for user in (cast.maggie, cast.bob, cast.victor):
        assert api_of(user).post(OFFERS, json=LEADER_FREE).status_code == 403
    offer = api_of(cast.alice).post(OFFERS, json=LEADER_FREE).json()
    assert (
        api_of(cast.bob).patch(f"{OFFERS}/{offer['id']}", json={"status": "ended"}).status_code
        == 403
    )
    assert api_of(cast.victor).get(OFFERS).status_code == 200


def _open(api, gd, **offer):
    offer_id = api.post(OFFERS, json={**LEADER_FREE, **offer}).json()["id"]
    leader = gd.customer("王小美", "+8613800138000")
    response = api.post(GROUPS, json={"offer_id": offer_id, "leader_customer_id": leader.id})
    assert response.status_code == 201, response.text
    return offer_id, leader, response.json()


def test_open_join_and_read_a_group(cast, api_of, gd) -> None:
    api = api_of(cast.alice)
    _offer, _leader, group = _open(api, gd)
    assert group["status"] == "open" and group["joined"] == 1 and group["qualified"] == 0
    assert group["link"].endswith(f"/g/{group['token']}") and len(group["token"]) == 12
    assert (
        group["members"][0]["is_leader"] and group["members"][0]["phone_masked"] != "+8613800138000"
    )
    joined = api.post(
        f"{GROUPS}/{group['id']}/members", json={"name": "李娜", "phone": "13900139001"}
    )
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert body["joined"] == 2 and body["members"][1]["source"] == "api"
    friend = body["members"][1]["customer_id"]
    gd.order(friend, "300")
    assert api.get(f"{GROUPS}/{group['id']}").json()["qualified"] == 1
    listed = api.get(GROUPS, params={"status": "open"}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == group["id"]
    assert api.get(GROUPS, params={"status": "completed"}).json()["total"] == 0
    assert api.get(GROUPS, params={"customer_id": friend}).json()["total"] == 1
    assert api.get(GROUPS, params={"status": "bogus"}).status_code == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"name": "李娜"}, 422),
        ({"name": "李娜", "phone": "12345"}, 422),
        ({"name": "", "phone": "13900139001"}, 422),
        ({"name": "李娜", "phone": "1" * 41}, 422),
        ({"customer_id": 999999}, 404),
        ({"name": "李娜", "phone": "13800138000"}, 409),  # the leader again
        ({"name": "x", "phone": "13900139001", "extra": 1}, 422),
    ],
)
def test_bad_members_are_refused(cast, api_of, gd, body, status) -> None:
    api = api_of(cast.alice)
    _offer, _leader, group = _open(api, gd)
    response = api.post(f"{GROUPS}/{group['id']}/members", json=body)
    assert response.status_code == status, response.text
    assert api.get(f"{GROUPS}/{group['id']}").json()["joined"] == 1


def test_opening_needs_a_running_offer_and_one_open_group_per_leader(cast, api_of, gd) -> None:
    api = api_of(cast.alice)
    offer_id, leader, _group = _open(api, gd)
    again = api.post(GROUPS, json={"offer_id": offer_id, "leader_customer_id": leader.id})
    assert again.status_code == 409 and again.json()["code"] == "already_in_open_group"
    missing = {"offer_id": offer_id, "leader_customer_id": 999999}
    assert api.post(GROUPS, json=missing).status_code == 404
    api.patch(f"{OFFERS}/{offer_id}", json={"status": "paused"})
    other = gd.customer("张伟", "+8613700137000")
    paused = api.post(GROUPS, json={"offer_id": offer_id, "leader_customer_id": other.id})
    assert paused.status_code == 409 and paused.json()["code"] == "group_offer_not_active"
    assert (
        api.post(GROUPS, json={"offer_id": 999999, "leader_customer_id": other.id}).status_code
        == 404
    )
    assert api.post(GROUPS, json={"offer_id": "x", "leader_customer_id": 1}).status_code == 422


def test_cancel_needs_a_reason_and_an_open_group(cast, api_of, gd) -> None:
    api = api_of(cast.alice)
    _offer, _leader, group = _open(api, gd)
    url = f"{GROUPS}/{group['id']}/cancel"
    assert api.post(url, json={"reason": "   "}).status_code == 422
    assert api.post(url, json={}).status_code == 422
    done = api.post(url, json={"reason": "门店活动调整"})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert done.json()["cancel_reason"] == "门店活动调整"
    assert api.post(url, json={"reason": "again"}).status_code == 409
    assert (
        api.post(
            f"{GROUPS}/{group['id']}/members", json={"name": "a", "phone": "13900139009"}
        ).status_code
        == 409
    )


def test_removing_a_member(cast, api_of, gd) -> None:
    api = api_of(cast.alice)
    _offer, leader, group = _open(api, gd)
    body = api.post(
        f"{GROUPS}/{group['id']}/members", json={"name": "李娜", "phone": "13900139001"}
    ).json()
    friend = body["members"][1]["customer_id"]
    assert api.delete(f"{GROUPS}/{group['id']}/members/{leader.id}").status_code == 409
    assert api.delete(f"{GROUPS}/{group['id']}/members/999999").status_code == 404
    assert api.delete(f"{GROUPS}/{group['id']}/members/{friend}").status_code == 204
    assert api.get(f"{GROUPS}/{group['id']}").json()["joined"] == 1


def test_sales_see_and_act_on_their_own_customers_groups_only(cast, api_of, gd) -> None:
    _offer, _leader, group = _open(api_of(cast.alice), gd)  # 王小美 is bob's customer
    carol = api_of(cast.carol)
    assert carol.get(f"{GROUPS}/{group['id']}").status_code == 404
    assert carol.get(GROUPS).json()["total"] == 0
    assert carol.post(f"{GROUPS}/{group['id']}/cancel", json={"reason": "x"}).status_code == 404
    bob = api_of(cast.bob)
    assert bob.get(f"{GROUPS}/{group['id']}").status_code == 200
    assert (
        bob.post(
            f"{GROUPS}/{group['id']}/members", json={"name": "李娜", "phone": "13900139001"}
        ).status_code
        == 201
    )


def test_viewers_read_but_change_nothing(cast, api_of, gd) -> None:
    offer_id, leader, group = _open(api_of(cast.alice), gd)
    victor = api_of(cast.victor)
    assert victor.get(f"{GROUPS}/{group['id']}").status_code == 200
    assert (
        victor.post(
            GROUPS, json={"offer_id": offer_id, "leader_customer_id": leader.id}
        ).status_code
        == 403
    )
    assert (
        victor.post(
            f"{GROUPS}/{group['id']}/members", json={"name": "a", "phone": "13900139001"}
        ).status_code
        == 403
    )
    assert victor.post(f"{GROUPS}/{group['id']}/cancel", json={"reason": "x"}).status_code == 403


def test_another_tenant_gets_404_everywhere(cast, api_of, gd) -> None:
    offer_id, leader, group = _open(api_of(cast.alice), gd)
    oscar = api_of(cast.oscar)
    assert oscar.get(f"{OFFERS}/{offer_id}").status_code == 404
    assert oscar.patch(f"{OFFERS}/{offer_id}", json={"status": "ended"}).status_code == 404
    assert oscar.get(f"{GROUPS}/{group['id']}").status_code == 404
    assert oscar.get(GROUPS).json()["total"] == 0 and oscar.get(OFFERS).json() == []
    assert (
        oscar.post(GROUPS, json={"offer_id": offer_id, "leader_customer_id": leader.id}).status_code
        == 404
    )
    assert (
        oscar.post(
            f"{GROUPS}/{group['id']}/members", json={"name": "a", "phone": "13900139001"}
        ).status_code
        == 404
    )
    assert oscar.post(f"{GROUPS}/{group['id']}/cancel", json={"reason": "x"}).status_code == 404
    assert oscar.delete(f"{GROUPS}/{group['id']}/members/{leader.id}").status_code == 404


def test_the_api_is_in_the_openapi_document(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        OFFERS,
        f"{OFFERS}/{{offer_id}}",
        GROUPS,
        f"{GROUPS}/{{group_id}}",
        f"{GROUPS}/{{group_id}}/members",
    ):
        assert path in paths

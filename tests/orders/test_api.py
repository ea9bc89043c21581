"""The products and orders JSON API: contract, authorisation, hostile and duplicate input."""

from __future__ import annotations

import pytest


def new_order(api, customer_id: int, **body):
    return api.post("/api/v1/orders", json={"customer_id": customer_id, **body})


def test_an_order_round_trips_with_money_as_strings(cast, shop, api_of) -> None:
    api = api_of(cast.bob)
    response = new_order(
        api,
        shop.bobs,
        order_number="TB-1001",
        channel="天猫",
        ordered_at="2025-06-01T10:30:00+08:00",
        items=[{"product_id": shop.cream, "quantity": 2}, {"product_name": "小样", "amount": "0"}],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"] == "396.00" and body["status"] == "paid"
    assert body["ordered_at"] == "2025-06-01T02:30:00Z"
    assert [(i["product_name"], i["amount"], i["lasts_days"]) for i in body["items"]] == [
        ("补水面霜", "396.00", 90),
        ("小样", "0.00", None),
    ]
    assert api.get(f"/api/v1/orders/{body['id']}").json() == body
    listed = api.get(f"/api/v1/customers/{shop.bobs}/orders").json()
    assert (listed["total"], listed["paid_amount"], listed["items"][0]["id"]) == (
        1,
        "396.00",
        body["id"],
    )


def test_refund_then_second_refund_is_409_and_cancel_of_refunded_too(cast, shop, api_of) -> None:
    api = api_of(cast.bob)
    order_id = new_order(api, shop.bobs, amount="50").json()["id"]
    refunded = api.post(f"/api/v1/orders/{order_id}/refund")
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    assert refunded.json()["status_changed_at"]
    again = api.post(f"/api/v1/orders/{order_id}/refund")
    assert again.status_code == 409 and again.json()["code"] == "order_not_paid"
    assert api.post(f"/api/v1/orders/{order_id}/cancel").status_code == 409
    other = new_order(api, shop.bobs, amount="60").json()["id"]
    assert api.post(f"/api/v1/orders/{other}/cancel").json()["status"] == "cancelled"
    filtered = api.get("/api/v1/orders", params={"status": "cancelled"}).json()
    assert [o["id"] for o in filtered["items"]] == [other] and filtered["paid_amount"] == "0.00"


def test_duplicate_order_number_is_409(cast, shop, api_of) -> None:
    api = api_of(cast.alice)
    assert new_order(api, shop.bobs, amount="1", order_number="X1").status_code == 201
    again = new_order(api, shop.carols, amount="1", order_number="X1")
    assert again.status_code == 409 and again.json()["code"] == "duplicate_order_number"


@pytest.mark.parametrize(
    "amount",
    ["-1", "NaN", "Infinity", "1e400", "10000000.01", "1.234", "abc", "0", None, 1e308],
)
def test_bad_amounts_are_422(cast, shop, api_of, amount) -> None:
    response = new_order(api_of(cast.alice), shop.bobs, amount=amount)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "item",
    [
        {"quantity": 1},
        {"product_name": "x", "quantity": 0, "amount": "1"},
        {"product_name": "x", "unit_price": "-2"},
        {"product_name": "x"},
        {"product_id": 999999},
        {"product_name": "x", "amount": "1", "colour": "red"},
    ],
)
def test_bad_items_are_422(cast, shop, api_of, item) -> None:
    response = new_order(api_of(cast.alice), shop.bobs, items=[item])
    assert response.status_code == 422, response.text


def test_html_in_notes_is_kept_as_text_and_shown_escaped(cast, shop, api_of, browser_of) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = new_order(api_of(cast.alice), shop.bobs, amount="9", notes=hostile).json()
    assert body["notes"] == hostile
    page = browser_of(cast.alice).get(f"/orders/{body['id']}")
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text


def test_who_may_do_what(cast, shop, api_of) -> None:
    bob, carol, victor, oscar = (api_of(u) for u in (cast.bob, cast.carol, cast.victor, cast.oscar))
    bobs_order = new_order(bob, shop.bobs, amount="10").json()["id"]
    # A colleague's customer and their orders do not exist for another salesperson.
    assert new_order(carol, shop.bobs, amount="10").status_code == 404
    assert carol.get(f"/api/v1/orders/{bobs_order}").status_code == 404
    assert carol.post(f"/api/v1/orders/{bobs_order}/refund").status_code == 404
    assert carol.get(f"/api/v1/customers/{shop.bobs}/orders").status_code == 404
    assert carol.get("/api/v1/orders").json()["total"] == 0
    # Another tenant: 404 for everything of acme's, and acme cannot use globex's customer.
    assert oscar.get(f"/api/v1/orders/{bobs_order}").status_code == 404
    assert oscar.post(f"/api/v1/orders/{bobs_order}/cancel").status_code == 404
    assert oscar.patch(f"/api/v1/products/{shop.cream}", json={"name": "x"}).status_code == 404
    assert new_order(api_of(cast.alice), shop.globex, amount="1").status_code == 404
    assert oscar.get("/api/v1/products").json() == []
    # The viewer reads but does not write.
    assert victor.get(f"/api/v1/orders/{bobs_order}").status_code == 200
    assert new_order(victor, shop.bobs, amount="1").status_code == 403
    assert victor.post(f"/api/v1/orders/{bobs_order}/refund").status_code == 403
    # Products: everyone lists, only owners and admins change.
    assert [p["name"] for p in victor.get("/api/v1/products").json()] == ["补水面霜", "面部护理"]
    assert bob.post("/api/v1/products", json={"name": "新"}).status_code == 403
    assert (
        api_of(cast.maggie).patch(f"/api/v1/products/{shop.cream}", json={"price": "1"}).status_code
        == 403
    )


def test_products_create_update_and_validation(cast, shop, api_of) -> None:
    api = api_of(cast.alice)
    created = api.post(
        "/api/v1/products",
        json={"name": " 精华液 ", "usage_cycle_days": 60, "price": "368", "sku": "S-1"},
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": created.json()["id"],
        "name": "精华液",
        "sku": "S-1",
        "usage_cycle_days": 60,
        "price": "368.00",
        "active": True,
    }
    duplicate = api.post("/api/v1/products", json={"name": "精华液"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_product"
    for bad in (
        {"name": ""},
        {"name": "a", "usage_cycle_days": 0},
        {"name": "a", "usage_cycle_days": 3651},
        {"name": "a", "price": "-1"},
        {"name": "a", "price": "NaN"},
        {"name": "x" * 201},
    ):
        assert api.post("/api/v1/products", json=bad).status_code == 422, bad
    product_id = created.json()["id"]
    off = api.patch(
        f"/api/v1/products/{product_id}", json={"active": False, "usage_cycle_days": None}
    )
    assert (off.json()["active"], off.json()["usage_cycle_days"]) == (False, None)
    assert "精华液" not in [p["name"] for p in api.get("/api/v1/products").json()]
    everything = api.get("/api/v1/products", params={"include_inactive": True}).json()
    assert "精华液" in [p["name"] for p in everything]
    assert api.patch("/api/v1/products/999999", json={"name": "y"}).status_code == 404


def test_list_filters_and_paging(cast, shop, api_of) -> None:
    api = api_of(cast.alice)
    for day in range(1, 26):
        new_order(
            api,
            shop.bobs,
            amount="10",
            ordered_at=f"2025-03-{day:02d}T12:00:00",
            channel="门店" if day % 2 else "微信",
        )
    page = api.get("/api/v1/orders", params={"page": 2, "per_page": 10}).json()
    assert (page["total"], page["pages"], len(page["items"])) == (25, 3, 10)
    ranged = api.get(
        "/api/v1/orders", params={"date_from": "2025-03-10", "date_to": "2025-03-12"}
    ).json()
    assert ranged["total"] == 3 and ranged["paid_amount"] == "30.00"
    assert api.get("/api/v1/orders", params={"channel": "微信"}).json()["total"] == 12
    assert api.get("/api/v1/orders", params={"customer_id": shop.carols}).json()["total"] == 0
    assert api.get("/api/v1/orders", params={"status": "lost"}).status_code == 422
    assert api.get("/api/v1/orders", params={"date_from": "yesterday"}).status_code == 422
    assert api.get("/api/v1/orders", params={"per_page": 201}).status_code == 422

"""Order and product pages: entering an order in a few taps, lists, refund and cancel, the
customer page's orders panel, and who may see what."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from laoke.orders.models import Order, Product
from tests.conftest import csrf_from


def _post(client, form_page: str, path: str, **fields):
    token = csrf_from(client.get(form_page).text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_an_order_is_entered_by_tapping_products(cast, shop, browser_of, database) -> None:
    bob = browser_of(cast.bob)
    form = bob.get(f"/customers/{shop.bobs}/orders/new")
    assert form.status_code == 200
    assert "补水面霜" in form.text and f'name="qty_{shop.cream}"' in form.text
    response = _post(
        bob,
        f"/customers/{shop.bobs}/orders/new",
        f"/customers/{shop.bobs}/orders/new",
        **{f"qty_{shop.cream}": "2", f"qty_{shop.facial}": "0"},
        item_name="",
        channel="门店",
    )
    assert response.status_code == 303, response.text
    detail = bob.get(response.headers["location"])
    assert (
        "¥396.00" in detail.text
        and "补水面霜" in detail.text
        and 'data-test="refund"' in detail.text
    )
    with database.unit_of_work(write=False) as s:
        order = s.scalar(select(Order))
        assert (order.amount, order.channel, order.created_by_id) == (
            Decimal("396.00"),
            "门店",
            cast.bob.id,
        )


def test_a_free_text_item_with_an_amount_and_an_earlier_day(
    cast, shop, browser_of, database
) -> None:
    bob = browser_of(cast.bob)
    response = _post(
        bob,
        f"/customers/{shop.bobs}/orders/new",
        f"/customers/{shop.bobs}/orders/new",
        item_name="头皮护理",
        item_amount="¥1,280",
        ordered_on="2025-02-03",
        notes="<b>好评</b>",
    )
    assert response.status_code == 303, response.text
    with database.unit_of_work(write=False) as s:
        order = s.scalar(select(Order))
        assert order.amount == Decimal("1280.00") and order.items[0].product_name == "头皮护理"
        assert order.ordered_at.isoformat() == "2025-02-03T04:00:00+00:00"  # local noon
    detail = bob.get(response.headers["location"]).text
    assert "&lt;b&gt;好评&lt;/b&gt;" in detail


def test_form_errors_are_shown_and_nothing_is_saved(cast, shop, browser_of, database) -> None:
    bob = browser_of(cast.bob)
    page = f"/customers/{shop.bobs}/orders/new"
    empty = _post(bob, page, page)
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    negative = _post(bob, page, page, item_name="x", item_amount="-5")
    assert negative.status_code == 422
    future = _post(bob, page, page, item_name="x", item_amount="5", ordered_on="2999-01-01")
    assert future.status_code == 422 and 'value="2999-01-01"' in future.text
    assert (
        _post(bob, page, page, item_name="x", item_amount="5", order_number="N1").status_code == 303
    )
    taken = _post(bob, page, page, item_name="y", item_amount="6", order_number="N1")
    assert taken.status_code == 409 and 'value="y"' in taken.text
    with database.unit_of_work(write=False) as s:
        assert len(s.scalars(select(Order)).all()) == 1


def test_orders_list_filters_and_detail_refund_and_cancel(cast, shop, browser_of) -> None:
    alice = browser_of(cast.alice)
    page = f"/customers/{shop.bobs}/orders/new"
    first = _post(alice, page, page, item_name="a", item_amount="10", channel="微信").headers[
        "location"
    ]
    second = _post(alice, page, page, item_name="b", item_amount="20", channel="门店").headers[
        "location"
    ]
    listing = alice.get("/orders")
    assert listing.status_code == 200 and "¥10.00" in listing.text and "¥20.00" in listing.text
    wechat = alice.get("/orders", params={"channel": "微信"}).text
    assert "¥10.00" in wechat and "¥20.00" not in wechat
    first_path = first.split("?")[0]
    refunded = _post(alice, first, f"{first_path}/refund")
    assert refunded.status_code == 303
    assert 'data-test="refund"' not in alice.get(first_path).text
    assert _post(alice, second, f"{second.split('?')[0]}/cancel").status_code == 303
    assert "¥20.00" in alice.get("/orders", params={"status": "cancelled"}).text
    assert (
        alice.get("/orders", params={"status": "nonsense", "date_from": "bad"}).status_code == 200
    )


def test_the_customer_page_shows_its_orders_panel(cast, shop, browser_of) -> None:
    bob = browser_of(cast.bob)
    detail = bob.get(f"/customers/{shop.bobs}").text
    assert 'data-test="customer-orders"' in detail
    assert f"/customers/{shop.bobs}/orders/new" in detail
    page = f"/customers/{shop.bobs}/orders/new"
    for amount in range(1, 8):
        _post(bob, page, page, item_name="x", item_amount=str(amount))
    recent = bob.get(f"/customers/{shop.bobs}/orders/recent").text
    assert recent.count("<li") == 5 and "¥7.00" in recent and "¥2.00" not in recent
    viewer = browser_of(cast.victor).get(f"/customers/{shop.bobs}").text
    assert 'data-test="new-order"' not in viewer


def test_pages_hide_other_peoples_orders(cast, shop, browser_of) -> None:
    bob = browser_of(cast.bob)
    page = f"/customers/{shop.bobs}/orders/new"
    location = (
        _post(bob, page, page, item_name="x", item_amount="5").headers["location"].split("?")[0]
    )
    carol = browser_of(cast.carol)
    assert carol.get(location).status_code == 404
    assert carol.get(f"/customers/{shop.bobs}/orders/new").status_code == 404
    assert carol.get(f"/customers/{shop.bobs}/orders/recent").status_code == 404
    assert "¥5.00" not in carol.get("/orders").text
    oscar = browser_of(cast.oscar)
    assert oscar.get(location).status_code == 404
    assert _post(oscar, "/orders", f"{location}/refund").status_code == 404
    assert browser_of(cast.victor).get(f"/customers/{shop.bobs}/orders/new").status_code == 403


def test_products_page_adds_and_edits_for_owners_only(cast, shop, browser_of, database) -> None:
    alice = browser_of(cast.alice)
    listing = alice.get("/products")
    assert "补水面霜" in listing.text and 'data-test="product-form"' in listing.text
    assert 'data-test="nav-products"' in listing.text and 'data-test="nav-orders"' in listing.text
    added = _post(
        alice, "/products", "/products", name="精华液", price="368", usage_cycle_days="60"
    )
    assert added.status_code == 303
    duplicate = _post(alice, "/products", "/products", name="精华液")
    assert duplicate.status_code == 409
    bad = _post(alice, "/products", "/products", name="x", usage_cycle_days="0")
    assert bad.status_code == 422
    edit = f"/products/{shop.cream}/edit"
    assert 'value="198.00"' in alice.get(edit).text
    assert (
        _post(alice, edit, edit, name="补水面霜", price="188", usage_cycle_days="").status_code
        == 303
    )
    with database.unit_of_work(write=False) as s:
        cream = s.get(Product, shop.cream)
        assert (cream.price, cream.usage_cycle_days, cream.active) == (
            Decimal("188.00"),
            None,
            False,
        )
    bob = browser_of(cast.bob)
    seen = bob.get("/products").text
    assert 'data-test="product-form"' not in seen and 'data-test="nav-products"' not in seen
    assert bob.get(edit).status_code == 403
    assert _post(bob, "/products", "/products", name="新品").status_code == 403
    assert browser_of(cast.oscar).get(edit).status_code == 404

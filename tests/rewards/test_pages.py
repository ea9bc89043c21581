"""Reward pages: the list with counts and chart, a reward traced to its referral and back,
actions by permission, the wallet panel, redeeming on an order once per form, the ledger
page and the referrer portal's balances."""

from __future__ import annotations

import re
from decimal import Decimal

from laoke.rewards.models import Asset, RewardKind, RewardTier
from tests.conftest import csrf_from
from tests.rewards.conftest import Rewards
from tests.rewards.test_wallet import give


def form_field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the form"
    return found.group(1)


def test_the_list_shows_counts_filters_and_the_chart(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    rw.issue(wang.id, 200, key="b")
    page = browser_of(cast.alice).get("/rewards")
    assert page.status_code == 200
    assert 'data-test="count-held"' in page.text and 'data-test="count-released"' in page.text
    assert "<svg" in page.text and 'data-test="reward-chart"' in page.text
    assert "500" in page.text and wang.name in page.text
    held = browser_of(cast.alice).get("/rewards?status=held&kind=points")
    assert "200" in held.text and "500 积分" not in held.text
    hostile = browser_of(cast.alice).get("/rewards?status=<script>&kind=x&page=-1&customer_id=1e9")
    assert hostile.status_code == 200 and "<script>" not in hostile.text


def test_a_salesperson_sees_only_their_customers_rewards(rw: Rewards, cast, browser_of) -> None:
    carols = rw.customer("陈小姐", "+8613800138111", owner=cast.carol)
    reward = rw.issue(carols.id, 500, key="a")
    assert "陈小姐" not in browser_of(cast.bob).get("/rewards").text
    assert browser_of(cast.bob).get(f"/rewards/{reward.id}").status_code == 404
    assert browser_of(cast.oscar).get(f"/rewards/{reward.id}").status_code == 404
    assert browser_of(cast.carol).get(f"/rewards/{reward.id}").status_code == 200


def test_a_reward_traces_to_its_referral_and_the_lead_lists_it(
    rw: Rewards, cast, browser_of
) -> None:
    program = rw.program()
    rw.rule(program, trigger="lead", kind="points", amount=Decimal(50))
    referrer = rw.customer()
    lead = rw.refer(referrer.id, "小张", "+8613700137000", program)
    [reward] = rw.rewards()
    alice = browser_of(cast.alice)
    detail = alice.get(f"/rewards/{reward.id}")
    assert f'href="/referrals/leads/{lead}"' in detail.text
    assert 'data-test="reward-entries"' in detail.text and "#1" in detail.text
    lead_page = alice.get(f"/referrals/leads/{lead}")
    assert f'hx-get="/rewards/leads/{lead}"' in lead_page.text
    panel = alice.get(f"/rewards/leads/{lead}")
    assert f'href="/rewards/{reward.id}"' in panel.text
    assert browser_of(cast.oscar).get(f"/rewards/leads/{lead}").status_code == 404


def test_pay_out_hand_over_and_reverse_by_permission(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    cash = give(rw, wang.id, "cash", kind=RewardKind.CASH, amount=Decimal(30), hold_days=0)
    gift = give(
        rw, wang.id, "gift", kind=RewardKind.GIFT, amount=Decimal(5), label="伞", hold_days=0
    )
    bob, maggie = browser_of(cast.bob), browser_of(cast.maggie)
    bob_page = bob.get(f"/rewards/{cash}")
    assert 'data-test="payout-form"' not in bob_page.text
    bob_token = csrf_from(bob_page.text)
    refused = bob.post(f"/rewards/{cash}/payout", data={"csrf_token": bob_token, "reference": "x"})
    assert refused.status_code == 403
    page = maggie.get(f"/rewards/{cash}")
    assert 'data-test="payout-form"' in page.text
    token = csrf_from(page.text)
    empty = maggie.post(f"/rewards/{cash}/payout", data={"csrf_token": token, "reference": " "})
    assert empty.status_code == 422 and 'data-test="action-error"' in empty.text
    paid = maggie.post(
        f"/rewards/{cash}/payout",
        data={"csrf_token": token, "reference": "=HYPERLINK(1)"},
        follow_redirects=True,
    )
    assert 'data-test="action-done"' in paid.text and "=HYPERLINK(1)" in paid.text
    again = maggie.post(f"/rewards/{cash}/payout", data={"csrf_token": token, "reference": "y"})
    assert again.status_code == 409
    handed = bob.post(
        f"/rewards/{gift}/hand-over",
        data={"csrf_token": bob_token, "note": ""},
        follow_redirects=True,
    )
    assert handed.status_code == 200
    reverse = maggie.post(
        f"/rewards/{gift}/reverse",
        data={"csrf_token": token, "reason": "送错了"},
        follow_redirects=True,
    )
    assert reverse.status_code == 200 and 'data-test="action-done"' in reverse.text
    assert rw.balances(wang.id)[Asset.CASH].available == 0
    assert rw.verify().ok


def test_the_customer_page_loads_the_wallet_panel(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    give(rw, wang.id, "t", kind=RewardKind.HONOUR, amount=Decimal(0), label="推荐达人", hold_days=0)
    bob = browser_of(cast.bob)
    page = bob.get(f"/customers/{wang.id}")
    assert f'hx-get="/rewards/customers/{wang.id}/wallet"' in page.text
    panel = bob.get(f"/rewards/customers/{wang.id}/wallet")
    assert 'data-test="wallet-points">500<' in panel.text
    assert "推荐达人" in panel.text
    assert browser_of(cast.carol).get(f"/rewards/customers/{wang.id}/wallet").status_code == 404


def test_redeeming_on_the_order_page_happens_once_per_form(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "300")
    bob = browser_of(cast.bob)
    assert f'hx-get="/rewards/orders/{order}/redeem"' in bob.get(f"/orders/{order}").text
    panel = bob.get(f"/rewards/orders/{order}/redeem")
    assert 'data-test="order-redeem-form"' in panel.text
    form = {
        "csrf_token": csrf_from(panel.text),
        "key": form_field(panel.text, "key"),
        "points": "100",
    }
    first = bob.post(f"/rewards/orders/{order}/redeem", data=form, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].endswith("redeem=done")
    second = bob.post(f"/rewards/orders/{order}/redeem", data=form, follow_redirects=False)
    assert second.headers["location"].endswith("redeem=done")
    assert rw.balances(wang.id)[Asset.POINTS].available == Decimal(400)
    changed = bob.post(
        f"/rewards/orders/{order}/redeem", data={**form, "points": "200"}, follow_redirects=False
    )
    assert changed.headers["location"].endswith("redeem=idempotency_key_reused")
    shown = bob.get(f"/rewards/orders/{order}/redeem?redeem=done")
    assert (
        'data-test="redeem-message"' in shown.text and 'data-test="order-redemptions"' in shown.text
    )


def test_hostile_redeem_forms(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "300")
    bob = browser_of(cast.bob)
    panel = bob.get(f"/rewards/orders/{order}/redeem")
    token = csrf_from(panel.text)
    for n, points in enumerate(["-5", "1e30", "NaN", "abc", "9" * 30]):
        response = bob.post(
            f"/rewards/orders/{order}/redeem",
            data={"csrf_token": token, "key": f"k{n}", "points": points},
            follow_redirects=False,
        )
        assert response.status_code in (303, 422), points
        if response.status_code == 303:
            assert response.headers["location"].endswith("redeem=invalid")
    too_many = bob.post(
        f"/rewards/orders/{order}/redeem",
        data={"csrf_token": token, "key": "many", "points": "501"},
        follow_redirects=False,
    )
    assert too_many.headers["location"].endswith("redeem=insufficient_points")
    over = bob.post(
        f"/rewards/orders/{order}/redeem",
        data={"csrf_token": token, "key": "over", "points": "499", "coupon_id": "77"},
        follow_redirects=False,
    )
    assert over.headers["location"].endswith("redeem=coupon_not_found")
    no_key = bob.post(
        f"/rewards/orders/{order}/redeem",
        data={"csrf_token": token, "key": "", "points": "10"},
        follow_redirects=False,
    )
    assert no_key.headers["location"].endswith("redeem=invalid")
    assert rw.balances(wang.id)[Asset.POINTS].available == Decimal(500)
    refused = browser_of(cast.victor).post(
        f"/rewards/orders/{order}/redeem",
        data={"csrf_token": token, "key": "v", "points": "10"},
        follow_redirects=False,
    )
    assert refused.status_code in (403, 404)


def test_redeeming_from_the_wallet_panel(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    chen = rw.customer("陈", "+8613800138111")
    rw.issue(wang.id, 500, key="a", hold_days=0)
    order = rw.order(wang.id, "300")
    chens_order = rw.order(chen.id, "300")
    bob = browser_of(cast.bob)
    panel = bob.get(f"/rewards/customers/{wang.id}/wallet")
    assert 'data-test="wallet-redeem-form"' in panel.text
    form = {"csrf_token": csrf_from(panel.text), "key": form_field(panel.text, "key")}
    other = bob.post(
        f"/rewards/customers/{wang.id}/redeem",
        data={**form, "order_id": str(chens_order), "points": "10"},
        follow_redirects=False,
    )
    assert other.headers["location"].endswith("redeem=invalid")
    done = bob.post(
        f"/rewards/customers/{wang.id}/redeem",
        data={**form, "order_id": str(order), "points": "50"},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/customers/{wang.id}?redeem=done"
    assert rw.balances(wang.id)[Asset.POINTS].available == Decimal(450)


def test_the_ledger_page_is_for_reviewers(rw: Rewards, cast, browser_of) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a", hold_days=0)
    page = browser_of(cast.maggie).get("/rewards/ledger")
    assert page.status_code == 200
    assert 'data-test="ledger-verified"' in page.text and 'data-test="ledger-entries"' in page.text
    assert wang.name in page.text and 'href="/rewards/ledger.xlsx"' in page.text
    assert browser_of(cast.bob).get("/rewards/ledger").status_code == 403
    assert browser_of(cast.victor).get("/rewards/ledger.xlsx").status_code == 403
    assert browser_of(cast.maggie).get("/rewards/ledger?before=abc").status_code == 200


def test_the_portal_shows_balances_and_the_next_tier(rw: Rewards, cast, browser_of) -> None:
    program = rw.program()
    referrer = rw.customer()
    with rw.database.unit_of_work() as s:
        s.add(RewardTier(org_id=cast.acme.id, program_id=program, threshold=2, title="银牌"))
        s.commit()
    rw.refer(referrer.id, "小张", "+8613700137000", program)
    rw.issue(referrer.id, 800, key="a", hold_days=0)
    give(rw, referrer.id, "cash", kind=RewardKind.CASH, amount=Decimal(25), hold_days=0)
    give(rw, referrer.id, "coupon", kind=RewardKind.COUPON, amount=Decimal(20), hold_days=0)
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get(f"/customers/{referrer.id}").text)
    shown = bob.post(f"/referrals/customers/{referrer.id}/portal-link", data={"csrf_token": token})
    url = re.search(r"/me/[A-Za-z0-9_\-]+", shown.text).group(0)
    portal = browser_of(cast.bob).get(url)
    assert portal.status_code == 200
    assert 'data-test="portal-points">800<' in portal.text
    assert "¥25.00" in portal.text
    assert 'data-test="portal-coupons"' in portal.text
    assert 'data-test="portal-next-tier"' in portal.text and "银牌" in portal.text

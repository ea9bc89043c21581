"""A referral end to end on a phone: a customer's code, the friend's landing page, the lead
moved through the pipeline by staff, the friend's first order, the referrer's portal."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

FRIEND_PHONE = "139 1234 5678"


def test_a_friend_invited_by_link_becomes_a_converted_customer(
    live_server, phone_page, chromium, cast, api_of
) -> None:
    owner = api_of(cast.alice)
    assert (
        owner.post(
            "/api/v1/referral-programs", json={"name": "老带新 双方各得护理一次"}
        ).status_code
        == 201
    )
    referrer = owner.post(
        "/api/v1/customers",
        json={"name": "林美玲", "phones": ["13800001111"], "owner_id": cast.bob.id},
    ).json()
    # The referrer bought before, so every program lets her share.
    assert (
        owner.post(
            "/api/v1/orders", json={"customer_id": referrer["id"], "amount": "398"}
        ).status_code
        == 201
    )
    code = owner.get(f"/api/v1/customers/{referrer['id']}/referral").json()["code"]
    token = owner.post(f"/api/v1/customers/{referrer['id']}/portal-links").json()["token"]

    # The friend opens the link on her phone and leaves her number.
    friend = phone_page
    friend.goto(f"{live_server}/r/{code}")
    assert "林" in friend.locator("[data-test=inviter]").inner_text()
    friend.fill("#name", "陈小雨")
    friend.fill("#phone", FRIEND_PHONE)
    friend.check("input[name=consent]")
    friend.click("[data-test=submit-lead]")
    friend.wait_for_selector("[data-test=lead-thanks]")
    assert friend.evaluate("document.documentElement.scrollWidth") <= 390

    # Bob, who looks after the referrer, works the lead from his phone.
    staff_context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    staff = staff_context.new_page()
    staff.set_default_timeout(10_000)
    staff.goto(f"{live_server}/login")
    staff.fill("#email", cast.bob.email)
    staff.fill("#password", PASSWORD)
    staff.click("button[type=submit]")
    staff.wait_for_url(f"{live_server}/today")
    leads = owner.get("/api/v1/referral-leads", params={"referrer_id": referrer["id"]}).json()
    items = leads["items"] if isinstance(leads, dict) else leads
    assert [lead["status"] for lead in items] == ["new"]
    assert (
        items[0]["referee_phone_masked"].endswith("5678")
        and "1234" not in items[0]["referee_phone_masked"]
    )
    lead_id = items[0]["id"]
    for status in ("contacted", "visited"):
        staff.goto(f"{live_server}/referrals/leads/{lead_id}")
        staff.select_option("#status", status)
        staff.click("[data-test=save-lead]")
        staff.wait_for_load_state()
    assert staff.locator("[data-test=lead-history] li").count() == 3  # new, contacted, visited

    # Her first order arrives (entered at the counter): the lead converts by itself.
    customer = owner.post(
        "/api/v1/customers",
        json={"name": "陈小雨", "phones": [FRIEND_PHONE], "owner_id": cast.bob.id},
    ).json()
    assert (
        owner.post(
            "/api/v1/orders", json={"customer_id": customer["id"], "amount": "1280"}
        ).status_code
        == 201
    )
    after = owner.get("/api/v1/referral-leads", params={"referrer_id": referrer["id"]}).json()
    assert [lead["status"] for lead in (after["items"] if isinstance(after, dict) else after)] == [
        "converted"
    ]

    # The referrer sees it in her portal, with her friend's name masked.
    friend.goto(f"{live_server}/me/{token}")
    statuses = friend.locator("[data-test=friend-status]").all_inner_texts()
    assert statuses == ["已成交"]
    assert "陈小雨" not in friend.locator("[data-test=portal-friends]").inner_text()
    staff_context.close()

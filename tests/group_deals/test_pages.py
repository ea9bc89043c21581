"""Staff pages: the overview, the offer form, a group's page, the customer panel."""

from __future__ import annotations

import pytest

from laoke.group_deals.models import GroupStatus
from tests.conftest import csrf_from

FORM = {
    "name": "3人成团 1人免单",
    "status": "active",
    "group_size": "3",
    "open_for": "2",
    "open_unit": "days",
    "benefit": "leader_free",
    "leader_cap": "¥500",
}


@pytest.fixture
def trio(gd):
    return gd.trio()


def test_the_overview_shows_offers_counts_and_progress(browser_of, cast, gd, trio) -> None:
    _offer, _group, (leader, a, _b) = trio
    gd.order(leader, "300")
    gd.order(a, "300")
    page = browser_of(cast.alice).get("/group-deals")
    assert page.status_code == 200
    assert "3人成团 1人免单" in page.text and 'data-test="group-progress">2/3' in page.text
    assert 'data-test="new-offer"' in page.text
    assert "3 人已参团" in page.text and "还剩" in page.text
    assert "王小美" in browser_of(cast.alice).get("/group-deals?status=open").text
    assert "王小美" not in browser_of(cast.alice).get("/group-deals?status=expired").text
    assert browser_of(cast.alice).get("/group-deals?status=<b>&offer_id=x").status_code == 200
    viewer = browser_of(cast.victor).get("/group-deals")
    assert viewer.status_code == 200 and 'data-test="new-offer"' not in viewer.text
    assert "王小美" not in browser_of(cast.carol).get("/group-deals").text
    assert "王小美" not in browser_of(cast.oscar).get("/group-deals").text


def test_an_offer_is_created_and_edited_on_its_form(browser_of, cast, api_of) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/group-deals/offers/new")
    assert page.status_code == 200
    token = csrf_from(page.text)
    created = alice.post(
        "/group-deals/offers/new", data={**FORM, "csrf_token": token}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    (offer,) = api_of(cast.alice).get("/api/v1/group-offers").json()
    assert (offer["open_hours"], offer["leader_cap"]) == (48, "500.00")
    form = alice.get(f"/group-deals/offers/{offer['id']}")
    assert 'value="500.00"' in form.text and 'value="days" selected' in form.text
    changed = alice.post(
        f"/group-deals/offers/{offer['id']}",
        data={
            **FORM,
            "csrf_token": token,
            "open_for": "36",
            "open_unit": "hours",
            "benefit": "each_member",
            "member_kind": "points",
            "member_amount": "200",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    body = api_of(cast.alice).get(f"/api/v1/group-offers/{offer['id']}").json()
    assert (body["open_hours"], body["benefit"], body["member_amount"]) == (
        36,
        "each_member",
        "200.00",
    )
    assert body["leader_cap"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"group_size": "1"},
        {"group_size": "abc"},
        {"open_for": "-3"},
        {"open_for": "999", "open_unit": "days"},
        {"leader_cap": "lots"},
        {"benefit": "each_member"},
        {"benefit": "<script>"},
        {"product_id": "42"},
    ],
)
def test_bad_offer_forms_are_shown_again_with_a_message(browser_of, cast, api_of, change) -> None:
    alice = browser_of(cast.alice)
    token = csrf_from(alice.get("/group-deals/offers/new").text)
    response = alice.post("/group-deals/offers/new", data={**FORM, **change, "csrf_token": token})
    assert response.status_code == 422
    assert 'data-test="offer-error"' in response.text and "<script>" not in response.text
    assert api_of(cast.alice).get("/api/v1/group-offers").json() == []


def test_a_duplicate_offer_name_is_refused_on_the_form(browser_of, cast, gd) -> None:
    gd.offer()
    alice = browser_of(cast.alice)
    token = csrf_from(alice.get("/group-deals/offers/new").text)
    response = alice.post("/group-deals/offers/new", data={**FORM, "csrf_token": token})
    assert response.status_code == 422 and "已有同名的拼团活动" in response.text


def test_only_owners_and_admins_open_the_offer_form(browser_of, cast, gd) -> None:
    offer = gd.offer()
    for user in (cast.maggie, cast.bob, cast.victor):
        browser = browser_of(user)
        assert browser.get("/group-deals/offers/new").status_code == 403
        assert browser.get(f"/group-deals/offers/{offer}").status_code == 403
    assert browser_of(cast.oscar).get(f"/group-deals/offers/{offer}").status_code == 404


def test_the_group_page_shows_members_link_qr_and_countdown(browser_of, cast, gd, trio) -> None:
    _offer, group, (_leader, a, _b) = trio
    gd.order(a, "300")
    page = browser_of(cast.bob).get(f"/group-deals/{group.id}")
    assert page.status_code == 200
    text = page.text
    assert "王小美" in text and "138****8000" in text and "13800138000" not in text
    assert 'data-test="qualified"' in text and "尚未达标" in text
    assert f"/g/{group.token}" in text and f"/g/{group.token}/qr.svg" in text
    assert "还剩 1 天 23 小时" in text
    assert 'data-test="add-member"' in text
    assert browser_of(cast.carol).get(f"/group-deals/{group.id}").status_code == 404
    assert browser_of(cast.oscar).get(f"/group-deals/{group.id}").status_code == 404
    viewer = browser_of(cast.victor).get(f"/group-deals/{group.id}")
    assert viewer.status_code == 200 and 'data-test="add-member"' not in viewer.text


def test_staff_add_a_member_and_see_friendly_errors(browser_of, cast, gd) -> None:
    offer = gd.offer()
    group = gd.open(offer, gd.customer("王小美", "+8613800138000").id)
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get(f"/group-deals/{group.id}").text)
    url = f"/group-deals/{group.id}/members"
    added = bob.post(
        url,
        data={"csrf_token": token, "name": "李娜", "phone": "139 0013 9001"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert len(gd.members(group.id)) == 2
    twice = bob.post(f"{url}", data={"csrf_token": token, "name": "李娜", "phone": "13900139001"})
    assert twice.status_code == 409 and 'data-test="group-error"' in twice.text
    assert "此人已经在这个团里了" in twice.text
    bad = bob.post(url, data={"csrf_token": token, "name": "x", "phone": "<script>"})
    assert bad.status_code == 422 and "<script>" not in bad.text
    nothing = bob.post(url, data={"csrf_token": token})
    assert nothing.status_code == 422
    assert browser_of(cast.victor).post(url, data={"csrf_token": token}).status_code == 403
    assert len(gd.members(group.id)) == 2


def test_staff_remove_a_member_and_cancel_a_group(browser_of, cast, gd, trio) -> None:
    _offer, group, (_leader, _a, b) = trio
    alice = browser_of(cast.alice)
    token = csrf_from(alice.get(f"/group-deals/{group.id}").text)
    removed = alice.post(
        f"/group-deals/{group.id}/members/{b}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and len(gd.members(group.id)) == 2
    no_reason = alice.post(f"/group-deals/{group.id}/cancel", data={"csrf_token": token})
    assert no_reason.status_code == 422 and gd.group(group.id).status == GroupStatus.OPEN
    cancelled = alice.post(
        f"/group-deals/{group.id}/cancel",
        data={"csrf_token": token, "reason": "活动调整"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert gd.group(group.id).status == GroupStatus.CANCELLED
    page = alice.get(f"/group-deals/{group.id}")
    assert "活动调整" in page.text and 'data-test="add-member"' not in page.text


def test_the_customer_page_opens_a_group(browser_of, cast, gd) -> None:
    gd.offer()
    leader = gd.customer("王小美", "+8613800138000")
    bob = browser_of(cast.bob)
    customer_page = bob.get(f"/customers/{leader.id}")
    assert f'hx-get="/group-deals/customers/{leader.id}"' in customer_page.text
    panel = bob.get(f"/group-deals/customers/{leader.id}", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and 'data-test="open-group"' in panel.text
    assert "<html" not in panel.text
    token = csrf_from(customer_page.text)
    offer_id = panel.text.split('<option value="')[1].split('"')[0]
    opened = bob.post(
        f"/group-deals/customers/{leader.id}/open",
        data={"csrf_token": token, "offer_id": offer_id},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"].startswith("/group-deals/")
    again = bob.post(
        f"/group-deals/customers/{leader.id}/open",
        data={"csrf_token": token, "offer_id": offer_id},
        follow_redirects=False,
    )
    assert again.status_code == 303 and "error=already_in_open_group" in again.headers["location"]
    shown = bob.get(again.headers["location"])
    assert "<html" in shown.text and "此人已在本活动的另一个进行中的团里" in shown.text
    hostile = bob.post(
        f"/group-deals/customers/{leader.id}/open",
        data={"csrf_token": token, "offer_id": "<script>"},
        follow_redirects=False,
    )
    assert hostile.status_code == 303 and "error=offer" in hostile.headers["location"]
    assert bob.get(f"/group-deals/customers/{leader.id}?error=<script>").status_code == 200
    carol = browser_of(cast.carol)
    assert carol.get(f"/group-deals/customers/{leader.id}").status_code == 404
    assert (
        carol.post(
            f"/group-deals/customers/{leader.id}/open",
            data={"csrf_token": csrf_from(carol.get("/group-deals").text), "offer_id": offer_id},
        ).status_code
        == 404
    )


def test_hostile_offer_text_is_shown_escaped(browser_of, cast, gd, client) -> None:
    offer = gd.offer(name="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>")
    group = gd.open(offer, gd.customer("<b>王</b>", "+8613800138000").id)
    for page in (
        browser_of(cast.alice).get("/group-deals"),
        browser_of(cast.alice).get(f"/group-deals/{group.id}"),
        client.get(f"/g/{group.token}"),
    ):
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text

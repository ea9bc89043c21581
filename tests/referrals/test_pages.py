"""Staff pages and the referrer portal: rendering, authorisation, forms, revoked links."""

from __future__ import annotations

import pytest

from laoke.referrals.models import LeadStatus
from tests.conftest import csrf_from


@pytest.fixture
def setup(ref, cast, client):
    ref.program(name="老带新", referee_offer_text="首单减 100", referrer_offer_text="50 积分")
    referrer = ref.customer("王小美", "+8613800138000", owner=cast.bob)
    code = ref.code_of(referrer.id)
    client.post(f"/r/{code}", data={"name": "李娜", "phone": "13900139000", "consent": "yes"})
    (lead,) = ref.leads()
    return referrer, code, lead


def test_the_lead_list_and_board_show_leads_to_owner_and_managers(browser_of, cast, setup) -> None:
    _referrer, _code, lead = setup
    bob = browser_of(cast.bob)
    listing = bob.get("/referrals")
    assert listing.status_code == 200 and "李娜" in listing.text and "139****9000" in listing.text
    board = bob.get("/referrals?view=board&status=new")
    assert 'data-test="lead-board"' in board.text and "李娜" in board.text
    assert "李娜" in browser_of(cast.maggie).get("/referrals").text
    assert "李娜" not in browser_of(cast.carol).get("/referrals").text
    assert browser_of(cast.carol).get(f"/referrals/leads/{lead.id}").status_code == 404
    assert browser_of(cast.oscar).get(f"/referrals/leads/{lead.id}").status_code == 404
    detail = bob.get(f"/referrals/leads/{lead.id}")
    assert detail.status_code == 200 and 'data-test="lead-history"' in detail.text


def test_staff_move_a_lead_through_the_pipeline_on_its_page(browser_of, cast, ref, setup) -> None:
    _referrer, _code, lead = setup
    bob = browser_of(cast.bob)
    page = bob.get(f"/referrals/leads/{lead.id}")
    token = csrf_from(page.text)
    for status in ("contacted", "visited"):
        moved = bob.post(
            f"/referrals/leads/{lead.id}",
            data={"csrf_token": token, "status": status, "next_step": "回访", "notes": "n"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
    assert ref.lead(lead.id).status == LeadStatus.VISITED
    no_reason = bob.post(
        f"/referrals/leads/{lead.id}", data={"csrf_token": token, "status": "lost"}
    )
    assert no_reason.status_code == 200 and 'data-test="lead-error"' in no_reason.text
    assert ref.lead(lead.id).status == LeadStatus.VISITED
    victor = browser_of(cast.victor)
    refused = victor.post(
        f"/referrals/leads/{lead.id}",
        data={"csrf_token": csrf_from(victor.get("/referrals").text), "status": "lost"},
    )
    assert refused.status_code == 403


def test_who_referred_you_offers_candidates_by_name(browser_of, cast, ref, setup) -> None:
    ref.customer("王小梅", "+8613800138001")
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get("/referrals/leads/new").text)
    first = bob.post(
        "/referrals/leads/new",
        data={"csrf_token": token, "referrer_q": "王小", "name": "赵六", "phone": "13700137000"},
    )
    assert 'data-test="referrer-candidates"' in first.text
    assert "王小美" in first.text and "王小梅" in first.text
    assert len(ref.leads()) == 1  # nothing guessed
    chosen = bob.post(
        "/referrals/leads/new",
        data={
            "csrf_token": token,
            "referrer_q": "王小",
            "referrer_customer_id": str(setup[0].id),
            "name": "赵六",
            "phone": "13700137000",
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    new = ref.leads()[-1]
    assert new.referrer_customer_id == setup[0].id and new.source == "staff"
    assert new.owner_id == cast.bob.id
    nobody = bob.post(
        "/referrals/leads/new",
        data={"csrf_token": token, "referrer_q": "不存在", "name": "x", "phone": "13700137001"},
    )
    assert nobody.status_code == 422 and 'data-test="lead-error"' in nobody.text


def test_programs_pages_are_for_settings_managers(browser_of, cast, setup) -> None:
    alice = browser_of(cast.alice)
    assert "老带新" in alice.get("/referrals/programs").text
    token = csrf_from(alice.get("/referrals/programs/new").text)
    created = alice.post(
        "/referrals/programs/new",
        data={
            "csrf_token": token,
            "name": "VIP 推荐",
            "status": "active",
            "eligibility": "tags",
            "eligible_tags": "VIP, 老客",
            "qualifying_event": "purchase_at_least",
            "qualifying_amount": "500",
            "attribution_window_days": "45",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    edit = alice.get(created.headers["location"])
    assert "VIP, 老客" in edit.text and 'value="45"' in edit.text
    bad = alice.post(
        "/referrals/programs/new",
        data={"csrf_token": token, "name": "坏", "qualifying_amount": "abc"},
    )
    assert bad.status_code == 422 and 'data-test="program-error"' in bad.text
    maggie = browser_of(cast.maggie)
    assert maggie.get("/referrals/programs/new").status_code == 403
    assert "VIP 推荐" in maggie.get("/referrals/programs").text
    assert browser_of(cast.oscar).get(created.headers["location"]).status_code == 404


def test_my_qr_code_page(browser_of, cast) -> None:
    page = browser_of(cast.carol).get("/referrals/my-code")
    assert page.status_code == 200 and 'data-test="staff-code"' in page.text


def test_the_customer_panel_shows_lineage_two_levels_deep(
    browser_of, cast, ref, setup, client
) -> None:
    referrer, _code, _lead = setup
    friend = ref.customer("李娜", "+8613900139000", owner=cast.bob, stage="prospect")
    ref.order(friend.id)
    friend_code = ref.code_of(friend.id)
    client.post(
        f"/r/{friend_code}", data={"name": "孙七", "phone": "13600136000", "consent": "yes"}
    )
    bob = browser_of(cast.bob)
    detail = bob.get(f"/customers/{referrer.id}")
    assert f"/referrals/customers/{referrer.id}" in detail.text
    panel = bob.get(f"/referrals/customers/{referrer.id}")
    assert (
        'data-test="referral-tree"' in panel.text and "李娜" in panel.text and "孙七" in panel.text
    )
    friend_panel = bob.get(f"/referrals/customers/{friend.id}")
    assert 'data-test="referred-by"' in friend_panel.text and "王小美" in friend_panel.text
    assert "referral" in friend_panel.text or "转介绍" in friend_panel.text
    assert browser_of(cast.carol).get(f"/referrals/customers/{referrer.id}").status_code == 404


def test_the_portal_shows_friends_masked_with_their_status(
    browser_of, cast, ref, setup, client
) -> None:
    referrer, code, _lead = setup
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get(f"/customers/{referrer.id}").text)
    shown = bob.post(f"/referrals/customers/{referrer.id}/portal-link", data={"csrf_token": token})
    assert shown.status_code == 200
    url = shown.text.split('data-test="portal-url">')[1].split("<")[0]
    path = url[url.index("/me/") :]
    friend = ref.customer("李娜", "+8613900139000", owner=cast.bob, stage="prospect")
    ref.order(friend.id)
    portal = client.get(path + "?lang=en")
    assert portal.status_code == 200
    assert code in portal.text and "李*" in portal.text and "李娜" not in portal.text
    assert "Converted" in portal.text and "50 积分" in portal.text
    assert portal.headers["cache-control"] == "no-store"
    revoked = bob.post(
        f"/referrals/customers/{referrer.id}/portal-link/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert client.get(path).status_code == 404
    assert client.get("/me/not-a-token").status_code == 404
    assert client.get("/me/" + "x" * 300).status_code == 404
    carol = browser_of(cast.carol)
    carol_token = csrf_from(carol.get("/referrals").text)
    refused = carol.post(
        f"/referrals/customers/{referrer.id}/portal-link", data={"csrf_token": carol_token}
    )
    assert refused.status_code == 404


def test_erasure_scrubs_the_friend_and_stops_the_referrers_links(
    cast, ref, setup, client, database
) -> None:
    from laoke.accounts.service import actor_for
    from laoke.customers.erasure import erase_customer

    referrer, code, lead = setup
    friend = ref.customer("李娜", "+8613900139000", owner=cast.bob, stage="prospect")
    ref.order(friend.id)
    with database.unit_of_work() as s:
        erase_customer(s, actor_for(cast.alice), friend.id, reason="")
    scrubbed = ref.lead(lead.id)
    assert (scrubbed.referee_name, scrubbed.referee_phone) == ("*", None)
    assert scrubbed.status == "converted"
    with database.unit_of_work() as s:
        erase_customer(s, actor_for(cast.alice), referrer.id, reason="")
    assert client.get(f"/r/{code}").status_code == 404
    assert all(c.revoked_at is not None for c in ref.codes() if c.customer_id == referrer.id)

"""The review queue: who may decide, what a decision does, the API and the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.audit.models import AuditEvent
from laoke.errors import Invalid, NotFound, PermissionDenied
from laoke.events.models import DomainEvent
from laoke.fraud import review
from laoke.fraud.models import FraudHousehold
from laoke.fraud.review import Outcome, release_block
from tests.conftest import csrf_from
from tests.fraud.conftest import codes_of

HOME = "上海市徐汇区漕溪路100弄5号1201室"


@pytest.fixture
def flagged(ref) -> int:
    """A staff-entered lead whose friend's email is the referrer's own (a Gmail variant)."""
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000", email="xiaomei@gmail.com")
    return ref.staff_lead(
        "13900139000", referrer_customer_id=referrer.id, email="xiao.mei+1@gmail.com"
    )


@pytest.fixture
def family(ref) -> int:
    """Same address and a second friend's browser: flagged, with the address among the hits."""
    ref.program()
    mum = ref.customer("王妈妈", "+8613800138000", address=HOME)
    ref.customer("王小妹", "+8613900139000", stage="prospect", address=HOME)
    return ref.staff_lead("13900139000", referrer_customer_id=mum.id, email="x@yopmail.com")


def _decide(database, user, lead_id, outcome, reason=None):
    with database.unit_of_work() as s:
        check = review.decide(s, actor_for(user), lead_id, outcome, reason)
        s.commit()
        return check.status


def test_approving_releases_and_announces(ref, database, cast, flagged) -> None:
    assert ref.check(flagged).status == "pending"
    assert _decide(database, cast.maggie, flagged, Outcome.APPROVED) == "approved"
    with database.unit_of_work() as s:
        assert release_block(s, cast.acme.id, flagged) is None
        (event,) = s.scalars(select(DomainEvent).where(DomainEvent.name == "fraud.reviewed"))
        assert event.payload == {"lead_id": flagged, "outcome": "approved", "reason": None}
        assert event.subject_type == "referral_lead" and event.subject_id == flagged
        (audit,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "fraud_reviewed"))
        assert audit.actor_user_id == cast.maggie.id and audit.target_id == flagged
    check = ref.check(flagged)
    assert check.reviewer_id == cast.maggie.id and check.reviewed_at is not None


def test_declining_needs_a_reason_and_blocks(ref, database, cast, flagged) -> None:
    with pytest.raises(Invalid):
        _decide(database, cast.alice, flagged, Outcome.DECLINED, "  ")
    assert _decide(database, cast.alice, flagged, Outcome.DECLINED, "同一人") == "declined"
    with database.unit_of_work() as s:
        assert release_block(s, cast.acme.id, flagged) == "declined"
        (event,) = s.scalars(select(DomainEvent).where(DomainEvent.name == "fraud.reviewed"))
        assert event.payload["outcome"] == "declined" and event.payload["reason"] == "同一人"


@pytest.mark.parametrize("who", ["bob", "carol", "victor"])
def test_sales_and_viewers_may_not_review(database, cast, flagged, who) -> None:
    with pytest.raises(PermissionDenied):
        _decide(database, getattr(cast, who), flagged, Outcome.APPROVED)


def test_another_tenant_sees_nothing(database, cast, flagged, api_of) -> None:
    with pytest.raises(NotFound):
        _decide(database, cast.oscar, flagged, Outcome.APPROVED)
    api = api_of(cast.oscar)
    assert api.get(f"/api/v1/referrals/leads/{flagged}/fraud").status_code == 404
    response = api.post(f"/api/v1/fraud/reviews/{flagged}/decision", json={"outcome": "approved"})
    assert response.status_code == 404
    assert api.get("/api/v1/fraud/reviews").json() == {"items": [], "total": 0}


def test_approving_as_a_household_quiets_the_address(ref, database, cast, family) -> None:
    check = ref.check(family)
    assert {"self_address", "disposable_email"} <= codes_of(check) and check.status == "pending"
    assert _decide(database, cast.maggie, family, Outcome.HOUSEHOLD) == "approved"
    with database.unit_of_work() as s:
        (household,) = s.scalars(select(FraudHousehold))
        assert household.lead_id == family and household.created_by_id == cast.maggie.id
    mum_id = ref.lead(family).referrer_customer_id
    ref.customer("王小弟", "+8613900139001", stage="prospect", address=HOME.replace("室", ""))
    later = ref.staff_lead("13900139001", referrer_customer_id=mum_id)
    assert ref.check(later).status == "clear" and ref.check(later).hits == []
    assert ref.check(family).household


def test_household_needs_a_shared_address(database, cast, flagged) -> None:
    with pytest.raises(Invalid):
        _decide(database, cast.alice, flagged, Outcome.HOUSEHOLD)


def test_the_api(ref, cast, flagged, api_of) -> None:
    api = api_of(cast.maggie)
    page = api.get("/api/v1/fraud/reviews").json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["check"]["status"] == "pending" and item["check"]["release_block"] == "review"
    (hit,) = item["check"]["hits"]
    assert hit["code"] == "self_email" and hit["reason"] and hit["inputs"]["email"]
    assert item["referee_phone_masked"] == "139****9000"
    assert api.get("/api/v1/fraud/reviews?rule=velocity_code_hour").json()["total"] == 0
    one = api.get(f"/api/v1/referrals/leads/{flagged}/fraud").json()
    assert one["lead_id"] == flagged and one["score"] >= 1.0
    bad = api.post(f"/api/v1/fraud/reviews/{flagged}/decision", json={"outcome": "declined"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")
    done = api.post(
        f"/api/v1/fraud/reviews/{flagged}/decision",
        json={"outcome": "declined", "reason": "自己推荐自己"},
    )
    assert done.status_code == 200 and done.json()["release_block"] == "declined"
    assert api_of(cast.bob).get("/api/v1/fraud/reviews").status_code == 403
    seen_by_viewer = api_of(cast.victor).get(f"/api/v1/referrals/leads/{flagged}/fraud").json()
    assert seen_by_viewer["hits"][0]["code"] == "self_email"
    assert seen_by_viewer["hits"][0]["inputs"] == {}
    settings = api.get("/api/v1/fraud/settings").json()
    assert settings["referrer_hour_limit"] == 5
    changed = api.put("/api/v1/fraud/settings", json={**settings, "referrer_hour_limit": 3})
    assert changed.status_code == 200 and changed.json()["referrer_hour_limit"] == 3
    wrong = api.put("/api/v1/fraud/settings", json={**settings, "referrer_hour_limit": 0})
    assert wrong.status_code == 422


def test_the_api_is_documented(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/fraud/reviews", "/api/v1/referrals/leads/{lead_id}/fraud"} <= set(paths)
    assert "/api/v1/fraud/reviews/{lead_id}/decision" in paths


def test_the_review_page_and_a_decision_form(ref, cast, flagged, browser_of) -> None:
    browser = browser_of(cast.maggie)
    page = browser.get("/fraud/reviews")
    assert page.status_code == 200 and 'data-test="review-item"' in page.text
    assert 'data-status="pending"' in page.text and 'name="viewport"' in page.text
    assert "王小美" in page.text and "共用邮箱" in page.text  # the input, labelled
    token = csrf_from(page.text)
    refused = browser.post(
        f"/fraud/reviews/{flagged}/decision",
        data={"outcome": "declined", "reason": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and "error=invalid" in refused.headers["location"]
    assert ref.check(flagged).status == "pending"
    ok = browser.post(
        f"/fraud/reviews/{flagged}/decision",
        data={"outcome": "approved", "reason": "核实过", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ref.check(flagged).status == "approved"
    assert ref.check(flagged).reason == "核实过"
    assert 'data-status="approved"' in browser.get("/fraud/reviews").text


def test_pages_are_for_reviewers_only(cast, flagged, browser_of) -> None:
    for who in (cast.bob, cast.victor):
        assert browser_of(who).get("/fraud/reviews").status_code == 403
        assert browser_of(who).get("/fraud/settings").status_code == 403
    other = browser_of(cast.oscar)
    page = other.get("/fraud/reviews")
    assert page.status_code == 200 and 'data-test="review-item"' not in page.text
    response = other.post(
        f"/fraud/reviews/{flagged}/decision",
        data={"outcome": "approved", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 404


def test_the_lead_page_shows_the_check_and_links_to_the_queue(cast, flagged, browser_of) -> None:
    page = browser_of(cast.maggie).get(f"/referrals/leads/{flagged}")
    assert 'data-test="fraud-check"' in page.text and 'data-test="fraud-review-link"' in page.text
    assert 'href="/fraud/reviews"' in page.text  # the nav button
    assert "xi***@gmail.com" in page.text
    viewer = browser_of(cast.victor).get(f"/referrals/leads/{flagged}")
    assert 'data-test="fraud-check"' in viewer.text and "@gmail.com" not in viewer.text
    assert 'data-test="fraud-review-link"' not in viewer.text
    sales = browser_of(cast.alice).get("/referrals")
    assert 'data-test="fraud-reviews"' in sales.text


def test_the_settings_page(cast, browser_of, ref) -> None:
    browser = browser_of(cast.maggie)
    page = browser.get("/fraud/settings")
    assert page.status_code == 200 and 'value="5"' in page.text
    data = {
        "referrer_hour_limit": "4",
        "referrer_day_limit": "10",
        "code_hour_limit": "8",
        "code_day_limit": "20",
        "fast_conversion_minutes": "2",
        "refund_limit": "2",
        "csrf_token": csrf_from(page.text),
    }
    saved = browser.post("/fraud/settings", data=data, follow_redirects=False)
    assert saved.status_code == 303
    assert 'value="4"' in browser.get("/fraud/settings").text
    bad = browser.post("/fraud/settings", data={**data, "refund_limit": "abc"})
    assert bad.status_code == 422


def test_the_queue_filters_by_rule_and_status_and_pages(ref, cast, api_of) -> None:
    ref.program()
    referrer = ref.customer("王小美", "+8613800138000")
    for i in range(3):
        ref.staff_lead(
            f"1390013900{i}", referrer_customer_id=referrer.id, email=f"a{i}@yopmail.com"
        )
    ref.staff_lead("13900139009", referrer_customer_id=referrer.id)  # clear
    api = api_of(cast.alice)
    assert api.get("/api/v1/fraud/reviews").json()["total"] == 3
    assert api.get("/api/v1/fraud/reviews?status=clear").json()["total"] == 1
    assert api.get("/api/v1/fraud/reviews?rule=disposable_email").json()["total"] == 3
    assert api.get("/api/v1/fraud/reviews?rule=ring_cycle").json()["total"] == 0
    page = api.get("/api/v1/fraud/reviews?limit=2&offset=2").json()
    assert page["total"] == 3 and len(page["items"]) == 1
    first = api.get("/api/v1/fraud/reviews").json()["items"][0]["check"]["lead_id"]
    api.post(
        f"/api/v1/fraud/reviews/{first}/decision", json={"outcome": "declined", "reason": "假号"}
    )
    items = api.get("/api/v1/fraud/reviews").json()["items"]
    assert [i["check"]["status"] for i in items] == ["pending", "pending", "declined"]
    assert api.get("/api/v1/fraud/reviews?status=bogus").status_code == 422

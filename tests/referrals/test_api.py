"""The referral JSON API: contract fields, defaults, authorisation and hostile input."""

from __future__ import annotations

import pytest

PROGRAMS = "/api/v1/referral-programs"
LEADS = "/api/v1/referral-leads"


def test_a_program_needs_only_a_name_and_gets_sensible_defaults(cast, api_of) -> None:
    api = api_of(cast.alice)
    response = api.post(PROGRAMS, json={"name": "老带新 2026"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active" and body["eligibility"] == "any_customer"
    assert body["qualifying_event"] == "first_purchase" and body["attribution_window_days"] == 30
    assert body["eligible_stages"] == [] and body["referrer_terms"] == {}
    assert api.get(f"{PROGRAMS}/{body['id']}").json() == body
    assert [p["id"] for p in api.get(PROGRAMS).json()] == [body["id"]]


def test_patch_changes_only_the_given_fields(cast, api_of) -> None:
    api = api_of(cast.alice)
    created = api.post(PROGRAMS, json={"name": "春季", "referee_offer_text": "首单减 100"}).json()
    patched = api.patch(
        f"{PROGRAMS}/{created['id']}",
        json={
            "qualifying_event": "purchase_at_least",
            "qualifying_amount": "500.00",
            "referrer_terms": {"kind": "points", "amount": "50"},
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["qualifying_amount"] == "500.00" and body["referee_offer_text"] == "首单减 100"
    assert body["referrer_terms"] == {"kind": "points", "amount": "50"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a", "attribution_window_days": 0}, "attribution_window_days"),
        ({"name": "a", "qualifying_event": "purchase_at_least"}, "qualifying_amount"),
        ({"name": "a", "eligibility": "stages"}, "eligible_stages"),
        ({"name": "a", "eligible_stages": ["<script>"]}, "eligible_stages"),
        ({"name": "a", "starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on"),
        ({"name": "a", "unknown": 1}, "unknown"),
    ],
)
def test_bad_programs_are_refused_naming_the_field(cast, api_of, body, field) -> None:
    response = api_of(cast.alice).post(PROGRAMS, json=body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_duplicate_program_names_conflict(cast, api_of) -> None:
    api = api_of(cast.alice)
    assert api.post(PROGRAMS, json={"name": "同名"}).status_code == 201
    response = api.post(PROGRAMS, json={"name": "同名"})
    assert response.status_code == 409 and response.json()["code"] == "duplicate_program"


def test_only_settings_managers_edit_programs_and_tenants_are_apart(cast, api_of) -> None:
    created = api_of(cast.alice).post(PROGRAMS, json={"name": "A"}).json()
    for user in (cast.maggie, cast.bob, cast.victor):
        assert api_of(user).post(PROGRAMS, json={"name": "B"}).status_code == 403
        assert (
            api_of(user).patch(f"{PROGRAMS}/{created['id']}", json={"name": "C"}).status_code == 403
        )
        assert api_of(user).get(f"{PROGRAMS}/{created['id']}").status_code == 200
    oscar = api_of(cast.oscar)
    assert oscar.get(f"{PROGRAMS}/{created['id']}").status_code == 404
    assert oscar.patch(f"{PROGRAMS}/{created['id']}", json={"name": "X"}).status_code == 404
    assert oscar.get(PROGRAMS).json() == []


def test_customer_referral_contract_creates_the_code_once(cast, api_of, ref) -> None:
    ref.program(referee_offer_text="首单立减 100 元")
    customer = ref.customer()
    api = api_of(cast.alice)
    first = api.get(f"/api/v1/customers/{customer.id}/referral")
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"code", "link", "qr_svg_url", "qr_png_url", "poster_url"}
    assert body["link"].endswith(f"/r/{body['code']}")
    assert body["qr_svg_url"].endswith(f"/r/{body['code']}/qr.svg")
    assert api.get(f"/api/v1/customers/{customer.id}/referral").json() == body
    assert len(ref.codes()) == 1


def test_customer_referral_says_why_there_is_no_code(cast, api_of, ref) -> None:
    customer = ref.customer()
    api = api_of(cast.alice)
    none_running = api.get(f"/api/v1/customers/{customer.id}/referral")
    assert none_running.status_code == 409 and none_running.json()["code"] == "no_active_program"
    ref.program(eligibility="tags", eligible_tags=["VIP"])
    not_eligible = api.get(f"/api/v1/customers/{customer.id}/referral")
    assert not_eligible.status_code == 409 and not_eligible.json()["code"] == "not_eligible"
    assert api.get("/api/v1/customers/999999/referral").status_code == 404
    assert ref.codes() == []


def test_purchased_eligibility_needs_a_paid_order(cast, api_of, ref) -> None:
    ref.program(eligibility="purchased")
    customer = ref.customer()
    api = api_of(cast.alice)
    assert api.get(f"/api/v1/customers/{customer.id}/referral").status_code == 409
    ref.order(customer.id)
    assert api.get(f"/api/v1/customers/{customer.id}/referral").status_code == 200


def test_referral_codes_follow_customer_visibility(cast, api_of, ref) -> None:
    ref.program()
    bobs = ref.customer(owner=cast.bob)
    assert api_of(cast.carol).get(f"/api/v1/customers/{bobs.id}/referral").status_code == 404
    assert api_of(cast.oscar).get(f"/api/v1/customers/{bobs.id}/referral").status_code == 404
    assert api_of(cast.bob).get(f"/api/v1/customers/{bobs.id}/referral").status_code == 200


def test_staff_codes_are_per_staff_member(cast, api_of) -> None:
    bob = api_of(cast.bob)
    own = bob.get(f"/api/v1/users/{cast.bob.id}/referral")
    assert own.status_code == 200 and own.json()["link"].endswith(own.json()["code"])
    assert bob.get(f"/api/v1/users/{cast.carol.id}/referral").status_code == 403
    carol = api_of(cast.maggie).get(f"/api/v1/users/{cast.carol.id}/referral").json()
    assert carol["code"] != own.json()["code"]
    assert api_of(cast.oscar).get(f"/api/v1/users/{cast.bob.id}/referral").status_code == 404


def test_a_shop_reports_a_sign_up_with_a_code_and_lists_it(cast, api_of, ref) -> None:
    ref.program()
    referrer = ref.customer()
    code = ref.code_of(referrer.id)
    api = api_of(cast.alice)
    response = api.post(
        LEADS, json={"code": code.lower(), "name": "李娜", "phone": "139 0013 9000"}
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    assert (lead["status"], lead["attribution"], lead["source"]) == ("new", "attributed", "api")
    assert (
        lead["referee_phone_masked"] == "139****9000"
        and lead["referrer_customer_id"] == referrer.id
    )
    listed = api.get(LEADS, params={"referrer_id": referrer.id}).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "new"
    assert listed["items"][0]["referee_phone_masked"] == "139****9000"
    assert "+8613900139000" not in api.get(LEADS).text
    assert api.get(LEADS, params={"referrer_id": referrer.id + 1}).json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "李娜", "phone": "139 0013 9000"}, 422),  # no referrer
        ({"code": "ZZZZZZZZZZ", "name": "李娜", "phone": "139 0013 9000"}, 404),
        ({"code": "<script>", "name": "李娜", "phone": "139 0013 9000"}, 404),
        ({"code": "CODE", "name": "李娜", "phone": "12345"}, 422),
        ({"code": "CODE", "name": "李娜", "phone": "1" * 41}, 422),
        ({"code": "CODE", "name": "   ", "phone": "139 0013 9000"}, 422),
        ({"code": "CODE", "name": "x" * 101, "phone": "139 0013 9000"}, 422),
        ({"referrer_customer_id": 999999, "name": "李娜", "phone": "139 0013 9000"}, 404),
    ],
)
def test_hostile_lead_reports_are_refused(cast, api_of, ref, body, status) -> None:
    ref.program()
    code = ref.code_of(ref.customer().id)
    if body.get("code") == "CODE":
        body = {**body, "code": code}
    response = api_of(cast.alice).post(LEADS, json=body)
    assert response.status_code == status, response.text
    assert ref.leads() == []


def test_leads_are_seen_by_their_owner_and_managers_only(cast, api_of, ref) -> None:
    ref.program()
    bobs_referrer = ref.customer(owner=cast.bob)
    code = ref.code_of(bobs_referrer.id)
    lead = (
        api_of(cast.alice)
        .post(LEADS, json={"code": code, "name": "李娜", "phone": "13900139000"})
        .json()
    )
    assert lead["owner_id"] == cast.bob.id  # the referrer's salesperson follows up
    assert api_of(cast.bob).get(f"{LEADS}/{lead['id']}").status_code == 200
    assert api_of(cast.carol).get(f"{LEADS}/{lead['id']}").status_code == 404
    assert api_of(cast.carol).get(LEADS).json()["total"] == 0
    assert (
        api_of(cast.carol).patch(f"{LEADS}/{lead['id']}", json={"status": "contacted"}).status_code
        == 404
    )
    assert api_of(cast.victor).get(f"{LEADS}/{lead['id']}").status_code == 200
    assert (
        api_of(cast.victor).patch(f"{LEADS}/{lead['id']}", json={"status": "contacted"}).status_code
        == 403
    )
    assert (
        api_of(cast.victor)
        .post(LEADS, json={"code": code, "name": "x", "phone": "13900139001"})
        .status_code
        == 403
    )
    assert api_of(cast.oscar).get(f"{LEADS}/{lead['id']}").status_code == 404
    assert (
        api_of(cast.oscar)
        .post(LEADS, json={"code": code, "name": "x", "phone": "13900139001"})
        .status_code
        == 404
    )


def test_the_pipeline_records_history_and_requires_a_lost_reason(cast, api_of, ref) -> None:
    ref.program()
    code = ref.code_of(ref.customer().id)
    api = api_of(cast.bob)
    lead = api.post(LEADS, json={"code": code, "name": "李娜", "phone": "13900139000"}).json()
    url = f"{LEADS}/{lead['id']}"
    moved = api.patch(
        url, json={"status": "contacted", "next_step": "约到店", "next_step_on": "2026-12-10"}
    )
    assert moved.status_code == 200 and moved.json()["next_step"] == "约到店"
    assert api.patch(url, json={"status": "visited"}).json()["status"] == "visited"
    no_reason = api.patch(url, json={"status": "lost"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "lost_reason"
    lost = api.patch(url, json={"status": "lost", "lost_reason": "价格太高"}).json()
    assert (lost["status"], lost["lost_reason"]) == ("lost", "价格太高")
    assert api.patch(url, json={"status": "converted"}).status_code == 422  # no customer linked
    assert (
        api.patch(url, json={"owner_id": cast.carol.id}).status_code == 403
    )  # sales can't reassign
    reopened = api.patch(url, json={"status": "contacted"}).json()
    assert reopened["status"] == "contacted" and reopened["lost_reason"] is None


def test_referrer_candidates_by_name_are_a_list_never_a_guess(cast, api_of, ref) -> None:
    ref.customer("王小美", "+8613800138000")
    ref.customer("王小梅", "+8613800138001")
    api = api_of(cast.bob)
    names = api.get("/api/v1/referral-referrers", params={"q": "王小"}).json()
    assert sorted(c["name"] for c in names) == ["王小梅", "王小美"]
    assert names[0]["phone_masked"].startswith("138****")
    by_phone = api.get("/api/v1/referral-referrers", params={"q": "+86 138-0013-8001"}).json()
    assert [c["name"] for c in by_phone] == ["王小梅"]
    assert api.get("/api/v1/referral-referrers", params={"q": "%"}).json() == []
    assert api_of(cast.oscar).get("/api/v1/referral-referrers", params={"q": "王"}).json() == []


def test_portal_links_are_created_once_and_revoked(cast, api_of, ref, client) -> None:
    ref.program()
    customer = ref.customer()
    api = api_of(cast.bob)
    created = api.post(f"/api/v1/customers/{customer.id}/portal-links")
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    assert "/me/" in url
    path = url[url.index("/me/") :]
    assert client.get(path).status_code == 200
    assert (
        api_of(cast.victor).post(f"/api/v1/customers/{customer.id}/portal-links").status_code == 403
    )
    assert (
        api_of(cast.carol).delete(f"/api/v1/customers/{customer.id}/portal-links").status_code
        == 404
    )
    assert api.delete(f"/api/v1/customers/{customer.id}/portal-links").status_code == 204
    gone = client.get(path)
    assert gone.status_code == 404 and "Traceback" not in gone.text

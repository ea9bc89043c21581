"""The public landing page: who invites, the form, hostile input, honeypot, rate limits."""

from __future__ import annotations

import pytest

from laoke.referrals.throttle import Limit, Limits, Throttle


@pytest.fixture
def invite(ref):
    ref.program(referee_offer_text="首单立减 100 元", referrer_offer_text="积分 50")
    referrer = ref.customer("王小美", "+8613800138000", nickname="小美")
    return referrer, ref.code_of(referrer.id)


def submit(client, code, **fields):
    data = {"name": "李娜", "phone": "139 0013 9000", "consent": "yes", **fields}
    return client.post(f"/r/{code}", data=data)


def test_the_landing_page_shows_who_invites_and_what_both_get(client, invite) -> None:
    _referrer, code = invite
    page = client.get(f"/r/{code}")
    assert page.status_code == 200
    assert "小美" in page.text and "首单立减 100 元" in page.text and "积分 50" in page.text
    assert 'name="website"' in page.text and "<script" not in page.text
    assert client.get(f"/r/{code.lower()}").status_code == 200


def test_languages_follow_the_query_or_accept_language(client, invite) -> None:
    _referrer, code = invite
    assert "invites you" in client.get(f"/r/{code}?lang=en").text
    client.cookies.clear()
    taiwan = client.get(f"/r/{code}", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert 'lang="zh-TW"' in taiwan.text


def test_a_friend_leaves_details_and_a_lead_is_attributed(client, ref, invite) -> None:
    referrer, code = invite
    response = submit(client, code)
    assert response.status_code == 200 and 'data-test="lead-thanks"' in response.text
    (lead,) = ref.leads()
    assert (lead.referee_name, lead.referee_phone, lead.status) == ("李娜", "+8613900139000", "new")
    assert lead.referrer_customer_id == referrer.id and lead.attribution == "attributed"
    assert lead.consent and lead.source == "landing" and lead.ip_hash and len(lead.ip_hash) == 64


@pytest.mark.parametrize("code", ["ZZZZZZZZZZ", "nope", "<script>alert(1)</script>", "x" * 500])
def test_unknown_codes_get_a_friendly_404(client, invite, code) -> None:
    for response in (client.get(f"/r/{code}"), submit(client, code)):
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "Traceback" not in response.text and "<script>alert" not in response.text


def test_a_revoked_code_stops_working(client, ref, invite, database) -> None:
    _referrer, code = invite
    from laoke.db import utcnow
    from laoke.referrals.models import InviteCode

    with database.unit_of_work() as s:
        s.query(InviteCode).update({"revoked_at": utcnow()})
        s.commit()
    assert client.get(f"/r/{code}").status_code == 404
    assert submit(client, code).status_code == 404
    assert ref.leads() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "abc<script>"}, "phone"),
        ({"phone": "1" * 1999}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "x" * 1999}, "100"),
        ({"consent": ""}, "contact"),
    ],
)
def test_bad_input_is_answered_with_a_clear_error_and_nothing_recorded(
    client, ref, invite, fields, message
) -> None:
    _referrer, code = invite
    response = client.post(
        f"/r/{code}?lang=en",
        data={"name": "李娜", "phone": "139 0013 9000", "consent": "yes", **fields},
    )
    assert response.status_code == 422
    assert 'data-test="form-error"' in response.text and message in response.text.lower()
    assert "Traceback" not in response.text and "<script>" not in response.text
    assert ref.leads() == []


def test_huge_fields_are_refused_without_a_stack_trace(client, ref, invite) -> None:
    _referrer, code = invite
    response = submit(client, code, name="x" * 100_000)
    assert response.status_code == 422 and "Traceback" not in response.text
    assert ref.leads() == []


def test_script_in_the_name_is_stored_as_text_and_escaped(
    client, ref, invite, browser_of, cast
) -> None:
    _referrer, code = invite
    assert submit(client, code, name="<script>alert(1)</script>").status_code == 200
    (lead,) = ref.leads()
    assert lead.referee_name == "<script>alert(1)</script>"
    page = browser_of(cast.alice).get(f"/referrals/leads/{lead.id}")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_a_filled_honeypot_is_thanked_and_ignored(client, ref, invite) -> None:
    _referrer, code = invite
    response = submit(client, code, website="http://spam.example")
    assert response.status_code == 200 and 'data-test="lead-thanks"' in response.text
    assert ref.leads() == []


def test_submissions_are_rate_limited_per_address_and_per_code(client, ref, invite, app) -> None:
    _referrer, code = invite
    app.state.referral_throttle = Throttle(
        Limits(submit_per_ip=Limit(per_minute=0.001, burst=3), submit_per_code=Limit(0.001, 100))
    )
    statuses = [submit(client, code, phone=f"139 0013 900{i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert len(ref.leads()) == 3
    app.state.referral_throttle = Throttle(
        Limits(submit_per_ip=Limit(0.001, 100), submit_per_code=Limit(per_minute=0.001, burst=1))
    )
    assert submit(client, code, phone="139 0013 9010").status_code == 200
    limited = submit(client, code, phone="139 0013 9011")
    assert limited.status_code == 429 and "Traceback" not in limited.text


def test_page_views_are_rate_limited_per_address(client, invite, app) -> None:
    _referrer, code = invite
    app.state.referral_throttle = Throttle(Limits(page_per_ip=Limit(per_minute=0.001, burst=2)))
    assert [client.get(f"/r/{code}").status_code for _ in range(3)] == [200, 200, 429]


def test_qr_codes_and_the_poster_are_images(client, invite) -> None:
    _referrer, code = invite
    svg = client.get(f"/r/{code}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    png = client.get(f"/r/{code}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for lang in ("zh_CN", "zh_TW", "en"):
        poster = client.get(f"/r/{code}/poster.png?lang={lang}")
        assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")
    assert client.get("/r/ZZZZZZZZZZ/qr.png").status_code == 404
    assert client.get("/r/ZZZZZZZZZZ/poster.png").status_code == 404


def test_the_poster_renders_without_a_cjk_font(monkeypatch) -> None:
    from laoke.referrals import media

    monkeypatch.setattr(media, "cjk_font_path", lambda: None)
    png = media.poster_png(
        headline="老带新",
        invited_by="王小美 邀请你",
        offer="首单立减",
        code="ABCDEFGHJK",
        link="http://x/r/ABCDEFGHJK",
        language="zh_CN",
    )
    assert png.startswith(b"\x89PNG")


def test_staff_codes_land_on_the_same_page(client, ref, cast, api_of) -> None:
    ref.program()
    link = api_of(cast.carol).get(f"/api/v1/users/{cast.carol.id}/referral").json()
    page = client.get(f"/r/{link['code']}")
    assert page.status_code == 200 and "Carol" in page.text
    assert submit(client, link["code"]).status_code == 200
    (lead,) = ref.leads()
    assert lead.referrer_user_id == cast.carol.id and lead.owner_id == cast.carol.id

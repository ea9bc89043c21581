"""Templates: refused at save when they would not render; sandboxed; previewed for real."""

from __future__ import annotations

import pytest

from laoke.errors import Invalid
from laoke.messaging import rendering
from laoke.messaging.compose import Text
from laoke.messaging.templates_service import Draft, validate
from tests.conftest import csrf_from


def draft(
    body: str, *, purpose: str = "care.birthday", channel: str = "sms", subject: str | None = None
) -> Draft:
    return Draft(name="t", purpose=purpose, channel=channel, texts={"zh_CN": Text(subject, body)})


def test_a_variable_the_purpose_does_not_declare_is_refused_at_save() -> None:
    with pytest.raises(Invalid) as refused:
        validate(draft("生日快乐 {{ customer_name }}，您的推荐人 {{ referrer_name }} 也祝福您"))
    assert refused.value.code == "unknown_variable"
    assert "referrer_name" in str(refused.value)
    assert refused.value.field == "body_zh_CN"


def test_declared_variables_render_and_an_optional_coupon_may_be_left_out() -> None:
    _purpose, _kind, texts = validate(
        draft("{{ customer_name }}生日快乐！{% if coupon %}送您{{ coupon }}{% endif %}")
    )
    assert (
        rendering.render(texts["zh_CN"].body, {"customer_name": "王", "coupon": ""})
        == "王生日快乐！"
    )


@pytest.mark.parametrize(
    "body",
    [
        "{{ customer_name.__class__.__mro__ }}",
        "{{ customer_name.__class__.__subclasses__() }}",
        "{{ (customer_name|attr('__class__')) }}",
        "{{ org_name.format.__globals__ }}",
        "{{ customer_name * 100000 }}",
        "{{ 9 ** 9 ** 9 }}",
    ],
)
def test_the_sandbox_refuses_attribute_tricks_and_runaway_output(body: str) -> None:
    with pytest.raises(Invalid):
        validate(draft(body))


@pytest.mark.parametrize(
    "body", ["{% for i in range(10**9) %}x{% endfor %}", "{{ lipsum() }}", "{{ cycler }}"]
)
def test_templates_get_no_globals(body: str) -> None:
    with pytest.raises(Invalid):
        validate(draft(body))


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(Invalid) as refused:
        validate(draft("你好\n{{ customer_name "))
    assert refused.value.params["line"] == 2


def test_an_email_needs_a_subject_without_line_breaks() -> None:
    with pytest.raises(Invalid) as refused:
        validate(draft("hi", channel="smtp"))
    assert refused.value.field == "subject_zh_CN"
    with pytest.raises(Invalid):
        validate(draft("hi", channel="smtp", subject="Hello\r\nBcc: everyone@example.com"))


def test_customers_cannot_be_reached_through_the_staff_group_robot() -> None:
    with pytest.raises(Invalid) as refused:
        validate(draft("hi", channel="wecom"))
    assert refused.value.field == "channel"


def test_the_api_refuses_a_template_with_a_missing_variable_and_keeps_nothing(cast, api_of) -> None:
    api = api_of(cast.alice)
    body = {
        "name": "生日",
        "purpose": "care.birthday",
        "channel": "sms",
        "texts": {"zh_CN": {"body": "{{ customer_name }} {{ invite_link }}"}},
    }
    response = api.post("/api/v1/templates", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_variable"
    assert api.get("/api/v1/templates").json() == []


def test_three_languages_are_saved_and_read_back(cast, api_of) -> None:
    api = api_of(cast.alice)
    texts = {
        "zh_CN": {"subject": "生日快乐", "body": "亲爱的{{ customer_name }}，生日快乐！"},
        "zh_TW": {"subject": "生日快樂", "body": "親愛的{{ customer_name }}，生日快樂！"},
        "en": {"subject": "Happy birthday", "body": "Dear {{ customer_name }}, happy birthday!"},
    }
    created = api.post(
        "/api/v1/templates",
        json={"name": "b", "purpose": "care.birthday", "channel": "smtp", "texts": texts},
    )
    assert created.status_code == 201, created.text
    assert api.get(f"/api/v1/templates/{created.json()['id']}").json()["texts"] == texts


def test_the_preview_renders_for_a_real_customer_with_the_unsubscribe_line(
    cast, api_of, acme
) -> None:
    customer = acme.customer("李雷", email="lilei@example.com", consent=True)
    api = api_of(cast.alice)
    template = {
        "name": "promo",
        "purpose": "campaign.message",
        "channel": "smtp",
        "texts": {
            "zh_CN": {"subject": "{{ customer_name }}，新品", "body": "{{ customer_name }}您好"}
        },
    }
    preview = api.post(
        "/api/v1/templates/preview", json={"template": template, "customer_id": customer.id}
    ).json()
    assert preview["subject"] == "李雷，新品"
    assert preview["body"].startswith("李雷您好")
    assert "http://testserver/u/" in preview["body"] and "Acme 美容" in preview["body"]
    assert preview["recipient"] == "lilei@example.com" and preview["will_send"] is True


def test_the_preview_says_when_the_customer_would_not_get_it(cast, api_of, acme) -> None:
    customer = acme.customer("韩梅梅", consent=False)
    template = {
        "name": "promo",
        "purpose": "campaign.message",
        "channel": "sms",
        "texts": {"zh_CN": {"body": "hi {{ customer_name }}"}},
    }
    preview = (
        api_of(cast.alice)
        .post("/api/v1/templates/preview", json={"template": template, "customer_id": customer.id})
        .json()
    )
    assert preview["will_send"] is False and "营销" in preview["reason"]


def test_the_preview_respects_the_customer_gate(cast, api_of, acme, globex) -> None:
    mine = acme.customer("A", owner_id=cast.bob.id)
    theirs = globex.customer("B", phone="+8613900139000")
    template = {
        "name": "n",
        "purpose": "service.notice",
        "channel": "sms",
        "texts": {"zh_CN": {"body": "{{ notice }}"}},
    }
    alice = api_of(cast.alice)
    assert (
        alice.post(
            "/api/v1/templates/preview", json={"template": template, "customer_id": theirs.id}
        ).status_code
        == 404
    )
    carol = api_of(cast.carol)  # sales: not her customer
    assert carol.post(
        "/api/v1/templates/preview", json={"template": template, "customer_id": mine.id}
    ).status_code in (403, 404)


def test_the_template_page_previews_with_htmx_and_shows_field_errors(
    cast, browser_of, acme
) -> None:
    customer = acme.customer("周杰", email="zj@example.com")
    alice = browser_of(cast.alice)
    page = alice.get("/messages/templates/new")
    assert page.status_code == 200
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "name": "notice",
        "purpose": "service.notice",
        "channel": "smtp",
        "subject_zh_CN": "通知",
        "body_zh_CN": "{{ customer_name }}：{{ notice }}",
        "customer": "周杰",
        "is_active": "on",
    }
    preview = alice.post(
        "/messages/templates/preview/render", data=form, headers={"HX-Request": "true"}
    )
    assert "周杰：" in preview.text and "zj@example.com" in preview.text
    bad = alice.post("/messages/templates/new", data={**form, "body_zh_CN": "{{ coupon_code }}"})
    assert bad.status_code == 422 and "coupon_code" in bad.text
    saved = alice.post("/messages/templates/new", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert customer.id

"""Who may do what: secrets never leave, other tenants get 404, viewers and sales cannot
send, and hostile input on every write path is refused without harm."""

from __future__ import annotations

import pytest

from laoke.config import Mode, Settings
from laoke.errors import Invalid
from laoke.messaging import channel_service, webhooks
from tests.conftest import csrf_from

SMTP = {
    "host": "smtp.example.com",
    "port": "465",
    "security": "ssl",
    "username": "u",
    "password": "p@ss-w0rd-Secret",
    "from_address": "s@acme.test",
}


def test_channel_secrets_are_never_returned(cast, api_of, browser_of) -> None:
    api = api_of(cast.alice)
    made = api.post("/api/v1/channels", json={"name": "mail", "kind": "smtp", "settings": SMTP})
    assert made.status_code == 201, made.text
    assert made.json()["secrets_set"] == ["password"] and "password" not in made.json()["settings"]
    for response in (
        made,
        api.get("/api/v1/channels"),
        api.get(f"/api/v1/channels/{made.json()['id']}"),
        browser_of(cast.alice).get("/messages/channels"),
        browser_of(cast.alice).get(f"/messages/channels/{made.json()['id']}"),
    ):
        assert "p@ss-w0rd-Secret" not in response.text
    page = browser_of(cast.alice).get(f"/messages/channels/{made.json()['id']}").text
    assert "•••" in page


def test_saving_without_the_secret_keeps_it_and_clearing_removes_it(
    cast, api_of, acme, database, settings
) -> None:
    api = api_of(cast.alice)
    made = api.post(
        "/api/v1/channels", json={"name": "mail", "kind": "smtp", "settings": SMTP}
    ).json()
    changed = api.patch(
        f"/api/v1/channels/{made['id']}",
        json={"settings": {"host": "smtp2.example.com", "password": ""}},
    ).json()
    assert changed["settings"]["host"] == "smtp2.example.com" and changed["secrets_set"] == [
        "password"
    ]
    with database.unit_of_work(write=False) as s:
        transport = channel_service.build_transport(
            channel_service.get_channel_for(s, acme.system, made["id"]), settings
        )
    assert transport.password == "p@ss-w0rd-Secret"
    cleared = api.patch(
        f"/api/v1/channels/{made['id']}", json={"clear_secrets": ["password"]}
    ).json()
    assert cleared["secrets_set"] == []


def test_secrets_are_sealed_in_the_database(cast, api_of, database) -> None:
    from sqlalchemy import text

    api_of(cast.alice).post(
        "/api/v1/channels", json={"name": "mail", "kind": "smtp", "settings": SMTP}
    )
    with database.unit_of_work(write=False) as s:
        stored = s.execute(text("SELECT settings, sealed_secrets FROM message_channels")).one()
    assert "p@ss-w0rd-Secret" not in str(stored[0]) and "p@ss-w0rd-Secret" not in stored[1]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/channels/{c}", "/api/v1/templates/{t}", "/api/v1/messages/{m}"],
)
def test_another_tenants_records_are_not_found(cast, api_of, acme, path) -> None:
    channel = acme.webhook_channel("http://127.0.0.1:9/x")
    template = acme.template("service.notice", body="{{ notice }}")
    from laoke.customers.models import Customer
    from laoke.messaging.outbox import enqueue

    customer = acme.customer()
    with acme.database.unit_of_work() as s:
        message = enqueue(
            s,
            org_id=acme.org_id,
            purpose="service.notice",
            key="k",
            customer=s.get(Customer, customer.id),
            variables={"notice": "x"},
        ).message
        s.commit()
    url = path.format(c=channel.id, t=template.id, m=message.id)
    assert api_of(cast.alice).get(url).status_code == 200
    assert api_of(cast.oscar).get(url).status_code == 404
    assert api_of(cast.oscar).post(f"/api/v1/messages/{message.id}/retry").status_code == 404


def test_roles_decide_who_configures_who_sends_and_who_only_reads(cast, api_of, browser_of) -> None:
    assert api_of(cast.maggie).get("/api/v1/channels").status_code == 403
    assert api_of(cast.victor).get("/api/v1/messages").status_code == 200
    assert (
        api_of(cast.bob).get("/api/v1/messages").status_code == 403
    )  # sales see their own customers only
    assert browser_of(cast.bob).get("/messages").status_code == 403
    victor = browser_of(cast.victor)
    page = victor.get("/messages/dead")
    assert page.status_code == 200 and 'data-test="retry"' not in page.text
    assert (
        victor.post("/messages/m/1/retry", data={"csrf_token": csrf_from(page.text)}).status_code
        == 403
    )


def test_viewers_see_masked_recipients(cast, api_of, acme) -> None:
    acme.channel("sms", url="http://127.0.0.1:9/sms")
    acme.template("service.notice", channel="sms", body="{{ notice }}")
    from laoke.customers.models import Customer
    from laoke.messaging.outbox import enqueue

    customer = acme.customer(phone="+8613812345678")
    with acme.database.unit_of_work() as s:
        enqueue(
            s,
            org_id=acme.org_id,
            purpose="service.notice",
            key="k",
            customer=s.get(Customer, customer.id),
            variables={"notice": "x"},
        )
        s.commit()
    assert (
        api_of(cast.alice).get("/api/v1/messages").json()["items"][0]["recipient"]
        == "+8613812345678"
    )
    assert (
        "12345678"
        not in api_of(cast.victor).get("/api/v1/messages").json()["items"][0]["recipient"]
    )


# --- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings_in",
    [
        {"url": "ftp://example.com/x", "secret": "s" * 20},
        {"url": "http://user:pw@example.com/x", "secret": "s" * 20},
        {"url": "http://example.com/" + "a" * 3000, "secret": "s" * 20},
        {"url": "http://example.com/x"},
        {"url": "http://example.com/x", "secret": "s" * 20, "headers": {"X": "y"}},
    ],
)
def test_bad_webhook_channel_settings_are_refused(cast, api_of, settings_in) -> None:
    response = api_of(cast.alice).post(
        "/api/v1/channels", json={"name": "w", "kind": "webhook", "settings": settings_in}
    )
    assert response.status_code == 422
    assert api_of(cast.alice).get("/api/v1/channels").json() == []


@pytest.mark.parametrize(
    "template",
    [
        "not json",
        '["a list"]',
        '{"to": "{{ to.__class__ }}"}',
        '{"to": "{{ password }}"}',
        '{"nested": {"a": "{{ to }}"}}',
    ],
)
def test_bad_sms_body_templates_are_refused(cast, api_of, template) -> None:
    response = api_of(cast.alice).post(
        "/api/v1/channels",
        json={
            "name": "s",
            "kind": "sms",
            "settings": {
                "url": "http://example.com/send",
                "content_type": "form",
                "body_template": template,
            },
        },
    )
    assert response.status_code == 422, response.text


def test_header_injection_through_smtp_settings_is_refused(cast, api_of) -> None:
    bad = {**SMTP, "from_name": "Shop\r\nBcc: all@example.com"}
    assert (
        api_of(cast.alice)
        .post("/api/v1/channels", json={"name": "m", "kind": "smtp", "settings": bad})
        .status_code
        == 422
    )
    bad = {**SMTP, "from_address": "a@b.test\r\nBcc: x@y.z"}
    assert (
        api_of(cast.alice)
        .post("/api/v1/channels", json={"name": "m", "kind": "smtp", "settings": bad})
        .status_code
        == 422
    )


def test_in_production_private_network_targets_are_refused(acme, database) -> None:
    production = Settings(mode=Mode.PRODUCTION, secret_key="p" * 48, database_url="sqlite:///x.db")
    for url in (
        "http://127.0.0.1:8000/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://localhost/x",
        "http://[::1]/x",
    ):
        with database.unit_of_work() as s, pytest.raises(Invalid):
            webhooks.create_subscription(s, acme.system, production, url=url, secret="s" * 20)
        with database.unit_of_work() as s, pytest.raises(Invalid):
            channel_service.create_channel(
                s,
                acme.system,
                production,
                kind="webhook",
                name="w",
                values={"url": url, "secret": "s" * 20},
            )


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9/x", "secret": "short"},
        {"url": "http://127.0.0.1:9/x", "secret": "with spaces in it 123"},
        {"url": "http://127.0.0.1:9/x", "events": ["Bad Name!"]},
        {"url": "http://127.0.0.1:9/x", "events": ["x" * 70 + ".y"]},
        {"url": "javascript:alert(1)"},
        {"url": "http://127.0.0.1:9/x", "unexpected": True},
    ],
)
def test_bad_webhook_subscriptions_are_refused(cast, api_of, body) -> None:
    assert api_of(cast.alice).post("/api/v1/webhooks", json=body).status_code == 422
    assert api_of(cast.alice).get("/api/v1/webhooks").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {
            "name": "x" * 101,
            "purpose": "service.notice",
            "channel": "sms",
            "texts": {"en": {"body": "x"}},
        },
        {"name": "n", "purpose": "no.such", "channel": "sms", "texts": {"en": {"body": "x"}}},
        {
            "name": "n",
            "purpose": "service.notice",
            "channel": "fax",
            "texts": {"en": {"body": "x"}},
        },
        {
            "name": "n",
            "purpose": "service.notice",
            "channel": "sms",
            "texts": {"fr": {"body": "x"}},
        },
        {"name": "n", "purpose": "service.notice", "channel": "sms", "texts": {}},
        {
            "name": "n",
            "purpose": "service.notice",
            "channel": "sms",
            "texts": {"en": {"body": "x" * 5001}},
        },
        {
            "name": "n",
            "purpose": "service.notice",
            "channel": "sms",
            "texts": {"en": {"body": "{% include 'base.html' %}"}},
        },
        {
            "name": "n",
            "purpose": "service.notice",
            "channel": "sms",
            "texts": {"en": {"body": "{% extends 'base.html' %}"}},
        },
    ],
)
def test_bad_templates_are_refused(cast, api_of, body) -> None:
    assert api_of(cast.alice).post("/api/v1/templates", json=body).status_code == 422


def test_bad_campaign_and_care_input_is_refused(cast, api_of, browser_of, acme) -> None:
    acme.webhook_channel("http://127.0.0.1:9/x")
    template = acme.template()
    acme.customer()
    api = api_of(cast.alice)
    assert (
        api.post(
            "/api/v1/campaigns",
            json={"name": "x", "template_id": template.id, "filters": {"nope": ["1"]}},
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/api/v1/campaigns",
            json={"name": "x", "template_id": template.id, "filters": {"owner": ["999999"]}},
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/api/v1/campaigns", json={"name": "x", "template_id": template.id, "per_minute": 0}
        ).status_code
        == 422
    )
    notice = acme.template("service.notice", body="{{ notice }}")
    assert (
        api.post("/api/v1/campaigns", json={"name": "x", "template_id": notice.id}).status_code
        == 422
    )
    alice = browser_of(cast.alice)
    token = csrf_from(alice.get("/messages/care").text)
    for data in (
        {"on_date": "2026-13-40", "name": "x", "template_id": "1"},
        {"on_date": "2026-10-01", "name": "", "template_id": "abc"},
    ):
        response = alice.post("/messages/care/holidays", data={"csrf_token": token, **data})
        assert response.status_code == 422
    quiet = alice.post(
        "/messages/settings",
        data={
            "csrf_token": csrf_from(alice.get("/messages/settings").text),
            "quiet_start": "25:99",
            "quiet_end": "08:00",
        },
    )
    assert quiet.status_code == 422

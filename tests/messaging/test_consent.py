"""Consent: opt-out by link without signing in, nothing more afterwards; quiet hours."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
from fastapi.testclient import TestClient

from laoke.customers.models import Customer
from laoke.messaging import campaigns
from laoke.messaging.consent import in_quiet_hours, quiet_release, unsubscribe_token
from laoke.messaging.models import MessageStatus
from laoke.messaging.outbox import enqueue, find_template
from tests.messaging.conftest import SECRET_KEY


def _link(body: str) -> str:
    return re.search(r"http://testserver(/u/[\w.]+)", body).group(1)


def test_after_an_opt_out_no_further_marketing_goes_out(
    app, acme, sink, worker, clock, cast, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template()  # campaign
    acme.template("care.birthday", body="{{ customer_name }}生日快乐")
    acme.template("service.notice", body="{{ notice }}")
    customer = acme.customer("王小美")
    system = acme.system
    with database.unit_of_work() as s:
        template_id = find_template(s, acme.org_id, "campaign.message").id
    with database.unit_of_work() as s:
        campaigns.start_campaign(
            s, system, name="first", template_id=template_id, filters={}, now=clock()
        )
    worker.run_once()
    [first] = list(sink.received)
    link = _link(first["body"].decode())

    # The customer opens the link from the message: no cookies, no CSRF token.
    stranger = TestClient(app, base_url="http://testserver")
    confirm = stranger.get(link)
    assert confirm.status_code == 200 and "Acme 美容" in confirm.text
    with database.unit_of_work(write=False) as s:
        assert s.get(Customer, customer.id).marketing_consent is True  # GET changes nothing
    done = stranger.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and 'data-test="unsubscribed"' in done.text
    with database.unit_of_work(write=False) as s:
        opted_out = s.get(Customer, customer.id)
        assert (
            opted_out.marketing_consent is False and opted_out.consent_source == "unsubscribe_link"
        )

    with database.unit_of_work() as s:
        campaigns.start_campaign(
            s, system, name="second", template_id=template_id, filters={}, now=clock()
        )
        row = s.get(Customer, customer.id)
        assert enqueue(
            s, org_id=acme.org_id, purpose="care.birthday", key="b", customer=row
        ).skipped
        enqueue(
            s,
            org_id=acme.org_id,
            purpose="service.notice",
            key="n",
            customer=row,
            variables={"notice": "您的奖励已发放"},
            now=clock(),
        )
        s.commit()
    clock.advance(minutes=2)
    worker.run_once()
    bodies = [r["body"].decode() for r in sink.received]
    assert len(bodies) == 2 and "您的奖励已发放" in bodies[1]  # transactional still arrives


def test_marketing_queued_before_the_opt_out_is_cancelled_and_checked_again_at_send(
    acme, sink, worker, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer()
    with database.unit_of_work() as s:
        message = enqueue(
            s,
            org_id=acme.org_id,
            purpose="campaign.message",
            key="a",
            customer=s.get(Customer, customer.id),
            now=clock(),
        ).message
        s.commit()
    with database.unit_of_work() as s:  # consent withdrawn by staff, not through the link
        s.get(Customer, customer.id).marketing_consent = False
        s.commit()
    report = worker.run_once()
    assert report.cancelled == 1 and sink.received == []
    assert acme.message(message.id).status == MessageStatus.CANCELLED


def test_a_forged_or_foreign_token_does_nothing(client, acme, cast, database) -> None:
    customer = acme.customer()
    token = unsubscribe_token(SECRET_KEY, acme.org_id, customer.id)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert client.post(f"/u/{forged}").status_code == 404
    other_org = unsubscribe_token(SECRET_KEY, cast.globex.id, customer.id)
    assert client.post(f"/u/{other_org}").status_code == 200  # valid token, not their customer
    assert client.get("/u/<script>").status_code == 404
    with database.unit_of_work(write=False) as s:
        assert s.get(Customer, customer.id).marketing_consent is True


def test_marketing_email_offers_a_one_click_unsubscribe(acme, clock, database) -> None:
    acme.channel("smtp", host="127.0.0.1", port="2525", security="none", from_address="s@acme.test")
    acme.template(channel="smtp", subject="新品", body="{{ customer_name }}，新品上市")
    customer = acme.customer()
    with database.unit_of_work() as s:
        message = enqueue(
            s,
            org_id=acme.org_id,
            purpose="campaign.message",
            key="k",
            customer=s.get(Customer, customer.id),
            now=clock(),
        ).message
        s.commit()
    assert message.meta["unsubscribe_url"].startswith("http://testserver/u/")
    assert "Acme 美容 · " in message.body


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 30), True),
        (time(3, 0), True),
        (time(8, 0), False),
    ],
)
def test_quiet_hours_cross_midnight(local, expected) -> None:
    assert in_quiet_hours(local, time(21), time(8)) is expected


def test_quiet_hours_follow_the_organisations_time_zone() -> None:
    now = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 10:00 in New York
    shanghai = quiet_release(now, "Asia/Shanghai", time(21), time(8))
    assert shanghai == datetime(2026, 6, 16, 0, 0, tzinfo=UTC)  # 08:00 next morning there
    assert quiet_release(now, "America/New_York", time(21), time(8)) == now
    early = datetime(2026, 6, 14, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
    assert quiet_release(early, "Asia/Shanghai", time(21), time(8)) == datetime(
        2026, 6, 15, 0, 0, tzinfo=UTC
    )


def test_quiet_hours_ending_on_a_daylight_saving_morning() -> None:
    # New York springs forward at 02:00 on 8 March 2026; quiet hours end at 02:30 that night.
    now = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    release = quiet_release(now, "America/New_York", time(21), time(2, 30))
    assert release > now and release == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_marketing_enqueued_at_night_waits_and_transactional_does_not(
    acme, sink, worker, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    acme.template("service.notice", body="{{ notice }}")
    customer = acme.customer()
    clock.now = datetime(2026, 6, 15, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    with database.unit_of_work() as s:
        row = s.get(Customer, customer.id)
        promo = enqueue(
            s, org_id=acme.org_id, purpose="campaign.message", key="p", customer=row, now=clock()
        ).message
        notice = enqueue(
            s,
            org_id=acme.org_id,
            purpose="service.notice",
            key="n",
            customer=row,
            variables={"notice": "x"},
            now=clock(),
        ).message
        s.commit()
    assert promo.next_attempt_at == datetime(2026, 6, 16, 0, 0, tzinfo=UTC)
    assert notice.next_attempt_at == clock()
    assert worker.run_once().sent == 1
    clock.now = datetime(2026, 6, 16, 0, 1, tzinfo=UTC)
    assert worker.run_once().sent == 1


def test_a_retry_that_falls_into_quiet_hours_waits_for_the_morning(
    acme, sink, worker, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer()
    with database.unit_of_work() as s:
        message = enqueue(
            s,
            org_id=acme.org_id,
            purpose="campaign.message",
            key="p",
            customer=s.get(Customer, customer.id),
            now=clock(),
        ).message
        s.commit()
    clock.now = datetime(2026, 6, 15, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai: a late retry
    report = worker.run_once()
    assert report.sent == 0 and report.deferred == 1
    assert acme.message(message.id).next_attempt_at == datetime(2026, 6, 16, 0, 0, tzinfo=UTC)

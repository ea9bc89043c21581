"""Enqueue: in the caller's transaction, once per key (also under a race), consent first."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from laoke.customers.models import Customer
from laoke.messaging.models import MessageStatus, OutboxMessage
from laoke.messaging.outbox import SkipReason, enqueue


def _enqueue(acme, customer_id: int, key: str, purpose: str = "campaign.message", **extra):
    with acme.database.unit_of_work() as s:
        result = enqueue(
            s,
            org_id=acme.org_id,
            purpose=purpose,
            key=key,
            customer=s.get(Customer, customer_id),
            **extra,
        )
        s.commit()
        return result


def test_the_same_key_is_enqueued_once(acme, sink, clock) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer()
    first = _enqueue(acme, customer.id, "promo:1", now=clock())
    again = _enqueue(acme, customer.id, "promo:1", now=clock())
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert len(acme.messages()) == 1


def test_a_rolled_back_change_takes_its_message_with_it(acme, sink) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer()
    with acme.database.unit_of_work() as s:
        enqueue(
            s,
            org_id=acme.org_id,
            purpose="campaign.message",
            key="k",
            customer=s.get(Customer, customer.id),
        )
        s.rollback()
    assert acme.messages() == []


def test_two_racing_transactions_store_one_message(acme, sink, database) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer()
    barrier = threading.Barrier(2)
    results = []

    def attempt() -> None:
        with database.unit_of_work() as s:
            barrier.wait()
            row = enqueue(
                s,
                org_id=acme.org_id,
                purpose="campaign.message",
                key="race",
                customer=s.get(Customer, customer.id),
            )
            s.commit()
            results.append(row.created)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    with database.unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_marketing_needs_consent_but_a_transactional_notice_does_not(acme, sink) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    acme.template("service.notice", body="{{ notice }}")
    customer = acme.customer(consent=False)
    skipped = _enqueue(acme, customer.id, "promo")
    assert skipped.skipped is SkipReason.NO_CONSENT and skipped.message is None
    notice = _enqueue(
        acme, customer.id, "notice", "service.notice", variables={"notice": "明天 15:00"}
    )
    assert notice.created and notice.message.is_marketing is False


def test_without_a_channel_or_an_address_nothing_is_queued(acme, sink) -> None:
    acme.template(channel="smtp", subject="hi")
    customer = acme.customer(email=None)
    assert _enqueue(acme, customer.id, "a").skipped is SkipReason.NO_CHANNEL
    acme.channel("smtp", host="127.0.0.1", port="2525", security="none", from_address="s@acme.test")
    assert _enqueue(acme, customer.id, "b").skipped is SkipReason.NO_ADDRESS


def test_marketing_carries_the_sender_and_an_unsubscribe_link(acme, sink) -> None:
    acme.channel("sms", url=sink.url + "/sms")
    acme.template(channel="sms", body="{{ customer_name }}，会员日全场八折")
    message = _enqueue(acme, acme.customer().id, "promo").message
    assert message.body.startswith("【Acme 美容】王小美，会员日全场八折")
    assert "http://testserver/u/" in message.body
    assert message.meta["unsubscribe_url"] in message.body


def test_erased_and_merged_customers_get_nothing(acme, sink) -> None:
    acme.webhook_channel(sink.url)
    acme.template()
    kept = acme.customer("A")
    merged = acme.customer("B", merged_into_id=kept.id, phone="+8613700137000")
    assert _enqueue(acme, merged.id, "x").skipped is SkipReason.INACTIVE


@pytest.mark.parametrize("language", ["zh_TW", "en"])
def test_the_customers_language_is_used_when_recorded(acme, sink, language) -> None:
    from laoke.messaging.compose import Text

    acme.webhook_channel(sink.url)
    acme.template(
        texts={
            "zh_CN": Text(None, "简体 {{ customer_name }}"),
            "zh_TW": Text(None, "繁體"),
            "en": Text(None, "English"),
        }
    )
    customer = acme.customer(custom_attributes={"language": language})
    message = _enqueue(acme, customer.id, "k").message
    assert message.language == language
    assert message.status == MessageStatus.QUEUED


def test_erasing_a_customer_cancels_and_blanks_their_messages(acme, sink, cast, database) -> None:
    from laoke.customers.erasure import erase_customer

    acme.webhook_channel(sink.url)
    acme.template()
    customer = acme.customer("要删除的人")
    _enqueue(acme, customer.id, "a")
    with database.unit_of_work() as s:
        erase_customer(s, cast.actor(cast.alice), customer.id)
    [message] = acme.messages()
    assert message.status == MessageStatus.CANCELLED
    assert (
        message.body == ""
        and message.recipient == "(erased)"
        and "要删除的人" not in str(message.meta)
    )

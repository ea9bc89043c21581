"""The customer timeline: every source in one stream, newest first, pages that neither
lose nor repeat entries, no message secrets, and a registry later domains extend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from laoke.db import utcnow
from laoke.engagement import timeline
from laoke.engagement.models import Contact, StageChange, StageKind, Task, TaskKind, TaskStatus
from laoke.messaging.models import MessageStatus, OutboxMessage
from laoke.orders.models import Order, OrderItem, OrderStatus
from tests.conftest import csrf_from
from tests.engagement.test_contacts import new_customer

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _seed_every_kind(database, org_id: int, customer_id: int, staff_id: int) -> None:
    with database.unit_of_work() as s:
        order = Order(
            org_id=org_id,
            customer_id=customer_id,
            order_number="SO-1",
            ordered_at=T0,
            amount=Decimal("399.00"),
            status=OrderStatus.PAID,
        )
        order.items.append(
            OrderItem(org_id=org_id, product_name="玻尿酸面霜", amount=Decimal("399.00"))
        )
        s.add(order)
        s.add(
            Contact(
                org_id=org_id,
                customer_id=customer_id,
                staff_id=staff_id,
                channel="phone",
                occurred_at=T0 + timedelta(days=1),
                notes="回访面霜使用感受",
            )
        )
        s.add(
            StageChange(
                org_id=org_id,
                customer_id=customer_id,
                kind=StageKind.LIFECYCLE,
                from_stage="prospect",
                to_stage="new",
                at=T0 + timedelta(days=2),
                reason="first order",
            )
        )
        s.add(
            Task(
                org_id=org_id,
                customer_id=customer_id,
                kind=TaskKind.REPURCHASE,
                key="repurchase:test",
                title="面霜快用完了",
                due_on=(T0 + timedelta(days=40)).date(),
                status=TaskStatus.DONE,
                created_at=T0 + timedelta(days=3),
                closed_at=T0 + timedelta(days=4),
            )
        )
        s.add(
            OutboxMessage(
                org_id=org_id,
                idempotency_key="care.birthday:1",
                channel="sms",
                purpose="care.birthday",
                customer_id=customer_id,
                recipient="+8613812345678",
                language="zh_CN",
                subject="生日快乐",
                body="秘密正文 SECRET-BODY",
                meta={"unsubscribe_url": "https://x/u/SECRET-TOKEN"},
                status=MessageStatus.SENT,
                created_at=T0 + timedelta(days=5),
                sent_at=T0 + timedelta(days=5, minutes=1),
            )
        )
        s.commit()


def test_every_source_shows_newest_first_without_secrets(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    _seed_every_kind(database, cast.acme.id, customer_id, cast.bob.id)
    response = api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["kind"] for e in body["items"]] == [
        "message",
        "task_closed",
        "task_opened",
        "stage_change",
        "contact",
        "order",
    ]
    order = body["items"][-1]["data"]
    assert (order["amount"], order["items"], order["status"]) == ("399.00", ["玻尿酸面霜"], "paid")
    assert body["items"][-2]["data"]["staff_name"] == "Bob"
    message = body["items"][0]["data"]
    assert message == {
        "purpose": "care.birthday",
        "channel": "sms",
        "subject": "生日快乐",
        "status": "sent",
        "sent_at": "2026-03-06T02:01:00+00:00",
    }
    assert "SECRET" not in response.text and "13812345678" not in response.text
    assert body["next_before"] is None


def test_the_customer_page_shows_the_stream(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    _seed_every_kind(database, cast.acme.id, customer_id, cast.bob.id)
    page = browser_of(cast.bob).get(f"/customers/{customer_id}").text
    for expected in ("订单 ¥399.00", "玻尿酸面霜", "回访面霜使用感受", "面霜快用完了", "生日快乐"):
        assert expected in page, expected
    assert "SECRET" not in page


def test_pages_neither_lose_nor_repeat_entries_sharing_a_time(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    with database.unit_of_work() as s:
        for index in range(30):
            # Groups of contacts and tasks at the very same instant across page boundaries.
            at = T0 + timedelta(hours=index // 7)
            s.add(
                Contact(
                    org_id=cast.acme.id,
                    customer_id=customer_id,
                    channel="wechat",
                    occurred_at=at,
                    notes=f"c{index}",
                )
            )
            s.add(
                Task(
                    org_id=cast.acme.id,
                    customer_id=customer_id,
                    kind=TaskKind.CALLBACK,
                    key=f"callback:{index}",
                    title=f"t{index}",
                    due_on=at.date(),
                    created_at=at,
                )
            )
        s.commit()
    api = api_of(cast.bob)
    seen: list[tuple[str, int]] = []
    before = None
    for _ in range(20):
        params = {"limit": 7} | ({"before": before} if before else {})
        body = api.get(f"/api/v1/customers/{customer_id}/timeline", params=params).json()
        seen += [(e["kind"], e["ref_id"]) for e in body["items"]]
        times = [e["at"] for e in body["items"]]
        assert times == sorted(times, reverse=True)
        before = body["next_before"]
        if before is None:
            break
    assert len(seen) == 60 and len(set(seen)) == 60


def test_a_later_domain_adds_a_source(cast, api_of, database, monkeypatch) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)

    def referrals(session, org_id, customer_id, before, limit) -> list[timeline.TimelineEntry]:
        at = utcnow() - timedelta(minutes=1)
        if before is not None and at > before:
            return []
        return [timeline.TimelineEntry(at, "referral", 7, {"title": "推荐了闺蜜"})]

    monkeypatch.setitem(timeline.SOURCES, "referral", referrals)
    body = api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/timeline").json()
    assert [(e["kind"], e["data"]) for e in body["items"]] == [
        ("referral", {"title": "推荐了闺蜜"})
    ]


def test_merges_appear_on_the_kept_customer(cast, api_of, database) -> None:
    kept = new_customer(database, cast.acme, cast.bob)
    duplicate = new_customer(database, cast.acme, cast.bob)
    api_of(cast.maggie).post(f"/api/v1/customers/{kept}/merge", json={"other_id": duplicate})
    body = api_of(cast.bob).get(f"/api/v1/customers/{kept}/timeline").json()
    assert [(e["kind"], e["data"]) for e in body["items"]] == [("merge", {"merged_id": duplicate})]


def test_who_may_read_a_timeline(cast, api_of, browser_of, database) -> None:
    carols = new_customer(database, cast.acme, cast.carol)
    theirs = new_customer(database, cast.globex, cast.oscar)
    assert api_of(cast.bob).get(f"/api/v1/customers/{carols}/timeline").status_code == 404
    assert api_of(cast.alice).get(f"/api/v1/customers/{theirs}/timeline").status_code == 404
    assert api_of(cast.victor).get(f"/api/v1/customers/{carols}/timeline").status_code == 200
    assert browser_of(cast.bob).get(f"/customers/{carols}/timeline").status_code == 404


@pytest.mark.parametrize(
    "before", ["yesterday", "1.contact", "1.contact.x", "12.<b>.3", "-5.contact.1", "9" * 90]
)
def test_malformed_cursors_are_refused(cast, api_of, database, before) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    response = api_of(cast.bob).get(
        f"/api/v1/customers/{customer_id}/timeline", params={"before": before}
    )
    assert response.status_code == 422


def test_load_more_returns_the_partial_to_htmx_and_a_page_otherwise(
    cast, browser_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    with database.unit_of_work() as s:
        for index in range(25):
            s.add(
                Contact(
                    org_id=cast.acme.id,
                    customer_id=customer_id,
                    channel="visit",
                    occurred_at=T0 + timedelta(days=index),
                    notes=f"第{index}次到店",
                )
            )
        s.commit()
    bob = browser_of(cast.bob)
    page = bob.get(f"/customers/{customer_id}").text
    assert "第24次到店" in page and "第4次到店" not in page
    marker = f'hx-get="/customers/{customer_id}/timeline?before='
    assert marker in page
    before = page.split(marker, 1)[1].split('"', 1)[0]
    more = bob.get(
        f"/customers/{customer_id}/timeline",
        params={"before": before},
        headers={"HX-Request": "true"},
    )
    assert more.status_code == 200 and "<html" not in more.text
    assert "第4次到店" in more.text and "第24次到店" not in more.text
    full = bob.get(f"/customers/{customer_id}/timeline", params={"before": before})
    assert "<html" in full.text and "第0次到店" in full.text
    assert (
        bob.get(f"/customers/{customer_id}/timeline", params={"before": "<x>"}).status_code == 422
    )
    assert csrf_from(page)

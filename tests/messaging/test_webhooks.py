"""Event webhooks: subscriptions by API, page and CLI; signed deliveries of any event."""

from __future__ import annotations

import json

from laoke.events.bus import emit
from laoke.messaging.models import MessageStatus
from tests.conftest import csrf_from
from tests.messaging.conftest import HOOK_SECRET


def catch_up(acme, worker) -> None:
    """Events are stamped with the wall clock; move the worker's clock there."""
    worker.clock.now = max(m.next_attempt_at for m in acme.messages())
    worker.run_once()


def test_customer_events_reach_a_subscribed_integration_signed(
    cast, api_of, sink, worker, acme
) -> None:
    api = api_of(cast.alice)
    created = api.post("/api/v1/webhooks", json={"url": sink.url + "/crm", "secret": HOOK_SECRET})
    assert created.status_code == 201 and created.json()["secret"] == HOOK_SECRET
    customer = api.post("/api/v1/customers", json={"name": "新客"}).json()
    api.patch(f"/api/v1/customers/{customer['id']}", json={"needs": "祛斑"})
    catch_up(acme, worker)
    events = [json.loads(r["body"]) for r in sink.received]
    assert [e["type"] for e in events] == ["customer.created", "customer.updated"]
    assert (
        events[0]["data"] == {"customer_id": customer["id"]} and events[0]["org_id"] == acme.org_id
    )
    assert all(r["valid"] for r in sink.received)
    assert any("signature" in name for name in sink.received[0]["headers"])
    deliveries = api.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries").json()
    assert deliveries["total"] == 2 and {d["status"] for d in deliveries["items"]} == {"sent"}


def test_a_subscription_to_named_events_gets_only_those_and_any_name_is_accepted(
    cast, api_of, sink, worker, database, acme
) -> None:
    api = api_of(cast.alice)
    api.post(
        "/api/v1/webhooks",
        json={
            "url": sink.url,
            "secret": HOOK_SECRET,
            "events": ["reward.issued", "lead.status_changed"],
        },
    )
    api.post("/api/v1/customers", json={"name": "不会送达"})
    with database.unit_of_work() as s:  # another domain's event, emitted in its own transaction
        emit(
            s,
            acme.org_id,
            "reward.issued",
            subject_type="reward",
            subject_id=9,
            payload={"reward_id": 9, "customer_id": 1, "kind": "points", "amount": "50"},
        )
        s.commit()
    catch_up(acme, worker)
    assert [json.loads(r["body"])["type"] for r in sink.received] == ["reward.issued"]


def test_events_emitted_while_no_worker_runs_are_delivered_later(
    cast, api_of, sink, database, settings, clock, acme
) -> None:
    from laoke.messaging.worker import Worker

    api = api_of(cast.alice)
    api.post("/api/v1/webhooks", json={"url": sink.url, "secret": HOOK_SECRET})
    for n in range(3):
        api.post("/api/v1/customers", json={"name": f"客户{n}"})
    assert sink.received == []
    clock.now = acme.messages()[-1].next_attempt_at
    Worker(database, settings, clock=clock, jobs={}).run_once()
    assert len(sink.received) == 3


def test_an_event_rolled_back_is_never_delivered(acme, database) -> None:
    with database.unit_of_work() as s:
        from laoke.messaging import webhooks

        webhooks.create_subscription(
            s, acme.system, acme.settings, url="http://127.0.0.1:9/x", secret=HOOK_SECRET
        )
    with database.unit_of_work() as s:
        emit(
            s,
            acme.org_id,
            "customer.updated",
            subject_type="customer",
            subject_id=1,
            payload={"customer_id": 1},
        )
        s.rollback()
    assert acme.messages() == []


def test_secrets_are_never_returned_and_other_tenants_see_nothing(cast, api_of, browser_of) -> None:
    api = api_of(cast.alice)
    made = api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}).json()
    generated = made["secret"]
    assert generated.startswith("whsec_")
    assert generated not in api.get("/api/v1/webhooks").text
    assert generated not in api.get(f"/api/v1/webhooks/{made['id']}").text
    assert generated not in browser_of(cast.alice).get(f"/messages/webhooks/{made['id']}").text
    oscar = api_of(cast.oscar)
    assert oscar.get(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert oscar.delete(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert (
        api_of(cast.maggie).get("/api/v1/webhooks").status_code == 403
    )  # managers do not manage integrations


def test_the_webhook_page_adds_a_subscription_and_shows_the_secret_once(cast, browser_of) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/messages/webhooks")
    response = alice.post(
        "/messages/webhooks",
        data={
            "csrf_token": csrf_from(page.text),
            "url": "http://127.0.0.1:9/hook",
            "events": ["customer.created"],
            "other": "lead.created",
        },
    )
    assert 'data-test="new-secret"' in response.text
    again = alice.get("/messages/webhooks")
    assert 'data-test="new-secret"' not in again.text
    assert "customer.created, lead.created" in again.text


def test_deleting_a_subscription_cancels_its_queued_deliveries(cast, api_of, acme) -> None:
    api = api_of(cast.alice)
    sub = api.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": HOOK_SECRET}
    ).json()
    api.post("/api/v1/customers", json={"name": "x"})
    assert api.delete(f"/api/v1/webhooks/{sub['id']}").status_code == 204
    assert [m.status for m in acme.messages()] == [MessageStatus.CANCELLED]

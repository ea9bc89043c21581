"""The contact log through the API: the contract, the follow-up task, the contact count,
the 24-hour edit window, who may do what, and hostile input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from laoke.accounts.models import User
from laoke.customers.models import Customer
from laoke.db import Database, utcnow
from laoke.engagement.models import Contact, CustomerFigures, Task, TaskKind, TaskStatus
from laoke.events.models import DomainEvent
from laoke.tenancy.models import Org


def new_customer(database: Database, org: Org, owner: User | None, name: str = "王丽") -> int:
    with database.unit_of_work() as s:
        customer = Customer(
            org_id=org.id, name=name, owner_id=owner.id if owner else None, custom_attributes={}
        )
        s.add(customer)
        s.commit()
        return customer.id


def figures(database: Database, customer_id: int) -> tuple[int, datetime | None] | None:
    with database.unit_of_work(write=False) as s:
        row = s.scalar(select(CustomerFigures).where(CustomerFigures.customer_id == customer_id))
        return (row.contact_count, row.last_contact_at) if row else None


def tomorrow() -> str:
    return (utcnow() + timedelta(days=2)).date().isoformat()


def test_a_contact_is_logged_counted_and_announced(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    response = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "wechat", "notes": "回访面霜使用感受，皮肤变好了"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["channel"], body["direction"], body["outcome"]) == (
        "wechat",
        "outbound",
        "reached",
    )
    assert body["staff_id"] == cast.bob.id and body["follow_up_task_id"] is None
    assert body["notes"] == "回访面霜使用感受，皮肤变好了"
    assert figures(database, customer_id) == (1, datetime.fromisoformat(body["occurred_at"]))
    earlier = (utcnow() - timedelta(days=3)).isoformat()
    bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "outcome": "no_answer", "occurred_at": earlier},
    )
    count, last = figures(database, customer_id)
    assert count == 2 and last == datetime.fromisoformat(body["occurred_at"])  # max stays
    with database.unit_of_work(write=False) as s:
        event = s.scalars(select(DomainEvent).where(DomainEvent.name == "contact.logged")).first()
        assert event.payload == {
            "contact_id": body["id"],
            "customer_id": customer_id,
            "channel": "wechat",
        }


def test_the_figures_row_is_updated_when_it_exists(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    with database.unit_of_work() as s:
        s.add(CustomerFigures(org_id=cast.acme.id, customer_id=customer_id, orders_count=3))
        s.commit()
    api_of(cast.bob).post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "visit"})
    with database.unit_of_work(write=False) as s:
        row = s.scalar(select(CustomerFigures).where(CustomerFigures.customer_id == customer_id))
        assert (row.orders_count, row.contact_count) == (3, 1)
        assert row.last_contact_at is not None


def test_a_next_step_opens_one_follow_up_for_the_owner(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    maggie = api_of(cast.maggie)
    body = maggie.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "next_step": "下周带闺蜜来店", "next_step_on": tomorrow()},
    ).json()
    assert body["follow_up_task_id"] is not None
    tasks = api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/tasks").json()
    assert [(t["kind"], t["title"], t["assignee_id"], t["key"]) for t in tasks] == [
        ("follow_up", "下周带闺蜜来店", cast.bob.id, f"follow_up:contact:{body['id']}")
    ]
    listed = maggie.get(f"/api/v1/customers/{customer_id}/contacts").json()["items"]
    assert [c["follow_up_task_id"] for c in listed] == [body["follow_up_task_id"]]
    # Changing the date moves the same task; a second save opens no other.
    later = (utcnow() + timedelta(days=9)).date().isoformat()
    for _ in range(2):
        changed = maggie.patch(f"/api/v1/contacts/{body['id']}", json={"next_step_on": later})
        assert changed.status_code == 200, changed.text
    tasks = api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/tasks").json()
    assert [(t["due_on"], t["id"]) for t in tasks] == [(later, body["follow_up_task_id"])]
    # Taking the promise back dismisses it.
    maggie.patch(f"/api/v1/contacts/{body['id']}", json={"next_step_on": None})
    assert api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/tasks").json() == []


def test_without_an_owner_the_follow_up_goes_to_whoever_logged(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, None)
    api_of(cast.maggie).post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "sms", "next_step": "寄小样", "next_step_on": tomorrow()},
    )
    with database.unit_of_work(write=False) as s:
        assert s.scalar(select(Task.assignee_id)) == cast.maggie.id


def test_logging_completes_the_chosen_tasks_only(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    other_id = new_customer(database, cast.acme, cast.bob, name="李娜")
    bob = api_of(cast.bob)
    first = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "next_step": "回访", "next_step_on": tomorrow()},
    ).json()
    foreign = bob.post(
        f"/api/v1/customers/{other_id}/contacts",
        json={"channel": "phone", "next_step": "回访", "next_step_on": tomorrow()},
    ).json()
    refused = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "visit", "complete_task_ids": [foreign["follow_up_task_id"]]},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "complete_task"
    done = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "visit", "complete_task_ids": [first["follow_up_task_id"]]},
    )
    assert done.status_code == 201
    with database.unit_of_work(write=False) as s:
        statuses = dict(s.execute(select(Task.customer_id, Task.status)).all())
        assert statuses == {customer_id: TaskStatus.DONE, other_id: TaskStatus.OPEN}
        assert s.scalar(select(func.count()).select_from(Contact)) == 3  # the refused one left none
    again = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "visit", "complete_task_ids": [first["follow_up_task_id"]]},
    )
    assert again.status_code == 409 and again.json()["code"] == "task_closed"


def test_contacts_are_listed_newest_first_and_paged(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    for days in (5, 1, 3):
        at = (utcnow() - timedelta(days=days)).isoformat()
        bob.post(
            f"/api/v1/customers/{customer_id}/contacts",
            json={"channel": "phone", "occurred_at": at, "notes": f"{days}天前"},
        )
    page = bob.get(f"/api/v1/customers/{customer_id}/contacts", params={"per_page": 2}).json()
    assert [c["notes"] for c in page["items"]] == ["1天前", "3天前"]
    assert (page["total"], page["pages"]) == (3, 2)
    second = bob.get(
        f"/api/v1/customers/{customer_id}/contacts", params={"per_page": 2, "page": 2}
    ).json()
    assert [c["notes"] for c in second["items"]] == ["5天前"]


def test_deleting_recounts_and_dismisses_the_follow_up(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    older = (utcnow() - timedelta(days=4)).replace(microsecond=0)
    bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "occurred_at": older.isoformat()},
    )
    newest = bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "wechat", "next_step": "约护理", "next_step_on": tomorrow()},
    ).json()
    assert bob.delete(f"/api/v1/contacts/{newest['id']}").status_code == 204
    assert figures(database, customer_id) == (1, older)
    with database.unit_of_work(write=False) as s:
        assert s.scalar(select(Task.status)) == TaskStatus.DISMISSED
    assert bob.delete(f"/api/v1/contacts/{newest['id']}").status_code == 404


def test_only_the_author_or_a_manager_changes_a_contact_within_a_day(
    cast, api_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    contact = (
        api_of(cast.maggie)
        .post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "visit"})
        .json()
    )
    mine = (
        api_of(cast.bob)
        .post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "phone"})
        .json()
    )
    # Bob may see the manager's contact on his customer but not rewrite it.
    refused = api_of(cast.bob).patch(f"/api/v1/contacts/{contact['id']}", json={"notes": "x"})
    assert refused.status_code == 403
    assert (
        api_of(cast.maggie)
        .patch(f"/api/v1/contacts/{mine['id']}", json={"outcome": "positive"})
        .json()["outcome"]
        == "positive"
    )
    with database.unit_of_work() as s:
        row = s.get(Contact, mine["id"])
        row.created_at = utcnow() - timedelta(hours=25)
        s.commit()
    late = api_of(cast.bob).patch(f"/api/v1/contacts/{mine['id']}", json={"notes": "补记"})
    assert late.status_code == 409 and late.json()["code"] == "contact_locked"
    assert api_of(cast.bob).delete(f"/api/v1/contacts/{mine['id']}").status_code == 409


def test_moving_a_contact_in_time_recounts_the_last_contact(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    contact = bob.post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "phone"})
    earlier = (utcnow() - timedelta(days=2)).replace(microsecond=0)
    bob.patch(f"/api/v1/contacts/{contact.json()['id']}", json={"occurred_at": earlier.isoformat()})
    assert figures(database, customer_id) == (1, earlier)


def test_who_may_log_and_read(cast, api_of, database) -> None:
    bobs = new_customer(database, cast.acme, cast.bob)
    carols = new_customer(database, cast.acme, cast.carol, name="李娜")
    theirs = new_customer(database, cast.globex, cast.oscar, name="外人")
    body = {"channel": "phone"}
    # A salesperson gets nothing of a colleague's customer, nor another tenant's.
    for customer_id in (carols, theirs):
        for response in (
            api_of(cast.bob).post(f"/api/v1/customers/{customer_id}/contacts", json=body),
            api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/contacts"),
            api_of(cast.bob).get(f"/api/v1/customers/{customer_id}/tasks"),
        ):
            assert response.status_code == 404, response.text
    assert api_of(cast.oscar).get(f"/api/v1/customers/{bobs}/contacts").status_code == 404
    # A viewer reads but cannot log.
    assert (
        api_of(cast.victor).post(f"/api/v1/customers/{bobs}/contacts", json=body).status_code == 403
    )
    logged = api_of(cast.bob).post(f"/api/v1/customers/{bobs}/contacts", json=body).json()
    assert api_of(cast.victor).get(f"/api/v1/customers/{bobs}/contacts").json()["total"] == 1
    assert api_of(cast.victor).patch(f"/api/v1/contacts/{logged['id']}", json={}).status_code == 403
    for user in (cast.carol, cast.oscar):
        assert api_of(user).patch(f"/api/v1/contacts/{logged['id']}", json={}).status_code == 404
        assert api_of(user).delete(f"/api/v1/contacts/{logged['id']}").status_code == 404
    assert figures(database, bobs)[0] == 1


def test_hostile_and_malformed_input_is_refused(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    url = f"/api/v1/customers/{customer_id}/contacts"
    far_future = (utcnow() + timedelta(days=3)).isoformat()
    cases = [
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"channel": "phone", "outcome": "maybe"}, "outcome"),
        ({"channel": "phone", "occurred_at": far_future}, "occurred_at"),
        ({"channel": "phone", "occurred_at": "1999-12-31T23:00:00+00:00"}, "occurred_at"),
        ({"channel": "phone", "occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"channel": "phone", "notes": "长" * 10_000}, "notes"),
        ({"channel": "phone", "next_step": "x" * 501}, "next_step"),
        ({"channel": "phone", "next_step_on": "2099-01-01"}, "next_step_on"),
        ({"channel": "phone", "next_step_on": "2020-01-01"}, "next_step_on"),
        ({"channel": "phone", "staff_id": cast.carol.id}, "staff_id"),
        ({"channel": "phone", "complete_task_ids": ["abc"]}, "complete_task_ids.0"),
    ]
    for body, field in cases:
        response = bob.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, (body, response.json())
    assert (
        bob.post(url, content="not json", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert bob.get(url, params={"per_page": 1000}).status_code == 422
    assert figures(database, customer_id) is None


def test_a_contact_just_now_on_a_fast_phone_clock_is_accepted(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    response = api_of(cast.bob).post(
        f"/api/v1/customers/{customer_id}/contacts", json={"channel": "phone", "occurred_at": soon}
    )
    assert response.status_code == 201


def test_erasure_blanks_contact_text_and_task_titles_but_keeps_counts(
    cast, api_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = api_of(cast.bob)
    bob.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={
            "channel": "phone",
            "notes": "她说住在幸福路 8 号",
            "next_step": "给王丽送生日礼",
            "next_step_on": tomorrow(),
        },
    )
    assert api_of(cast.alice).delete(f"/api/v1/customers/{customer_id}").status_code == 204
    with database.unit_of_work(write=False) as s:
        contact = s.scalar(select(Contact))
        assert (contact.notes, contact.next_step, contact.channel) == (None, None, "phone")
        assert s.scalar(select(Task.title)) == ""
    assert figures(database, customer_id)[0] == 1
    assert (
        bob.post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "phone"}).status_code
        == 409
    )


def test_a_merge_adds_the_duplicates_contacts_to_the_count(cast, api_of, database) -> None:
    kept = new_customer(database, cast.acme, cast.bob)
    duplicate = new_customer(database, cast.acme, cast.bob)
    maggie = api_of(cast.maggie)
    for customer_id in (kept, duplicate, duplicate):
        maggie.post(f"/api/v1/customers/{customer_id}/contacts", json={"channel": "phone"})
    merged = maggie.post(f"/api/v1/customers/{kept}/merge", json={"other_id": duplicate})
    assert merged.status_code == 200, merged.text
    assert figures(database, kept)[0] == 3
    assert maggie.get(f"/api/v1/customers/{duplicate}/contacts").json()["total"] == 3


def test_task_kinds_a_contact_can_settle(cast, database) -> None:
    from laoke.engagement.contacts import settleable_tasks
    from laoke.engagement.tasks import open_task

    customer_id = new_customer(database, cast.acme, cast.bob)
    with database.unit_of_work() as s:
        for kind in (TaskKind.FOLLOW_UP, TaskKind.REPURCHASE, TaskKind.CALLBACK):
            open_task(
                s,
                cast.acme.id,
                customer_id=customer_id,
                assignee_id=cast.bob.id,
                kind=kind,
                key=f"{kind}:test",
                title=str(kind),
                due_on=date(2026, 1, 1),
            )
        s.commit()
        kinds = [t.kind for t in settleable_tasks(s, cast.acme.id, customer_id)]
    assert sorted(kinds) == ["callback", "follow_up"]

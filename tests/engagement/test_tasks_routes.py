"""Closing tasks from the API and from pages: done or dismissed once, by those who may."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from laoke.db import Database
from laoke.engagement.models import Task, TaskKind, TaskStatus
from laoke.engagement.tasks import open_task
from tests.conftest import csrf_from
from tests.engagement.test_contacts import new_customer


def _task(database: Database, org_id: int, customer_id: int, assignee_id: int, key: str) -> int:
    with database.unit_of_work() as s:
        open_task(
            s,
            org_id,
            customer_id=customer_id,
            assignee_id=assignee_id,
            kind=TaskKind.CALLBACK,
            key=key,
            title="回访护理效果",
            due_on=date(2026, 12, 1),
        )
        open_task(
            s,
            org_id,
            customer_id=customer_id,
            assignee_id=assignee_id,
            kind=TaskKind.CALLBACK,
            key=key,
            title="再来一次",
            due_on=date(2026, 12, 2),
        )
        s.commit()
        # The same cause opens one task, with the first title.
        rows = s.execute(select(Task.id, Task.title).where(Task.org_id == org_id, Task.key == key))
        ((task_id, title),) = rows.all()
        assert title == "回访护理效果"
        return task_id


def _status(database: Database, task_id: int) -> str:
    with database.unit_of_work(write=False) as s:
        return s.get(Task, task_id).status


def test_the_api_lists_and_closes_tasks_once(cast, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    first = _task(database, cast.acme.id, customer_id, cast.bob.id, "callback:a")
    second = _task(database, cast.acme.id, customer_id, cast.bob.id, "callback:b")
    bob = api_of(cast.bob)
    listed = bob.get(f"/api/v1/customers/{customer_id}/tasks").json()
    assert [(t["id"], t["title"], t["status"]) for t in listed] == [
        (first, "回访护理效果", "open"),
        (second, "回访护理效果", "open"),
    ]
    done = bob.post(f"/api/v1/tasks/{first}/done")
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["closed_at"]
    twice = bob.post(f"/api/v1/tasks/{first}/done")
    assert twice.status_code == 409 and twice.json()["code"] == "task_closed"
    assert bob.post(f"/api/v1/tasks/{first}/dismiss").status_code == 409
    assert bob.post(f"/api/v1/tasks/{second}/dismiss").json()["status"] == "dismissed"
    assert bob.get(f"/api/v1/customers/{customer_id}/tasks").json() == []
    closed = bob.get(f"/api/v1/customers/{customer_id}/tasks", params={"status": "done"}).json()
    assert [t["id"] for t in closed] == [first]
    every = bob.get(f"/api/v1/customers/{customer_id}/tasks", params={"status": "all"}).json()
    assert [t["status"] for t in every] == ["done", "dismissed"]
    assert (
        bob.get(f"/api/v1/customers/{customer_id}/tasks", params={"status": "whatever"}).status_code
        == 422
    )


def test_who_may_close_a_task(cast, api_of, database) -> None:
    carols = new_customer(database, cast.acme, cast.carol)
    theirs = new_customer(database, cast.globex, cast.oscar)
    task = _task(database, cast.acme.id, carols, cast.carol.id, "callback:c")
    foreign = _task(database, cast.globex.id, theirs, cast.oscar.id, "callback:c")
    assert api_of(cast.bob).post(f"/api/v1/tasks/{task}/done").status_code == 404
    assert api_of(cast.victor).post(f"/api/v1/tasks/{task}/done").status_code == 403
    assert api_of(cast.alice).post(f"/api/v1/tasks/{foreign}/done").status_code == 404
    assert api_of(cast.alice).post("/api/v1/tasks/999999/dismiss").status_code == 404
    assert _status(database, task) == TaskStatus.OPEN
    assert api_of(cast.maggie).post(f"/api/v1/tasks/{task}/done").status_code == 200
    assert _status(database, foreign) == TaskStatus.OPEN


def test_pages_close_tasks_and_return_to_a_local_page(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    first = _task(database, cast.acme.id, customer_id, cast.bob.id, "callback:p1")
    second = _task(database, cast.acme.id, customer_id, cast.bob.id, "callback:p2")
    bob = browser_of(cast.bob)
    page = bob.get(f"/customers/{customer_id}").text
    assert f'data-test="task-done-{first}"' in page
    token = csrf_from(page)
    done = bob.post(
        f"/tasks/{first}/done", data={"csrf_token": token, "next": "/today"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/today"
    evil = bob.post(
        f"/tasks/{second}/dismiss",
        data={"csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert evil.status_code == 303 and evil.headers["location"] == f"/customers/{customer_id}"
    assert (_status(database, first), _status(database, second)) == ("done", "dismissed")
    again = bob.post(f"/tasks/{first}/done", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409
    third = _task(database, cast.acme.id, customer_id, cast.bob.id, "callback:p3")
    htmx = bob.post(
        f"/tasks/{third}/done", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 200 and f'data-test="task-closed-{third}"' in htmx.text
    assert "完成" in htmx.text


def test_a_viewer_or_colleague_cannot_close_from_pages(cast, browser_of, database) -> None:
    carols = new_customer(database, cast.acme, cast.carol)
    task = _task(database, cast.acme.id, carols, cast.carol.id, "callback:v")
    for user, status in ((cast.victor, 403), (cast.bob, 404), (cast.oscar, 404)):
        client = browser_of(user)
        token = csrf_from(client.get("/customers").text)
        assert (
            client.post(f"/tasks/{task}/dismiss", data={"csrf_token": token}).status_code == status
        )
    assert _status(database, task) == TaskStatus.OPEN

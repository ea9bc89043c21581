"""Logging a contact from a page: two taps with htmx, a plain form without it, the notes
form afterwards, and the customer page showing it all — safely."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from laoke.db import utcnow
from laoke.engagement.models import Contact, Task, TaskStatus
from tests.conftest import csrf_from
from tests.engagement.test_contacts import figures, new_customer

HTMX = {"HX-Request": "true"}


def _tap(client, customer_id: int, **fields):
    page = client.get(f"/customers/{customer_id}")
    data = {"csrf_token": csrf_from(page.text), "channel": "phone", "outcome": "reached", **fields}
    return client.post(f"/customers/{customer_id}/contacts", data=data, follow_redirects=False)


def test_the_customer_page_offers_the_buttons_stage_and_timeline(
    cast, browser_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    page = browser_of(cast.bob).get(f"/customers/{customer_id}").text
    for channel in ("phone", "wechat", "sms", "email", "visit", "event", "other"):
        assert f'data-test="log-{channel}"' in page
    assert ">电话</button>" in page and ">微信</button>" in page
    assert f'id="log-contact-{customer_id}"' in page and f'id="relationship-{customer_id}"' in page
    assert 'data-test="timeline"' in page and "接触 0 次" in page


def test_a_viewer_sees_the_count_but_no_buttons(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    page = browser_of(cast.victor).get(f"/customers/{customer_id}").text
    assert 'data-test="log-phone"' not in page and "接触 0 次" in page
    assert 'name="stage"' not in page


def test_two_taps_with_htmx_log_at_once_and_the_notes_form_patches(
    cast, browser_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get(f"/customers/{customer_id}").text)
    response = bob.post(
        f"/customers/{customer_id}/contacts",
        data={"csrf_token": token, "channel": "wechat", "outcome": "reached"},
        headers=HTMX,
    )
    assert response.status_code == 200 and 'data-test="contact-logged"' in response.text
    assert "已记录：微信" in response.text
    assert 'hx-swap-oob="true"' in response.text and "接触 1 次" in response.text
    with database.unit_of_work(write=False) as s:
        contact_id = s.scalar(select(Contact.id))
    assert f'hx-patch="/contacts/{contact_id}"' in response.text
    due = (utcnow() + timedelta(days=7)).date().isoformat()
    patched = bob.patch(
        f"/contacts/{contact_id}",
        data={
            "csrf_token": token,
            "notes": "回访面霜使用感受，皮肤变好了，答应下周带闺蜜来",
            "next_step": "约闺蜜一起做护理",
            "next_step_on": due,
            "outcome": "positive",
        },
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert patched.status_code == 200 and "已保存" in patched.text
    with database.unit_of_work(write=False) as s:
        contact = s.get(Contact, contact_id)
        assert (contact.outcome, contact.next_step_on.isoformat()) == ("positive", due)
        task = s.scalar(select(Task))
        assert (task.title, task.assignee_id) == ("约闺蜜一起做护理", cast.bob.id)
    page = bob.get(f"/customers/{customer_id}").text
    assert "答应下周带闺蜜来" in page and "接触 1 次" in page and "约闺蜜一起做护理" in page


def test_without_javascript_the_form_posts_and_redirects_back(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    response = _tap(bob, customer_id, channel="visit", next=f"/customers/{customer_id}")
    assert response.status_code == 303
    location = response.headers["location"]
    with database.unit_of_work(write=False) as s:
        contact_id = s.scalar(select(Contact.id))
    assert location == f"/customers/{customer_id}?logged={contact_id}#log-contact-{customer_id}"
    page = bob.get(location).text
    assert "已记录：到访" in page and f'action="/contacts/{contact_id}"' in page
    token = csrf_from(page)
    shown = page.split(
        f'id="occurred-{contact_id}" name="occurred_at" type="datetime-local" value="'
    )
    shown_time = shown[1].split('"', 1)[0]
    with database.unit_of_work(write=False) as s:
        logged_at = s.get(Contact, contact_id).occurred_at
    saved = bob.post(
        f"/contacts/{contact_id}",
        data={
            "csrf_token": token,
            "notes": "买了两瓶",
            "outcome": "purchased",
            "occurred_at": shown_time,
            "next_step_on": "",
            "next": "/today",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/today"
    with database.unit_of_work(write=False) as s:
        contact = s.get(Contact, contact_id)
        assert (contact.outcome, contact.notes) == ("purchased", "买了两瓶")
        assert contact.occurred_at == logged_at  # the untouched time field moved nothing
    yesterday = (utcnow() + timedelta(hours=8) - timedelta(days=1)).strftime("%Y-%m-%dT10:30")
    bob.post(f"/contacts/{contact_id}", data={"csrf_token": token, "occurred_at": yesterday})
    with database.unit_of_work(write=False) as s:
        moved = s.get(Contact, contact_id).occurred_at
        assert moved.strftime("%H:%M") == "02:30"  # 10:30 in Shanghai
    assert figures(database, customer_id) == (1, moved)


def test_next_may_not_lead_off_the_site(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    for hostile in ("//evil.example", "https://evil.example/", "/\\evil.example", "evil", "/%0d"):
        response = _tap(bob, customer_id, next=hostile)
        assert response.status_code == 303
        location = response.headers["location"]
        if hostile == "/%0d":
            assert location.startswith("/%0d?logged=")  # a local path, harmless
        else:
            assert location.startswith(f"/customers/{customer_id}?logged="), location
    with_query = _tap(bob, customer_id, next="/today?owner=3&logged=1")
    assert with_query.headers["location"].startswith("/today?owner=3&logged=")
    assert figures(database, customer_id)[0] == 6


def test_form_errors_are_refused_and_shown_in_place(cast, browser_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get(f"/customers/{customer_id}").text)
    unknown = _tap(bob, customer_id, channel="telegraph")
    assert unknown.status_code == 422 and "text/html" in unknown.headers["content-type"]
    htmx = bob.post(
        f"/customers/{customer_id}/contacts",
        data={"csrf_token": token, "channel": "phone", "notes": "长" * 10_000},
        headers=HTMX,
    )
    assert htmx.status_code == 422 and "最多 5000 个字" in htmx.text
    assert htmx.headers["HX-Retarget"] == f"#contact-err-{customer_id}"
    far = _tap(bob, customer_id, next_step="回访", next_step_on="2099-01-01")
    assert far.status_code == 422
    bad_date = _tap(bob, customer_id, next_step_on="明天")
    assert bad_date.status_code == 422
    bad_task = _tap(bob, customer_id, complete_task="1 OR 1=1")
    assert bad_task.status_code == 422
    assert figures(database, customer_id) is None
    _tap(bob, customer_id, channel="sms")
    with database.unit_of_work(write=False) as s:
        contact_id = s.scalar(select(Contact.id))
    late = bob.patch(
        f"/contacts/{contact_id}",
        data={"notes": "保留我写的字", "next_step_on": "2099-01-01"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert late.status_code == 422 and "2 年内" in late.text
    assert late.headers["HX-Retarget"] == f"#contact-err-{customer_id}"
    with database.unit_of_work(write=False) as s:
        assert s.get(Contact, contact_id).notes is None
    future = bob.patch(
        f"/contacts/{contact_id}",
        data={"occurred_at": "2099-01-01T10:00"},
        headers={"X-CSRF-Token": token},
    )
    assert future.status_code == 422 and "不能在将来" in future.text


def test_html_in_notes_is_shown_as_text(cast, browser_of, api_of, database) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    api_of(cast.bob).post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "notes": "<script>alert(1)</script>", "next_step": "<b>x</b>"},
    )
    page = browser_of(cast.bob).get(f"/customers/{customer_id}").text
    assert (
        "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    assert "<b>x</b>" not in page


def test_tasks_a_contact_completes_are_offered_and_closed(
    cast, browser_of, api_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    due = (utcnow() + timedelta(days=1)).date().isoformat()
    first = (
        api_of(cast.bob)
        .post(
            f"/api/v1/customers/{customer_id}/contacts",
            json={"channel": "phone", "next_step": "送小样", "next_step_on": due},
        )
        .json()
    )
    task_id = first["follow_up_task_id"]
    bob = browser_of(cast.bob)
    page = bob.get(f"/customers/{customer_id}").text
    assert f'data-test="complete-task-{task_id}"' in page and "送小样" in page
    response = _tap(bob, customer_id, complete_task=str(task_id))
    assert response.status_code == 303
    with database.unit_of_work(write=False) as s:
        assert s.get(Task, task_id).status == TaskStatus.DONE


def test_others_cannot_log_or_change_from_pages(cast, browser_of, api_of, database) -> None:
    carols = new_customer(database, cast.acme, cast.carol)
    theirs = new_customer(database, cast.globex, cast.oscar, name="外人")
    contact = (
        api_of(cast.carol)
        .post(f"/api/v1/customers/{carols}/contacts", json={"channel": "phone"})
        .json()
    )
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get("/customers").text)
    for customer_id in (carols, theirs):
        response = bob.post(
            f"/customers/{customer_id}/contacts",
            data={"csrf_token": token, "channel": "phone"},
            follow_redirects=False,
        )
        assert response.status_code == 404
    assert (
        bob.post(f"/contacts/{contact['id']}", data={"csrf_token": token, "notes": "x"}).status_code
        == 404
    )
    assert (
        bob.post(f"/contacts/{contact['id']}/delete", data={"csrf_token": token}).status_code == 404
    )
    victor = browser_of(cast.victor)
    token = csrf_from(victor.get("/customers").text)
    refused = victor.post(
        f"/customers/{carols}/contacts",
        data={"csrf_token": token, "channel": "phone"},
        headers=HTMX,
    )
    assert refused.status_code == 403
    assert (
        victor.patch(
            f"/contacts/{contact['id']}", data={"notes": "x"}, headers={"X-CSRF-Token": token}
        ).status_code
        == 403
    )
    assert figures(database, carols)[0] == 1


def test_the_author_deletes_a_mistaken_contact_from_the_timeline(
    cast, browser_of, database
) -> None:
    customer_id = new_customer(database, cast.acme, cast.bob)
    bob = browser_of(cast.bob)
    _tap(bob, customer_id, channel="email")
    with database.unit_of_work(write=False) as s:
        contact_id = s.scalar(select(Contact.id))
    page = bob.get(f"/customers/{customer_id}").text
    assert f'data-test="delete-contact-{contact_id}"' in page
    # A colleague's manager may too; another salesperson never sees it.
    assert (
        f'data-test="delete-contact-{contact_id}"'
        in browser_of(cast.maggie).get(f"/customers/{customer_id}").text
    )
    response = bob.post(
        f"/contacts/{contact_id}/delete",
        data={"csrf_token": csrf_from(page), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert (
        response.status_code == 303 and response.headers["location"] == f"/customers/{customer_id}"
    )
    assert figures(database, customer_id)[0] == 0

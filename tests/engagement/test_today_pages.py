"""The Today page (landing page), closing tasks from it, and the cadence settings page."""

from __future__ import annotations

from sqlalchemy import select

from laoke.engagement.models import CadenceRule, Task, TaskKind, TaskStatus
from tests.conftest import csrf_from
from tests.engagement.today_helpers import CLOCK_TODAY, customer, task
from tests.engagement.today_helpers import days_before_clock as days_ago


def seed(cast, database) -> dict[str, int]:
    with database.unit_of_work() as s:
        wang = customer(s, cast.acme.id, cast.bob.id, "王丽", created_at=days_ago(90))
        li = customer(s, cast.acme.id, cast.carol.id, "李娜", created_at=days_ago(90))
        mine = task(
            s,
            cast.acme.id,
            wang,
            cast.bob.id,
            kind=TaskKind.REPURCHASE,
            title="面霜",
            due_on=CLOCK_TODAY,
        )
        theirs = task(s, cast.acme.id, li, cast.carol.id, title="回访李娜", due_on=CLOCK_TODAY)
        s.commit()
    return {"wang": wang, "li": li, "mine": mine, "theirs": theirs}


def test_staff_land_on_today_with_the_nav_link_first(cast, browser_of) -> None:
    bob = browser_of(cast.bob)
    assert bob.get("/", follow_redirects=False).headers["location"] == "/today"
    page = bob.get("/today")
    assert page.status_code == 200
    nav = page.text[page.text.index("<nav>") :]
    assert nav.index('href="/today"') < nav.index('href="/customers"')
    assert "今日待办" in page.text


def test_a_salesperson_sees_their_rows_with_one_tap_actions(cast, browser_of, database) -> None:
    ids = seed(cast, database)
    page = browser_of(cast.bob).get("/today").text
    assert "王丽" in page and "李娜" not in page
    assert f'action="/customers/{ids["wang"]}/contacts"' in page
    assert 'name="channel" value="phone"' in page
    assert f'action="/tasks/{ids["mine"]}/done"' in page
    assert "该回购了：面霜（今天到期）" in page
    assert "选择" not in page and 'data-test="choose-staff"' not in page


def test_managers_choose_a_colleague_or_the_team_and_viewers_only_look(
    cast, browser_of, database
) -> None:
    ids = seed(cast, database)
    maggie = browser_of(cast.maggie)
    carol = maggie.get(f"/today?staff_id={cast.carol.id}").text
    assert "李娜" in carol and "王丽" not in carol
    team = maggie.get("/today?team=1").text
    assert 'data-test="team-counts"' in team and "Bob" in team and "Carol" in team
    viewer = browser_of(cast.victor).get("/today?team=1").text
    assert "王丽" in viewer and "log-contact" not in viewer and "/tasks/" not in viewer
    assert browser_of(cast.bob).get(f"/today?staff_id={cast.carol.id}").status_code == 403
    assert browser_of(cast.oscar).get(f"/today?staff_id={cast.bob.id}").status_code == 404
    assert maggie.get("/today?staff_id=abc&section=nope&page=-3").status_code == 200
    assert ids


def test_an_owner_without_customers_lands_on_the_team_and_can_pick_their_own(
    cast, browser_of, database
) -> None:
    seed(cast, database)
    alice = browser_of(cast.alice)
    landing = alice.get("/today").text
    assert 'data-test="team-counts"' in landing and "王丽" in landing and "李娜" in landing
    mine = alice.get(f"/today?staff_id={cast.alice.id}").text
    assert 'data-test="team-counts"' not in mine and "王丽" not in mine
    # Bob looks after customers: his landing page is his own list, whatever his role.
    assert 'data-test="team-counts"' not in browser_of(cast.bob).get("/today").text


def test_done_and_dismiss_close_the_task_and_go_back(cast, browser_of, database) -> None:
    ids = seed(cast, database)
    bob = browser_of(cast.bob)
    token = csrf_from(bob.get("/today").text)
    done = bob.post(
        f"/tasks/{ids['mine']}/done",
        data={"csrf_token": token, "next": "/today?section=tasks"},
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/today?section=tasks")
    again = bob.post(f"/tasks/{ids['mine']}/dismiss", data={"csrf_token": token})
    assert again.status_code == 409
    # A colleague's task, another tenant, nonsense ids and foreign redirects.
    assert bob.post(f"/tasks/{ids['theirs']}/done", data={"csrf_token": token}).status_code == 404
    assert bob.post("/tasks/99999999999999999999/done", data={"csrf_token": token}).status_code in (
        404,
        422,
    )
    oscar = browser_of(cast.oscar)
    oscar_token = csrf_from(oscar.get("/today").text)
    assert (
        oscar.post(f"/tasks/{ids['theirs']}/dismiss", data={"csrf_token": oscar_token}).status_code
        == 404
    )
    victor = browser_of(cast.victor)
    victor_token = csrf_from(victor.get("/today").text)
    assert (
        victor.post(f"/tasks/{ids['theirs']}/done", data={"csrf_token": victor_token}).status_code
        == 403
    )
    carol = browser_of(cast.carol)
    dismissed = carol.post(
        f"/tasks/{ids['theirs']}/dismiss",
        data={"csrf_token": csrf_from(carol.get("/today").text), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert dismissed.headers["location"] == f"/customers/{ids['li']}"  # never off-site
    with database.unit_of_work() as s:
        statuses = dict(s.execute(select(Task.id, Task.status)).all())
    assert statuses == {ids["mine"]: TaskStatus.DONE, ids["theirs"]: TaskStatus.DISMISSED}


def test_the_cadence_page_lists_defaults_and_owners_edit_them(cast, browser_of, database) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/settings/cadence").text
    assert "维温频率" in page and "每 60 天" in page and 'data-test="add-rule"' in page
    token = csrf_from(page)
    added = alice.post(
        "/settings/cadence",
        data={"csrf_token": token, "scope": "tag", "tag": "VIP", "max_gap_days": "14"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    for gap in ("0", "-1", "1000000000", "abc"):
        bad = alice.post(
            "/settings/cadence",
            data={"csrf_token": token, "scope": "tag", "tag": "老客", "max_gap_days": gap},
        )
        assert bad.status_code == 422 and 'data-test="error"' in bad.text
    duplicate = alice.post(
        "/settings/cadence",
        data={"csrf_token": token, "scope": "tag", "tag": "VIP", "max_gap_days": "7"},
    )
    assert duplicate.status_code == 409 and "已有针对该对象的规则" in duplicate.text
    with database.unit_of_work() as s:
        vip_id = s.scalar(select(CadenceRule.id).where(CadenceRule.value == "VIP"))
        default_id = s.scalar(select(CadenceRule.id).where(CadenceRule.scope == "default"))
    off = alice.post(
        f"/settings/cadence/{vip_id}",
        data={"csrf_token": token, "max_gap_days": "10"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    refused = alice.post(
        f"/settings/cadence/{default_id}", data={"csrf_token": token, "max_gap_days": "45"}
    )
    assert refused.status_code == 409
    assert (
        alice.post(f"/settings/cadence/{default_id}/delete", data={"csrf_token": token}).status_code
        == 409
    )
    with database.unit_of_work() as s:
        vip = s.get(CadenceRule, vip_id)
        assert (vip.max_gap_days, vip.active) == (10, False)
    removed = alice.post(
        f"/settings/cadence/{vip_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303


def test_others_read_the_cadence_rules_without_changing_them(cast, browser_of, database) -> None:
    browser_of(cast.alice).get("/settings/cadence")
    with database.unit_of_work() as s:
        rule_id = s.scalar(select(CadenceRule.id).where(CadenceRule.scope == "tag").limit(1))
        rule_id = rule_id or s.scalar(select(CadenceRule.id).limit(1))
    for who in (cast.maggie, cast.bob, cast.victor):
        person = browser_of(who)
        page = person.get("/settings/cadence")
        assert page.status_code == 200 and "每 60 天" in page.text
        assert 'data-test="add-rule"' not in page.text
        token = csrf_from(page.text)
        denied = person.post(
            "/settings/cadence",
            data={"csrf_token": token, "scope": "tag", "tag": "x", "max_gap_days": "5"},
        )
        assert denied.status_code == 403
        assert (
            person.post(
                f"/settings/cadence/{rule_id}", data={"csrf_token": token, "max_gap_days": "5"}
            ).status_code
            == 403
        )
        assert (
            person.post(
                f"/settings/cadence/{rule_id}/delete", data={"csrf_token": token}
            ).status_code
            == 403
        )
    oscar = browser_of(cast.oscar)
    token = csrf_from(oscar.get("/settings/cadence").text)
    assert (
        oscar.post(f"/settings/cadence/{rule_id}/delete", data={"csrf_token": token}).status_code
        == 404
    )

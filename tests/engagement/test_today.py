"""The Today list: sections, their order, birthdays, who sees what, bounded queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from laoke.engagement.models import TaskKind, TaskStatus
from laoke.engagement.today import Section, today_for
from laoke.errors import NotFound, PermissionDenied
from tests.engagement.today_helpers import (
    NOW,
    TODAY,
    contact,
    customer,
    days_ago,
    rule,
    task,
)


def names(result, section: Section) -> list[str]:
    return [item.customer_name for item in result.sections[section].items]


def test_overdue_customers_come_most_overdue_first_weighted_by_value(cast, session) -> None:
    org, bob = cast.acme.id, cast.bob.id
    rule(session, org, "default", "", 30)
    customer(session, org, bob, "两倍", last_contact_at=days_ago(60))  # 1.0 × 1
    customer(
        session, org, bob, "一点五倍高价值", tier="top", last_contact_at=days_ago(45)
    )  # 0.5 × 2
    customer(session, org, bob, "三倍", last_contact_at=days_ago(90))  # 2.0
    customer(session, org, bob, "两倍大客户", last_contact_at=days_ago(60), total_spent="9000")
    customer(session, org, bob, "还好", last_contact_at=days_ago(10))
    session.commit()
    result = today_for(session, cast.actor(cast.bob), now=NOW)
    assert names(result, Section.OVERDUE) == ["三倍", "两倍大客户", "两倍", "一点五倍高价值"]
    first = result.sections[Section.OVERDUE].items[0]
    assert (first.days_late, first.why_params) == (60, {"days": 90, "gap": 30})
    assert "90" in first.reason(lambda m: m) and result.sections[Section.OVERDUE].total == 4


def test_tasks_due_by_today_come_latest_first_with_their_reason(cast, session) -> None:
    org, bob = cast.acme.id, cast.bob.id
    wang = customer(session, org, bob, "王丽", tier="top")
    li = customer(session, org, bob, "李娜")
    task(
        session,
        org,
        li,
        bob,
        kind=TaskKind.REPURCHASE,
        due_on=TODAY - timedelta(days=3),
        title="面霜",
    )
    task(session, org, wang, bob, kind=TaskKind.CALLBACK, due_on=TODAY)
    task(session, org, li, bob, kind=TaskKind.CALLBACK, due_on=TODAY, title="另一个")
    task(session, org, wang, bob, kind=TaskKind.WIN_BACK, due_on=TODAY + timedelta(days=1))
    task(session, org, wang, bob, due_on=TODAY, title="已完成", status=TaskStatus.DONE)
    session.commit()
    page = today_for(session, cast.actor(cast.bob), now=NOW).sections[Section.TASKS]
    assert [(i.customer_name, i.task_kind, i.days_late) for i in page.items] == [
        ("李娜", TaskKind.REPURCHASE, 3),
        ("王丽", TaskKind.CALLBACK, 0),  # the top-tier customer before the other due today
        ("李娜", TaskKind.CALLBACK, 0),
    ]
    assert page.items[0].reason(lambda m: m) == "Time to buy again: 面霜 (3 days late)"


def test_promises_without_a_task_or_a_later_contact_are_listed(cast, session) -> None:
    org, bob = cast.acme.id, cast.bob.id
    wang = customer(session, org, bob, "王丽")
    li = customer(session, org, bob, "李娜")
    zhao = customer(session, org, bob, "赵敏")
    sun = customer(session, org, bob, "孙莉")
    contact(session, org, wang, bob, days_ago(3), next_step="送小样", next_step_on=TODAY)
    kept = contact(session, org, li, bob, days_ago(5), next_step="回电", next_step_on=TODAY)
    contact(session, org, li, bob, days_ago(1))  # contacted since: promise kept
    tasked = contact(session, org, zhao, bob, days_ago(3), next_step_on=TODAY)
    task(session, org, zhao, bob, kind=TaskKind.FOLLOW_UP, key=f"follow_up:contact:{tasked}")
    contact(
        session, org, sun, bob, days_ago(3), next_step="下周", next_step_on=TODAY + timedelta(1)
    )
    session.commit()
    page = today_for(session, cast.actor(cast.bob), now=NOW).sections[Section.PROMISES]
    assert [(i.customer_name, i.reason(lambda m: m)) for i in page.items] == [
        ("王丽", "Promised: 送小样")
    ]
    assert kept  # a later contact, not the task, took it off the list


@pytest.mark.parametrize(
    ("today", "birthdays", "expected"),
    [
        # Across the year end: 28 Dec → 3 Jan.
        (
            date(2026, 12, 28),
            {"元旦前": date(1990, 12, 30), "元旦后": date(1988, 1, 3), "太远": date(1990, 1, 4)},
            ["元旦前", "元旦后"],
        ),
        # 29 February is kept on 28 February in a common year...
        (
            date(2027, 2, 25),
            {"闰日": date(1992, 2, 29), "三月": date(1990, 3, 3)},
            ["闰日", "三月"],
        ),
        # ... and on its own day in a leap year, after 28 February.
        (
            date(2028, 2, 27),
            {"闰日": date(1992, 2, 29), "二十八": date(1990, 2, 28)},
            ["二十八", "闰日"],
        ),
        (date(2026, 12, 4), {"今天": date(1990, 12, 4), "昨天": date(1990, 12, 3)}, ["今天"]),
    ],
)
def test_birthdays_in_the_next_seven_local_days(cast, session, today, birthdays, expected) -> None:
    for name, birthday in birthdays.items():
        customer(session, cast.acme.id, cast.bob.id, name, birthday=birthday)
    session.commit()
    # 23:30 UTC is already the next day in Shanghai.
    now = datetime(today.year, today.month, today.day, 23, 30, tzinfo=UTC) - timedelta(days=1)
    result = today_for(session, cast.actor(cast.bob), now=now)
    assert names(result, Section.BIRTHDAYS) == expected


def seed_team(cast, session) -> dict[str, int]:
    org = cast.acme.id
    rule(session, org, "default", "", 30)
    ids = {
        "bob的": customer(session, org, cast.bob.id, "bob的", last_contact_at=days_ago(40)),
        "carol的": customer(session, org, cast.carol.id, "carol的", last_contact_at=days_ago(40)),
        "没人管": customer(session, org, None, "没人管", last_contact_at=days_ago(40)),
    }
    task(session, org, ids["carol的"], cast.carol.id)
    task(session, org, ids["carol的"], cast.bob.id, title="交给bob")  # bob can't see carol's
    other = customer(session, cast.globex.id, cast.oscar.id, "别家", last_contact_at=days_ago(90))
    task(session, cast.globex.id, other, cast.oscar.id)
    session.commit()
    return ids


def test_sales_see_their_own_managers_choose_anyone_or_the_team(cast, session) -> None:
    seed_team(cast, session)
    bob = today_for(session, cast.actor(cast.bob), now=NOW)
    assert names(bob, Section.OVERDUE) == ["bob的"] and names(bob, Section.TASKS) == []
    with pytest.raises(PermissionDenied):
        today_for(session, cast.actor(cast.bob), now=NOW, staff_id=cast.carol.id)
    with pytest.raises(PermissionDenied):
        today_for(session, cast.actor(cast.bob), now=NOW, team=True)
    maggie = cast.actor(cast.maggie)
    carol = today_for(session, maggie, now=NOW, staff_id=cast.carol.id)
    assert names(carol, Section.OVERDUE) == ["carol的"] and names(carol, Section.TASKS) == [
        "carol的"
    ]
    assert names(today_for(session, maggie, now=NOW), Section.OVERDUE) == []  # her own
    team = today_for(session, maggie, now=NOW, team=True)
    assert sorted(names(team, Section.OVERDUE)) == ["bob的", "carol的", "没人管"]
    counts = {row.staff_id: row.counts for row in team.team}
    assert counts[cast.carol.id][Section.TASKS] == 1 and counts[cast.bob.id][Section.TASKS] == 1
    assert counts[None][Section.OVERDUE] == 1 and counts[cast.carol.id][Section.OVERDUE] == 1
    viewer = today_for(session, cast.actor(cast.victor), now=NOW, team=True)
    assert len(names(viewer, Section.OVERDUE)) == 3


def test_another_tenant_sees_nothing_and_cannot_name_our_staff(cast, session) -> None:
    seed_team(cast, session)
    oscar = cast.actor(cast.oscar)
    mine = today_for(session, oscar, now=NOW, team=True)
    assert names(mine, Section.OVERDUE) == ["别家"] and len(mine.sections[Section.TASKS].items) == 1
    with pytest.raises(NotFound):
        today_for(session, oscar, now=NOW, staff_id=cast.bob.id)


def test_paging_through_one_section(cast, session) -> None:
    rule(session, cast.acme.id, "default", "", 30)
    for n in range(7):
        customer(session, cast.acme.id, cast.bob.id, f"客户{n}", last_contact_at=days_ago(31 + n))
    session.commit()
    actor = cast.actor(cast.bob)
    first = today_for(session, actor, now=NOW, per_page=3).sections[Section.OVERDUE]
    assert (first.total, first.has_more, len(first.items)) == (7, True, 3)
    last = today_for(session, actor, now=NOW, section=Section.OVERDUE, page=3, per_page=3)
    assert list(last.sections) == [Section.OVERDUE]
    assert names(last, Section.OVERDUE) == ["客户0"] and not last.sections[Section.OVERDUE].has_more


def count_queries(database, call) -> int:
    seen: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    return len(seen)


@pytest.mark.parametrize("team", [False, True])
def test_the_number_of_queries_does_not_grow_with_the_customers(cast, database, team) -> None:
    def load(session) -> None:
        actor = cast.actor(cast.maggie if team else cast.bob)
        today_for(session, actor, now=NOW, timezone="Asia/Shanghai", team=team)

    counts = []
    for batch in (3, 60):
        with database.unit_of_work() as s:
            for n in range(batch):
                cid = customer(
                    s,
                    cast.acme.id,
                    cast.bob.id,
                    f"c{n}",
                    tags=("VIP",),
                    last_contact_at=days_ago(90),
                    birthday=date(1990, 12, 5),
                )
                task(s, cast.acme.id, cid, cast.bob.id)
                contact(s, cast.acme.id, cid, cast.bob.id, days_ago(2), next_step_on=TODAY)
            s.commit()
        with database.unit_of_work(write=False) as s:
            counts.append(count_queries(database, lambda s=s: load(s)))
    # Rules, one per section, and for the team one grouped count per section plus names.
    assert counts[0] == counts[1] == (10 if team else 5)

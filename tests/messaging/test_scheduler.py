"""Scheduled jobs run once per tenant per period, whatever the number of workers; care
greetings are idempotent per customer per day."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from laoke.accounts.roles import Role
from laoke.db import Database
from laoke.messaging import care, scheduler
from laoke.messaging.models import Holiday, MessageStatus, OutboxMessage, RunStatus, ScheduledRun
from laoke.messaging.worker import Worker


def test_a_daily_job_waits_for_its_local_time() -> None:
    job = scheduler.Job("x", lambda *a: 0, daily_at="09:00")
    before = datetime(2026, 6, 15, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    after = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert job.period(before, "Asia/Shanghai") is None
    assert job.period(after, "Asia/Shanghai") == "2026-06-15"
    assert job.period(after, "America/Los_Angeles") == "2026-06-14"  # 18:00 the day before


def test_an_interval_job_has_one_period_per_slot() -> None:
    job = scheduler.Job("x", lambda *a: 0, every_minutes=15)
    t = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert job.period(t, "UTC") == job.period(t + timedelta(minutes=14), "UTC")
    assert job.period(t, "UTC") != job.period(t + timedelta(minutes=15), "UTC")


def test_two_workers_run_a_job_once_per_period(database: Database, settings, cast, clock) -> None:
    calls: list[tuple[int, str]] = []
    lock = threading.Lock()

    def job(db, org, now) -> int:
        with lock:
            calls.append((org.id, now.isoformat()))
        return 1

    jobs = {"count": scheduler.Job("count", job, every_minutes=60)}
    barrier = threading.Barrier(2)
    workers = [Worker(database, settings, name=f"w{n}", clock=clock, jobs=jobs) for n in range(2)]

    def run(worker: Worker) -> None:
        barrier.wait()
        worker.run_once()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(org for org, _ in calls) == sorted([cast.acme.id, cast.globex.id])
    workers[0].run_once()
    assert len(calls) == 2  # same period: nothing more
    clock.advance(hours=1)
    workers[1].run_once()
    assert len(calls) == 4
    for w in workers:
        w.close()


def test_a_failed_run_is_tried_again_later_up_to_three_times(
    database: Database, settings, cast, clock
) -> None:
    attempts = []

    def flaky(db, org, now):
        attempts.append(now)
        if len(attempts) < 2:
            raise RuntimeError("database hiccup")
        return 5

    jobs = {"flaky": scheduler.Job("flaky", flaky, daily_at="00:00")}
    worker = Worker(database, settings, name="w", clock=clock, jobs=jobs)
    worker.run_once()
    globex_first = list(worker.run_once().jobs)
    assert globex_first == []  # failed runs wait before a retry
    with database.unit_of_work(write=False) as s:
        statuses = set(s.scalars(select(ScheduledRun.status)))
    assert RunStatus.FAILED in statuses
    clock.advance(minutes=6)
    worker.run_once()
    with database.unit_of_work(write=False) as s:
        statuses = set(s.scalars(select(ScheduledRun.status)))
    assert statuses == {RunStatus.DONE}
    worker.close()


def test_birthday_greetings_go_once_a_day_to_consenting_customers(
    acme, sink, database, settings, clock
) -> None:
    acme.webhook_channel(sink.url)
    acme.template(
        "care.birthday",
        body="{{ customer_name }}生日快乐{% if coupon %}，送您{{ coupon }}{% endif %}",
    )
    from laoke.messaging import preferences

    with database.unit_of_work() as s:
        preferences.save(
            s,
            acme.system,
            quiet_enabled=True,
            quiet_start="21:00",
            quiet_end="08:00",
            birthday_coupon="满300减50",
        )
    clock.now = datetime(2026, 6, 15, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    today = date(1990, 6, 15)
    acme.customer("寿星", birthday=today)
    acme.customer("没同意", birthday=today, consent=False, phone="+8613700137000")
    acme.customer("明天", birthday=date(1991, 6, 16), phone="+8613600136000")
    worker = Worker(
        database,
        settings,
        name="w",
        clock=clock,
        jobs={"b": scheduler.Job("b", care.birthday_greetings, daily_at="09:00")},
    )
    worker.run_once()
    assert [r["body"] for r in sink.received] and len(sink.received) == 1
    assert "寿星生日快乐，送您满300减50" in sink.received[0]["body"].decode()
    # The job itself is idempotent too: running it again the same day adds nothing.
    from laoke.tenancy.models import Org
    from laoke.tenancy.service import OrgInfo

    with database.unit_of_work(write=False) as s:
        org = OrgInfo.of(s.get(Org, acme.org_id))
    assert care.birthday_greetings(database, org, clock()) == 0
    with database.unit_of_work(write=False) as s:
        keys = [m.idempotency_key for m in s.scalars(select(OutboxMessage))]
    assert len(keys) == 1 and keys[0].endswith(":2026-06-15")
    worker.close()


def test_leap_day_birthdays_are_greeted_on_the_28th_in_other_years(
    acme, sink, database, clock
) -> None:
    acme.webhook_channel(sink.url)
    acme.template("care.birthday", body="{{ customer_name }}")
    acme.customer("闰年", birthday=date(2000, 2, 29))
    from laoke.tenancy.models import Org
    from laoke.tenancy.service import OrgInfo

    with database.unit_of_work(write=False) as s:
        org = OrgInfo.of(s.get(Org, acme.org_id))
    assert care.birthday_greetings(database, org, datetime(2027, 2, 28, 2, 0, tzinfo=UTC)) == 1
    assert care.birthday_greetings(database, org, datetime(2028, 2, 28, 2, 0, tzinfo=UTC)) == 0
    assert care.birthday_greetings(database, org, datetime(2028, 2, 29, 2, 0, tzinfo=UTC)) == 1


def test_holiday_greetings_follow_the_tenant_calendar(acme, sink, database, clock) -> None:
    acme.webhook_channel(sink.url)
    template = acme.template("care.holiday", body="{{ customer_name }}，{{ holiday_name }}快乐")
    acme.customer("甲")
    acme.customer("乙", consent=False, phone="+8613700137000")
    with database.unit_of_work() as s:
        care.add_holiday(
            s, acme.system, on_date=date(2026, 9, 25), name="中秋节", template_id=template.id
        )
    from laoke.tenancy.models import Org
    from laoke.tenancy.service import OrgInfo

    with database.unit_of_work(write=False) as s:
        org = OrgInfo.of(s.get(Org, acme.org_id))
        assert s.scalar(select(Holiday.name)) == "中秋节"
    assert care.holiday_greetings(database, org, datetime(2026, 9, 24, 3, 0, tzinfo=UTC)) == 0
    assert care.holiday_greetings(database, org, datetime(2026, 9, 25, 3, 0, tzinfo=UTC)) == 1
    assert care.holiday_greetings(database, org, datetime(2026, 9, 25, 5, 0, tzinfo=UTC)) == 0


def test_a_staff_digest_job_mails_each_chosen_role_what_the_callable_returns(
    acme, database, cast, clock
) -> None:
    acme.channel("smtp", host="127.0.0.1", port="2525", security="none", from_address="s@acme.test")

    def build(session, org, user, today):
        return (
            care.Digest(f"{today} 今日待办", f"{user.name}：3 位客户待联系")
            if user.name != "Maggie"
            else None
        )

    job = care.staff_digest_job(
        "engage.today", build, daily_at="08:00", roles=(Role.OWNER, Role.MANAGER, Role.SALES)
    )
    from laoke.tenancy.models import Org
    from laoke.tenancy.service import OrgInfo

    with database.unit_of_work(write=False) as s:
        org = OrgInfo.of(s.get(Org, acme.org_id))
    assert job.run(database, org, clock()) == 3  # alice, bob, carol — not maggie, not the viewer
    assert job.run(database, org, clock()) == 0
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(
                OutboxMessage.recipient, OutboxMessage.is_marketing, OutboxMessage.status
            ).order_by(OutboxMessage.recipient)
        ).all()
    assert [r[0] for r in rows] == ["alice@acme.test", "bob@acme.test", "carol@acme.test"]
    assert all(r[1] is False and r[2] == MessageStatus.QUEUED for r in rows)

"""The demo tenant's contact log: a year of touches (about two per customer), promised
follow-ups as open tasks — some overdue, some due today, some later — and relationship
stages with their history. Written in bulk, deterministic from the demo's random source."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from laoke.accounts.roles import Role
from laoke.customers.models import Customer
from laoke.customers.stages import RelationshipStage
from laoke.db import utcnow
from laoke.engagement.contacts import follow_up_key, recount_contacts, tenant_today
from laoke.engagement.models import (
    Contact,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    CustomerFigures,
    StageChange,
    StageKind,
    Task,
    TaskKind,
    TaskStatus,
)

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

CONTACTS_PER_CUSTOMER = 2
OPEN_FOLLOW_UPS = 60
CHANNEL_WEIGHTS = {
    ContactChannel.WECHAT: 45,
    ContactChannel.PHONE: 25,
    ContactChannel.VISIT: 15,
    ContactChannel.SMS: 6,
    ContactChannel.EVENT: 4,
    ContactChannel.EMAIL: 2,
    ContactChannel.OTHER: 3,
}
OUTCOME_WEIGHTS = {
    ContactOutcome.REACHED: 45,
    ContactOutcome.POSITIVE: 25,
    ContactOutcome.NO_ANSWER: 15,
    ContactOutcome.PURCHASED: 10,
    ContactOutcome.NEGATIVE: 5,
}
NOTES = {
    ContactOutcome.REACHED: (
        "回访面霜使用感受，皮肤变好了，答应下周带闺蜜来",
        "问了上次护理后的感觉，说干燥缓解了不少",
        "提醒精华快用完了，她说月底再来补货",
        "聊了孩子开学的事，顺便约了下次护理时间",
        "她最近加班多，皮肤有点暗沉，推荐了补水疗程",
        "确认了会员积分，解释了兑换规则",
    ),
    ContactOutcome.POSITIVE: (
        "对新出的眼霜很感兴趣，想先拿小样试试",
        "夸前台服务好，愿意在朋友圈帮我们宣传",
        "说姐妹也想做同款项目，让我加她微信",
        "满意这次的肩颈护理，主动约了下个月",
        "收到生日礼很开心，拍照发了朋友圈",
    ),
    ContactOutcome.NO_ANSWER: (
        "电话没人接，晚点再打",
        "微信消息未回，可能在忙",
        "打了两次都没接通，改发短信",
    ),
    ContactOutcome.PURCHASED: (
        "到店买了两瓶爽肤水和一盒面膜",
        "续了一年的护理卡",
        "微信下单了防晒霜，已安排快递",
        "给妈妈买了一套抗皱礼盒",
    ),
    ContactOutcome.NEGATIVE: (
        "反映上次等位太久，已道歉并送了护理券",
        "觉得价格偏高，暂时不考虑续卡",
        "用了新精华有点泛红，建议先停用观察",
    ),
}
NEXT_STEPS = (
    "回访面霜使用感受",
    "约闺蜜一起到店体验",
    "寄试用小样",
    "提醒月底续卡",
    "确认护理时间",
    "生日前送祝福和礼券",
    "回访泛红情况",
    "邀请参加会员日活动",
)
# Relationship depth reached by the demo's customers, in order of closeness.
STAGE_WEIGHTS = {
    RelationshipStage.STRANGER: 25,
    RelationshipStage.ACQUAINTED: 30,
    RelationshipStage.CUSTOMER: 25,
    RelationshipStage.FRIEND: 15,
    RelationshipStage.CONFIDANT: 5,
}
STAGE_REASONS = (
    "第一次到店",
    "加了微信，常聊护肤",
    "办了护理卡",
    "一起参加了会员下午茶",
    "会把家里的事跟我说",
    None,
)


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _active_customers(session: Session, org_id: int) -> list[tuple[int, int | None, datetime]]:
    rows = session.execute(
        select(Customer.id, Customer.owner_id, Customer.created_at)
        .where(
            Customer.org_id == org_id,
            Customer.erased_at.is_(None),
            Customer.merged_into_id.is_(None),
        )
        .order_by(Customer.id)
    ).all()
    return [(customer_id, owner_id, created_at) for customer_id, owner_id, created_at in rows]


def seed_contacts(session: Session, ctx: DemoContext) -> None:
    rng = ctx.rng
    org_id = ctx.org.id
    sales = sorted(u.id for u in ctx.staff.values() if u.role == Role.SALES)
    customers = _active_customers(session, org_id)
    if not customers or not sales:
        return
    now = utcnow()
    contacts = _contact_rows(rng, org_id, customers, sales, now)
    session.execute(Contact.__table__.insert(), contacts)
    # Read the ids back by (customer, time): RETURNING over thousands of rows is slow here.
    ids = {
        (customer_id, occurred_at): contact_id
        for contact_id, customer_id, occurred_at in session.execute(
            select(Contact.id, Contact.customer_id, Contact.occurred_at).where(
                Contact.org_id == org_id
            )
        )
    }
    for row in contacts:
        row["id"] = ids[(row["customer_id"], row["occurred_at"])]
    today = tenant_today(session, org_id)
    _promise_follow_ups(session, rng, org_id, contacts, customers, today, now)
    _spread_relationship_stages(session, rng, org_id, customers, sales, now)
    touched = sorted({row["customer_id"] for row in contacts})
    existing = set(
        session.scalars(select(CustomerFigures.customer_id).where(CustomerFigures.org_id == org_id))
    )
    counts: dict[int, int] = defaultdict(int)
    last: dict[int, datetime] = {}
    for row in contacts:
        counts[row["customer_id"]] += 1
        last[row["customer_id"]] = max(
            last.get(row["customer_id"], row["occurred_at"]), row["occurred_at"]
        )
    fresh = [
        {
            "org_id": org_id,
            "customer_id": cid,
            "contact_count": counts[cid],
            "last_contact_at": last[cid],
        }
        for cid in touched
        if cid not in existing
    ]
    if fresh:
        session.execute(CustomerFigures.__table__.insert(), fresh)
    for cid in touched:
        if cid in existing:
            recount_contacts(session, org_id, cid)
    session.commit()


def _contact_rows(
    rng: random.Random,
    org_id: int,
    customers: list[tuple[int, int | None, datetime]],
    sales: list[int],
    now: datetime,
) -> list[dict[str, Any]]:
    total = CONTACTS_PER_CUSTOMER * len(customers)
    # Some customers are touched often, many a few times, some never: a long tail.
    weights = [rng.paretovariate(1.3) for _ in customers]
    picked = rng.choices(customers, weights=weights, k=total)
    rows = []
    for customer_id, owner_id, created_at in picked:
        earliest = max(created_at, now - timedelta(days=365))
        span = max((now - earliest).total_seconds(), 3600.0)
        occurred_at = earliest + timedelta(seconds=rng.uniform(0, span - 600))
        outcome = _pick(rng, OUTCOME_WEIGHTS)
        channel = _pick(rng, CHANNEL_WEIGHTS)
        direction = ContactDirection.INBOUND if rng.random() < 0.2 else ContactDirection.OUTBOUND
        staff_id = owner_id if owner_id and rng.random() < 0.85 else rng.choice(sales)
        notes = rng.choice(NOTES[outcome]) if rng.random() < 0.8 else None
        rows.append(
            {
                "org_id": org_id,
                "customer_id": customer_id,
                "staff_id": staff_id,
                "channel": channel,
                "direction": direction,
                "outcome": outcome,
                "occurred_at": occurred_at,
                "notes": notes,
                "next_step": None,
                "next_step_on": None,
                "created_at": occurred_at + timedelta(minutes=rng.randrange(1, 30)),
                "updated_at": occurred_at + timedelta(minutes=rng.randrange(1, 30)),
            }
        )
    rows.sort(key=lambda row: row["occurred_at"])
    return rows


def _promise_follow_ups(
    session: Session,
    rng: random.Random,
    org_id: int,
    contacts: list[dict[str, Any]],
    customers: list[tuple[int, int | None, datetime]],
    today: date,
    now: datetime,
) -> None:
    """Recent contacts promise a next step (open tasks); older ones kept theirs (done)."""
    owners = {customer_id: owner_id for customer_id, owner_id, _ in customers}
    latest: dict[int, dict[str, Any]] = {}
    for row in contacts:
        latest[row["customer_id"]] = row
    recent = [row for row in latest.values() if (now - row["occurred_at"]).days <= 30]
    rng.shuffle(recent)
    tasks = []
    for index, row in enumerate(recent[:OPEN_FOLLOW_UPS]):
        contact_day = (row["occurred_at"] + timedelta(hours=8)).date()
        if index % 3 == 0:  # overdue: promised for a day already gone
            due = min(today - timedelta(days=1), contact_day + timedelta(days=rng.randrange(1, 8)))
            due = max(due, contact_day)
        elif index % 3 == 1 and index % 2 == 1:
            due = today
        else:
            due = today + timedelta(days=rng.randrange(1, 30))
        tasks.append(_follow_up(rng, org_id, row, owners, due, TaskStatus.OPEN, None))
    promised = {row["id"] for row in recent[:OPEN_FOLLOW_UPS]}
    older = [
        row
        for row in contacts
        if row["id"] not in promised and (now - row["occurred_at"]).days > 30
    ]
    for row in rng.sample(older, k=min(len(older), len(contacts) // 25)):
        due = (row["occurred_at"] + timedelta(days=rng.randrange(2, 14))).date()
        closed_at = datetime.combine(due, row["occurred_at"].timetz()) + timedelta(hours=2)
        tasks.append(
            _follow_up(rng, org_id, row, owners, due, TaskStatus.DONE, min(closed_at, now))
        )
    if not tasks:
        return
    session.execute(Task.__table__.insert(), tasks)
    session.execute(
        update(Contact),
        [
            {"id": task["contact_id"], "next_step": task["title"], "next_step_on": task["due_on"]}
            for task in tasks
        ],
    )


def _follow_up(
    rng: random.Random,
    org_id: int,
    contact: dict[str, Any],
    owners: dict[int, int | None],
    due: date,
    status: TaskStatus,
    closed_at: datetime | None,
) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "customer_id": contact["customer_id"],
        "assignee_id": owners.get(contact["customer_id"]) or contact["staff_id"],
        "kind": TaskKind.FOLLOW_UP,
        "key": follow_up_key(contact["id"]),
        "title": rng.choice(NEXT_STEPS),
        "due_on": due,
        "status": status,
        "closed_at": closed_at,
        "contact_id": contact["id"],
        "created_at": contact["created_at"],
        "updated_at": closed_at or contact["created_at"],
    }


def _spread_relationship_stages(
    session: Session,
    rng: random.Random,
    org_id: int,
    customers: list[tuple[int, int | None, datetime]],
    sales: list[int],
    now: datetime,
) -> None:
    order = list(RelationshipStage)
    changes = []
    by_stage: dict[RelationshipStage, list[int]] = defaultdict(list)
    for customer_id, owner_id, created_at in customers:
        stage = _pick(rng, STAGE_WEIGHTS)
        by_stage[stage].append(customer_id)
        steps = [s for s in order[1 : order.index(stage) + 1] if s == stage or rng.random() < 0.6]
        start = max(created_at, now - timedelta(days=365))
        span = max((now - start).total_seconds() - 3600, 60.0)
        times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in steps)
        previous = RelationshipStage.STRANGER
        for step, at in zip(steps, times, strict=True):
            changes.append(
                {
                    "org_id": org_id,
                    "customer_id": customer_id,
                    "kind": StageKind.RELATIONSHIP,
                    "from_stage": previous,
                    "to_stage": step,
                    "at": at,
                    "changed_by_id": owner_id or rng.choice(sales),
                    "reason": rng.choice(STAGE_REASONS),
                }
            )
            previous = step
    if changes:
        session.execute(StageChange.__table__.insert(), changes)
    for stage, ids in by_stage.items():
        for start in range(0, len(ids), 500):
            session.execute(
                update(Customer)
                .where(Customer.org_id == org_id, Customer.id.in_(ids[start : start + 500]))
                .values(relationship_stage=stage)
                .execution_options(synchronize_session=False)
            )

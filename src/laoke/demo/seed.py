"""The demo tenant: a beauty salon with staff, ~2,000 customers and some history.

Each capability adds a step to `DEMO_STEPS`, so a new user always finds every
feature lived-in. Steps take (session, context) and may commit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from laoke.accounts import passwords
from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Role
from laoke.customers.erasure import erase_customer
from laoke.customers.merge import merge_customers
from laoke.customers.models import Customer, CustomerPhone, CustomerTag
from laoke.customers.phones import national_digits, normalize_phone
from laoke.customers.service import reveal_phones
from laoke.db import Database, utcnow
from laoke.demo.people import people
from laoke.engagement.contacts_demo import seed_contacts
from laoke.engagement.recompute import demo_step as seed_figures
from laoke.engagement.today_demo import seed_cadence_and_cycles
from laoke.group_deals.demo import demo_step as seed_group_deals
from laoke.imports.demo import seed_import
from laoke.insights.demo import seed_value_model
from laoke.messaging.demo import seed_messaging
from laoke.orders.demo import seed_orders
from laoke.referrals.demo import seed_referral_programs, seed_referrals
from laoke.rewards.demo import seed_reward_rules, seed_rewards
from laoke.tenancy.models import Org
from laoke.tenancy.service import create_org

DEMO_SLUG = "demo"
DEMO_PASSWORD = "laoke-demo"
DEMO_STAFF = (
    ("owner@demo.laoke.local", "王丽", Role.OWNER),
    ("admin@demo.laoke.local", "赵敏", Role.ADMIN),
    ("manager@demo.laoke.local", "陈静", Role.MANAGER),
    ("li.na@demo.laoke.local", "李娜", Role.SALES),
    ("zhang.wei@demo.laoke.local", "张伟", Role.SALES),
    ("liu.yang@demo.laoke.local", "刘洋", Role.SALES),
    ("sun.li@demo.laoke.local", "孙莉", Role.SALES),
    ("viewer@demo.laoke.local", "周审计", Role.VIEWER),
)


@dataclass
class DemoContext:
    org: Org
    rng: random.Random
    customers: int
    staff: dict[str, User] = field(default_factory=dict)

    def actor(self, email: str) -> Actor:
        user = self.staff[email]
        return Actor(user.id, user.org_id, Role(user.role), name=user.name)


def seed_staff(session: Session, ctx: DemoContext) -> None:
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    manager = None
    for email, name, role in DEMO_STAFF:
        user = User(
            org_id=ctx.org.id, email=email, name=name, role=role, password_hash=password_hash
        )
        if role is Role.SALES and manager is not None:
            user.team_lead_id = manager.id
        session.add(user)
        session.flush()
        if role is Role.MANAGER:
            manager = user
        ctx.staff[email] = user
    session.commit()


def seed_customers(session: Session, ctx: DemoContext) -> None:
    sales = [u for u in ctx.staff.values() if u.role == Role.SALES]
    now = utcnow()
    for index, person in enumerate(people(ctx.rng, ctx.customers)):
        created = now - timedelta(days=ctx.rng.randrange(2, 900), minutes=ctx.rng.randrange(1440))
        customer = Customer(
            org_id=ctx.org.id,
            name=person.name,
            nickname=person.nickname,
            wechat_id=person.wechat_id,
            email=person.email,
            address=person.address,
            birthday=person.birthday,
            gender=person.gender,
            source_channel=person.source_channel,
            needs=person.needs,
            purchasing_power=person.purchasing_power,
            social_circle=person.social_circle,
            owner_id=sales[index % len(sales)].id if ctx.rng.random() < 0.93 else None,
            marketing_consent=person.marketing_consent,
            consent_source=ctx.rng.choice(("form", "staff", "wechat"))
            if person.marketing_consent
            else None,
            consent_at=created if person.marketing_consent else None,
            custom_attributes=person.custom_attributes,
            created_at=created,
            updated_at=created,
        )
        for position, raw in enumerate(person.phones):
            phone = normalize_phone(raw)
            customer.phones.append(
                CustomerPhone(
                    org_id=ctx.org.id,
                    e164=phone.e164,
                    national=national_digits(phone.e164),
                    kind=phone.kind,
                    is_primary=position == 0,
                )
            )
        customer.tag_rows.extend(CustomerTag(org_id=ctx.org.id, tag=tag) for tag in person.tags)
        session.add(customer)
        if index % 500 == 499:
            session.flush()
    session.commit()


def seed_history(session: Session, ctx: DemoContext) -> None:
    """A duplicate merged by hand, a reveal, an erasure: the audit log has a story."""
    owner = ctx.actor("owner@demo.laoke.local")
    manager = ctx.actor("manager@demo.laoke.local")
    first, second, third = session.scalars(
        select(Customer).where(Customer.org_id == ctx.org.id).order_by(Customer.id).limit(3)
    ).all()
    duplicate = Customer(
        org_id=ctx.org.id,
        name=first.name,
        owner_id=first.owner_id,
        wechat_id=first.wechat_id or "wx_dup_demo",
        needs="（微信导入的重复记录）",
        source_channel="微信",
    )
    session.add(duplicate)
    session.commit()
    merge_customers(session, manager, first.id, duplicate.id)
    reveal_phones(session, manager, second.id)
    erase_customer(session, owner, third.id, reason="顾客要求删除个人信息")


def refresh_statistics(session: Session, ctx: DemoContext) -> None:
    """PostgreSQL plans the later steps' queries from table statistics, which a bulk load
    inside one transaction leaves empty (the product-cycle query then runs 200 times
    slower); ANALYZE counts the rows this transaction inserted."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))


DemoStep = Callable[[Session, DemoContext], None]
DEMO_STEPS: list[DemoStep] = [
    seed_staff,
    seed_customers,
    seed_history,
    seed_import,
    seed_messaging,
    seed_orders,
    seed_contacts,
    seed_referral_programs,
    seed_reward_rules,  # before the referrals, so friends' first orders earn rewards
    seed_referrals,  # referred friends who bought become customers with orders
    seed_rewards,  # every reward state, a ladder climbed to agent, commission, payouts
    seed_group_deals,  # groups gathering, completed (the leader's order paid back), expired
    refresh_statistics,
    seed_figures,  # after every step that adds orders or contacts, before what reads them
    seed_value_model,
    seed_cadence_and_cycles,
]


def demo_exists(database: Database) -> bool:
    with database.unit_of_work(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(Org).where(Org.slug == DEMO_SLUG)) or 0
        ) > 0


def seed_demo(database: Database, *, customers: int = 2000, seed: int = 20261125) -> Org:
    with database.unit_of_work() as session:
        org = create_org(session, slug=DEMO_SLUG, name="老客美容会所（演示）")
        ctx = DemoContext(org=org, rng=random.Random(seed), customers=customers)
        for step in DEMO_STEPS:
            step(session, ctx)
        return org

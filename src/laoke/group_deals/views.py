"""Shaping groups for readers: the API's schemas and the pages' rows, with masked phones,
effective status, progress and the share link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.customers.phones import mask_phone
from laoke.db import utcnow
from laoke.group_deals import groups
from laoke.group_deals.models import Group, GroupMember, GroupOffer, GroupStatus
from laoke.group_deals.schemas import GroupPublic, MemberPublic


def share_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/g/{token}"


def mask_name(name: str) -> str:
    """王小美 → 王**; Lily Chen → L***: enough for a friend to recognise, no more."""
    text = (name or "").strip()
    if not text:
        return "*"
    return text[0] + "*" * min(max(len(text) - 1, 1), 3)


@dataclass(frozen=True, slots=True)
class MemberRow:
    member: GroupMember
    name: str
    phone_masked: str | None


@dataclass(frozen=True, slots=True)
class GroupView:
    group: Group
    offer: GroupOffer
    status: GroupStatus
    leader_name: str
    members: list[MemberRow]
    joined: int
    qualified: int
    time_left: timedelta | None

    @property
    def size(self) -> int:
        return self.offer.group_size

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.qualified / self.size)) if self.size else 0


def group_view(session: Session, group: Group, now: datetime | None = None) -> GroupView:
    now = now or utcnow()
    offer = session.get(GroupOffer, group.offer_id)
    assert offer is not None
    members = groups.members_of(session, group)
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_([m.customer_id for m in members]))
        )
    }
    rows = []
    for member in members:
        customer = customers.get(member.customer_id)
        phone = customer.primary_phone if customer else None
        rows.append(
            MemberRow(
                member, customer.name if customer else "", mask_phone(phone) if phone else None
            )
        )
    leader = next((r.name for r in rows if r.member.is_leader), "")
    return GroupView(
        group=group,
        offer=offer,
        status=groups.effective_status(group, now),
        leader_name=leader,
        members=rows,
        joined=len(rows),
        qualified=sum(1 for r in rows if r.member.qualified_at is not None),
        time_left=groups.time_left(group, now),
    )


def group_public(view: GroupView, base_url: str) -> GroupPublic:
    group = view.group
    return GroupPublic(
        id=group.id,
        offer_id=group.offer_id,
        offer_name=view.offer.name,
        token=group.token,
        link=share_link(base_url, group.token),
        leader_customer_id=group.leader_customer_id,
        status=view.status,
        group_size=view.size,
        joined=view.joined,
        qualified=view.qualified,
        opened_at=group.opened_at,
        deadline=group.deadline,
        closed_at=group.closed_at,
        cancel_reason=group.cancel_reason,
        members=[
            MemberPublic(
                customer_id=row.member.customer_id,
                name=row.name,
                phone_masked=row.phone_masked,
                is_leader=row.member.is_leader,
                source=row.member.source,
                joined_at=row.member.joined_at,
                qualified=row.member.qualified_at is not None,
                qualified_at=row.member.qualified_at,
                qualifying_order_id=row.member.qualifying_order_id,
                reward_id=row.member.reward_id,
            )
            for row in view.members
        ],
    )


def leader_names(session: Session, rows: list[Group]) -> dict[int, str]:
    ids = {g.leader_customer_id for g in rows}
    if not ids:
        return {}
    return dict(
        session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()
    )


def split_time(left: timedelta | None) -> dict[str, int] | None:
    """Days, hours and minutes left, for the countdown text."""
    if left is None:
        return None
    minutes = max(0, int(left.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return {"days": days, "hours": hours, "minutes": minutes}

"""Groups: opening one for a customer, joining by link or by staff, leaving, cancelling and
expiring, and who may see which group.

A group's row is its lock: whatever changes a group's membership or status first locks the
row (`FOR UPDATE` on PostgreSQL; SQLite write sessions are serialised already) and then
re-reads it, so two joins or two qualifying purchases cannot both take the last place or
complete the group twice. Code that also posts to the reward ledger takes the ledger lock
first and the group lock second, always in that order.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.schemas import CustomerCreate
from laoke.customers.service import create_customer, get_customer_for
from laoke.db import Database, utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.group_deals.models import (
    Group,
    GroupMember,
    GroupOffer,
    GroupStatus,
    JoinSource,
    OfferStatus,
)
from laoke.group_deals.offers import get_offer
from laoke.referrals.attribution import clean_referee
from laoke.tenancy.service import OrgInfo

TOKEN_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
TOKEN_LENGTH = 12
SOURCE_CHANNEL = "group deal"


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def clean_token(raw: str) -> str | None:
    text = (raw or "").strip().lower()
    if len(text) != TOKEN_LENGTH or any(ch not in TOKEN_ALPHABET for ch in text):
        return None
    return text


def effective_status(group: Group, now: datetime | None = None) -> GroupStatus:
    """What every reader shows: an open group past its deadline is expired, even before
    the scheduled job has written so."""
    now = now or utcnow()
    if group.status == GroupStatus.OPEN and group.deadline <= now:
        return GroupStatus.EXPIRED
    return GroupStatus(group.status)


def time_left(group: Group, now: datetime | None = None) -> timedelta | None:
    if effective_status(group, now) != GroupStatus.OPEN:
        return None
    return group.deadline - (now or utcnow())


# --- locking and closing ------------------------------------------------------------------


def lock_group(session: Session, group_id: int) -> Group:
    """The group, locked for the rest of the transaction and re-read from the database."""
    query = select(Group).where(Group.id == group_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    group = session.scalar(query.execution_options(populate_existing=True))
    if group is None:
        raise NotFound(N_("No such group."), code="group_not_found")
    return group


def close(session: Session, group: Group, status: GroupStatus, now: datetime) -> None:
    """End the group; its members become free to join another group of the offer."""
    group.status = status
    group.closed_at = now
    group.updated_at = now
    session.execute(
        update(GroupMember)
        .where(GroupMember.org_id == group.org_id, GroupMember.group_id == group.id)
        .values(open_offer_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()


def expire_if_due(session: Session, group: Group, now: datetime | None = None) -> bool:
    """Expire a locked open group whose deadline passed; True if it did."""
    now = now or utcnow()
    if group.status == GroupStatus.OPEN and group.deadline <= now:
        close(session, group, GroupStatus.EXPIRED, group.deadline)
        return True
    return False


def expire_due(session: Session, org_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    due = session.scalars(
        select(Group.id).where(
            Group.org_id == org_id, Group.status == GroupStatus.OPEN, Group.deadline <= now
        )
    ).all()
    return sum(expire_if_due(session, lock_group(session, group_id), now) for group_id in due)


def expire_job(database: Database, org: OrgInfo, now: datetime) -> int:
    """Scheduled every 15 minutes: close the tenant's groups whose deadline passed."""
    with database.unit_of_work() as session:
        count = expire_due(session, org.id, now)
        session.commit()
    return count


# --- who sees what ------------------------------------------------------------------------


def visible_groups(actor: Actor) -> Select[tuple[Group]]:
    """Groups of this tenant; a salesperson sees the groups their own customers lead."""
    query = select(Group).where(Group.org_id == actor.org_id)
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        query = query.join(Customer, Customer.id == Group.leader_customer_id).where(
            Customer.owner_id == actor.user_id
        )
    return query


def get_group_for(session: Session, actor: Actor, group_id: int) -> Group:
    group = session.scalar(visible_groups(actor).where(Group.id == group_id))
    if group is None:
        raise NotFound(N_("No such group."), code="group_not_found")
    return group


def list_groups(
    session: Session,
    actor: Actor,
    *,
    status: GroupStatus | None = None,
    offer_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 200,
) -> tuple[list[Group], int]:
    now = utcnow()
    query = visible_groups(actor)
    if offer_id is not None:
        query = query.where(Group.offer_id == offer_id)
    if customer_id is not None:
        member_of = select(GroupMember.group_id).where(
            GroupMember.org_id == actor.org_id, GroupMember.customer_id == customer_id
        )
        query = query.where(Group.id.in_(member_of))
    if status == GroupStatus.OPEN:
        query = query.where(Group.status == GroupStatus.OPEN, Group.deadline > now)
    elif status == GroupStatus.EXPIRED:
        query = query.where(
            or_(
                Group.status == GroupStatus.EXPIRED,
                (Group.status == GroupStatus.OPEN) & (Group.deadline <= now),
            )
        )
    elif status is not None:
        query = query.where(Group.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Group.id.desc()).limit(limit))
    return list(rows), total


def members_of(session: Session, group: Group) -> list[GroupMember]:
    return list(
        session.scalars(
            select(GroupMember)
            .where(GroupMember.org_id == group.org_id, GroupMember.group_id == group.id)
            .order_by(GroupMember.is_leader.desc(), GroupMember.joined_at, GroupMember.id)
        )
    )


def qualified_count(session: Session, group: Group) -> int:
    return (
        session.scalar(
            select(func.count(GroupMember.id)).where(
                GroupMember.org_id == group.org_id,
                GroupMember.group_id == group.id,
                GroupMember.qualified_at.is_not(None),
            )
        )
        or 0
    )


# --- opening and joining ------------------------------------------------------------------


class AlreadyInGroup(Conflict):
    code = "already_in_open_group"
    default_message = N_("This person is already in an open group of this offer.")


def _insert_member(session: Session, member: GroupMember) -> None:
    taken = session.scalar(
        select(GroupMember.id).where(
            GroupMember.org_id == member.org_id,
            GroupMember.open_offer_id == member.open_offer_id,
            GroupMember.customer_id == member.customer_id,
        )
    )
    if taken is not None:
        raise AlreadyInGroup()
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        # Another join of the same person won the race between our check and our insert.
        raise AlreadyInGroup() from None


def open_group(
    session: Session,
    actor: Actor,
    offer_id: int,
    leader_customer_id: int,
    *,
    now: datetime | None = None,
) -> Group:
    """Open a group with the customer as its leader; the share link works at once."""
    actor.require(Permission.EDIT_CUSTOMERS)
    offer = get_offer(session, actor, offer_id)
    if offer.status != OfferStatus.ACTIVE:
        raise Conflict(N_("This offer is not running."), code="group_offer_not_active")
    leader = get_customer_for(session, actor, leader_customer_id, edit=True)
    if not leader.is_active:
        raise Conflict(N_("This customer can no longer change."), code="customer_inactive")
    now = now or utcnow()
    group = Group(
        org_id=actor.org_id,
        offer_id=offer.id,
        token=new_token(),
        leader_customer_id=leader.id,
        status=GroupStatus.OPEN,
        opened_at=now,
        deadline=now + timedelta(hours=offer.open_hours),
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(group)
    session.flush()
    _insert_member(
        session,
        GroupMember(
            org_id=actor.org_id,
            group_id=group.id,
            customer_id=leader.id,
            open_offer_id=offer.id,
            is_leader=True,
            source=JoinSource.LEADER,
            consent=True,
            joined_at=now,
            added_by_id=actor.user_id,
        ),
    )
    return group


def _check_joinable(session: Session, group: Group, offer: GroupOffer) -> None:
    if group.status != GroupStatus.OPEN:
        raise Conflict(N_("This group is closed."), code="group_closed")
    joined = session.scalar(
        select(func.count(GroupMember.id)).where(
            GroupMember.org_id == group.org_id, GroupMember.group_id == group.id
        )
    )
    if (joined or 0) >= offer.group_size:
        raise Conflict(N_("This group is full."), code="group_full")


def _active_owner(session: Session, org_id: int, user_id: int | None) -> int | None:
    user = session.get(User, user_id) if user_id else None
    return user.id if user is not None and user.org_id == org_id and user.is_active else None


def _follow_merges(session: Session, customer: Customer) -> Customer:
    for _ in range(10):
        if customer.merged_into_id is None:
            break
        kept = session.get(Customer, customer.merged_into_id)
        if kept is None:
            break
        customer = kept
    return customer


def person(
    session: Session,
    creator: Actor,
    name: str,
    phone: str,
    *,
    owner_id: int | None,
) -> Customer:
    """The customer with this phone (E.164), or a new one created through the customer
    service with the "group deal" source channel. Note: creating commits."""
    referee = clean_referee(name, phone, None, True)
    found = session.scalar(
        select(Customer)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(CustomerPhone.org_id == creator.org_id, CustomerPhone.e164 == referee.phone)
    )
    if found is not None:
        found = _follow_merges(session, found)
        if not found.is_active:
            raise Conflict(N_("This customer can no longer change."), code="customer_inactive")
        return found
    fields: dict[str, object] = {
        "name": referee.name,
        "phones": [referee.phone],
        "source_channel": SOURCE_CHANNEL,
    }
    owner = _active_owner(session, creator.org_id, owner_id)
    if owner is not None:
        fields["owner_id"] = owner
    return create_customer(session, creator, CustomerCreate.model_validate(fields))


def join_customer(
    session: Session,
    group_id: int,
    customer: Customer,
    *,
    source: JoinSource,
    consent: bool,
    added_by_id: int | None,
    now: datetime | None = None,
) -> GroupMember:
    now = now or utcnow()
    group = lock_group(session, group_id)
    if expire_if_due(session, group, now):
        raise Conflict(N_("This group is closed."), code="group_closed")
    offer = session.get(GroupOffer, group.offer_id)
    assert offer is not None
    _check_joinable(session, group, offer)
    already = session.scalar(
        select(GroupMember.id).where(
            GroupMember.group_id == group.id, GroupMember.customer_id == customer.id
        )
    )
    if already is not None:
        raise Conflict(N_("This person has already joined this group."), code="already_joined")
    member = GroupMember(
        org_id=group.org_id,
        group_id=group.id,
        customer_id=customer.id,
        open_offer_id=group.offer_id,
        is_leader=False,
        source=source,
        consent=consent,
        joined_at=now,
        added_by_id=added_by_id,
    )
    _insert_member(session, member)
    return member


def _precheck(session: Session, group: Group) -> None:
    """Refuse a closed or full group before creating anyone."""
    if effective_status(group) != GroupStatus.OPEN:
        raise Conflict(N_("This group is closed."), code="group_closed")
    offer = session.get(GroupOffer, group.offer_id)
    assert offer is not None
    _check_joinable(session, group, offer)


def join_by_link(
    session: Session, group: Group, name: str, phone: str, *, consent: bool
) -> GroupMember:
    """A friend joins from the public page: matched by phone or created as a customer."""
    if not consent:
        raise Invalid(
            N_("Please agree to be contacted, so that we can reach you."), field="consent"
        )
    _precheck(session, group)
    group_id, org_id = group.id, group.org_id
    leader = session.get(Customer, group.leader_customer_id)
    customer = person(
        session,
        Actor.system(org_id),
        name,
        phone,
        owner_id=leader.owner_id if leader else None,
    )
    return join_customer(
        session, group_id, customer, source=JoinSource.LINK, consent=True, added_by_id=None
    )


def add_member(
    session: Session,
    actor: Actor,
    group_id: int,
    *,
    customer_id: int | None = None,
    name: str | None = None,
    phone: str | None = None,
    consent: bool = False,
    source: JoinSource = JoinSource.STAFF,
) -> GroupMember:
    """Staff add someone: a customer they may edit, or a person by name and phone."""
    actor.require(Permission.EDIT_CUSTOMERS)
    group = get_group_for(session, actor, group_id)
    if customer_id is not None:
        customer = get_customer_for(session, actor, customer_id, edit=True)
        if not customer.is_active:
            raise Conflict(N_("This customer can no longer change."), code="customer_inactive")
    elif phone:
        _precheck(session, group)
        customer = person(session, actor, name or "", phone, owner_id=None)
    else:
        raise Invalid(N_("Choose a customer or give a name and phone."), field="phone")
    return join_customer(
        session,
        group_id,
        customer,
        source=source,
        consent=consent or customer_id is not None,
        added_by_id=actor.user_id,
    )


def remove_member(session: Session, actor: Actor, group_id: int, customer_id: int) -> None:
    """Take out a member who has not qualified (the leader stays), making room for another."""
    actor.require(Permission.EDIT_CUSTOMERS)
    get_group_for(session, actor, group_id)
    group = lock_group(session, group_id)
    if expire_if_due(session, group) or group.status != GroupStatus.OPEN:
        raise Conflict(N_("This group is closed."), code="group_closed")
    member = session.scalar(
        select(GroupMember).where(
            GroupMember.group_id == group.id, GroupMember.customer_id == customer_id
        )
    )
    if member is None:
        raise NotFound(N_("No such member."), code="member_not_found")
    if member.is_leader or member.qualified_at is not None:
        raise Conflict(
            N_("The leader and qualified members stay in the group."), code="member_stays"
        )
    session.delete(member)
    session.flush()


def cancel_group(session: Session, actor: Actor, group_id: int, reason: str) -> Group:
    actor.require(Permission.EDIT_CUSTOMERS)
    reason = " ".join("".join(ch for ch in (reason or "") if ch.isprintable()).split())[:200]
    if not reason:
        raise Invalid(N_("Say why the group is cancelled."), field="reason")
    get_group_for(session, actor, group_id)
    group = lock_group(session, group_id)
    now = utcnow()
    if expire_if_due(session, group, now) or group.status != GroupStatus.OPEN:
        raise Conflict(N_("Only an open group can be cancelled."), code="group_not_open")
    group.cancel_reason = reason
    group.cancelled_by_id = actor.user_id
    close(session, group, GroupStatus.CANCELLED, now)
    return group


def resolve(session: Session, token: str) -> Group | None:
    """The group behind a public link, or None (a malformed token never reaches the DB)."""
    clean = clean_token(token)
    if clean is None:
        return None
    return session.scalar(select(Group).where(Group.token == clean))

"""Merging two records of the same person into one.

Every row in any table that points at the retired customer is re-pointed to the kept
one, found from the schema's foreign keys, so later domains (orders, contacts, leads)
need no merge code of their own. Rows that would collide with a unique constraint
(the same tag on both) are dropped from the retired side first. A domain whose rows
must not be rewritten (an append-only ledger) registers a hook and marks its columns
with `info={"on_customer_merge": "skip"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Table, UniqueConstraint, and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for, visible_customers
from laoke.db import Base, utcnow
from laoke.errors import N_, Conflict
from laoke.events.bus import emit

MergeHook = Callable[[Session, int, int, int], None]
"""Called as hook(session, org_id, retired_id, kept_id) inside the merge transaction."""

MERGE_HOOKS: list[MergeHook] = []

FILLABLE_FIELDS = (
    "nickname",
    "wechat_id",
    "email",
    "address",
    "birthday",
    "source_channel",
    "needs",
    "purchasing_power",
    "social_circle",
    "owner_id",
    "external_id",
)
PII_FIELDS = (
    "nickname",
    "wechat_id",
    "email",
    "address",
    "birthday",
    "needs",
    "social_circle",
    "external_id",
)


@dataclass(frozen=True)
class MergeOutcome:
    kept: Customer
    retired_id: int
    moved: dict[str, int]
    filled_fields: list[str]


def customer_references() -> list[tuple[Table, Column]]:
    """(table, column) for every foreign key to customers.id, except the merge pointer."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.info.get("on_customer_merge") == "skip":
                continue
            if table.name == "customers" and column.name == "merged_into_id":
                continue
            if any(
                fk.column.table.name == "customers" and fk.column.name == "id"
                for fk in column.foreign_keys
            ):
                found.append((table, column))
    return found


def _repoint(
    session: Session, table: Table, column: Column, org_id: int, retired: int, kept: int
) -> int:
    # Drop retired-side rows that would duplicate a kept-side row under a unique constraint.
    for constraint in table.constraints:
        if not isinstance(constraint, UniqueConstraint) or column.name not in constraint.columns:
            continue
        others = [c for c in constraint.columns if c.name != column.name]
        twin = table.alias("twin")
        clash = exists().where(
            twin.c[column.name] == kept, *[twin.c[c.name] == table.c[c.name] for c in others]
        )
        session.execute(delete(table).where(and_(column == retired, clash)))
    scope = [column == retired]
    if "org_id" in table.c:
        scope.append(table.c.org_id == org_id)
    return session.execute(update(table).where(*scope).values({column.name: kept})).rowcount or 0


def merge_customers(
    session: Session, actor: Actor, kept_id: int, retired_id: int, *, source: str = "manual"
) -> MergeOutcome:
    """Fold `retired_id` into `kept_id`: fill the kept profile's gaps, move every record."""
    actor.require(Permission.MERGE_CUSTOMERS)
    kept = get_customer_for(session, actor, kept_id, edit=True)
    retired = get_customer_for(session, actor, retired_id, edit=True)
    if kept.id == retired.id:
        raise Conflict(N_("A customer cannot be merged with itself."), code="merge_same_customer")
    filled = fill_gaps(kept, retired)
    if not kept.marketing_consent and retired.marketing_consent:
        kept.marketing_consent = True
        kept.consent_source, kept.consent_at = retired.consent_source, retired.consent_at
        filled.append("marketing_consent")
    retired_id = retired.id
    # The retired row keeps no personal data: it is only a forwarding pointer now.
    for name in PII_FIELDS:
        setattr(retired, name, None)
    retired.custom_attributes = {}
    retired.merged_into_id = kept.id
    retired.updated_at = kept.updated_at = utcnow()
    session.flush()
    moved: dict[str, int] = {}
    for table, column in customer_references():
        count = _repoint(session, table, column, actor.org_id, retired_id, kept.id)
        if count:
            moved[f"{table.name}.{column.name}"] = count
    for hook in MERGE_HOOKS:
        hook(session, actor.org_id, retired_id, kept.id)
    session.expire(kept)
    emit(
        session,
        actor.org_id,
        "customer.merged",
        subject_type="customer",
        subject_id=kept.id,
        payload={"customer_id": kept.id, "merged_id": retired_id},
    )
    record(
        session,
        actor,
        AuditAction.MERGED,
        target_type="customer",
        target_id=kept.id,
        details={
            "merged_id": retired_id,
            "moved": moved,
            "filled_fields": filled,
            "source": source,
        },
    )
    session.commit()
    kept = session.scalars(select(Customer).where(Customer.id == kept.id)).one()
    return MergeOutcome(kept=kept, retired_id=retired_id, moved=moved, filled_fields=filled)


def fill_gaps(kept: Customer, other: Customer) -> list[str]:
    """Copy fields the kept profile lacks from the other; custom attributes union (kept wins)."""
    filled = []
    for name in FILLABLE_FIELDS:
        if getattr(kept, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(kept, name, getattr(other, name))
            filled.append(name)
    if kept.gender == "unknown" and other.gender != "unknown":
        kept.gender = other.gender
        filled.append("gender")
    extra = {
        k: v
        for k, v in (other.custom_attributes or {}).items()
        if k not in (kept.custom_attributes or {})
    }
    if extra:
        kept.custom_attributes = {**(kept.custom_attributes or {}), **extra}
        filled.append("custom_attributes")
    return filled


def merge_candidates(
    session: Session, actor: Actor, customer_id: int, limit: int = 10
) -> list[Customer]:
    """Other customers sharing this one's name, WeChat id or email: likely the same person."""
    customer = get_customer_for(session, actor, customer_id)
    conditions = [Customer.name == customer.name]
    if customer.wechat_id:
        conditions.append(Customer.wechat_id == customer.wechat_id)
    if customer.email:
        conditions.append(Customer.email == customer.email)
    query = (
        visible_customers(actor)
        .where(Customer.id != customer.id, Customer.erased_at.is_(None), or_(*conditions))
        .limit(limit)
    )
    return list(session.scalars(query))

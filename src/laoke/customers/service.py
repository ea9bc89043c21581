"""Customer rules: who sees which customer, creating, editing, searching, revealing PII."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.customers.models import Customer, CustomerPhone, CustomerTag, Gender
from laoke.customers.phones import (
    Phone,
    digits_fragment,
    mask_phone,
    national_digits,
    normalize_phone,
)
from laoke.customers.schemas import CustomerCreate, CustomerFields, CustomerUpdate
from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.engagement.models import ACTIVITY_BANDS, Activity, CustomerFigures, ValueTier
from laoke.errors import N_, Conflict, Invalid, NotFound, PermissionDenied
from laoke.events.bus import emit

MAX_TAG_LENGTH = 50
CONSENT_SOURCES = ("staff", "form", "api", "import", "landing_page", "wechat", "other")


class DuplicatePhone(Conflict):
    code = "duplicate_phone"
    default_message = N_("Another customer already has the phone number %(phone)s.")

    def __init__(self, e164: str, existing_id: int) -> None:
        super().__init__(phone=mask_phone(e164))
        self.e164 = e164
        self.existing_id = existing_id


# --- visibility: the one gate ------------------------------------------------------------


def visible_customers(actor: Actor) -> Select[tuple[Customer]]:
    """Customers this actor may see: own tenant, not merged away; sales see their own only."""
    query = select(Customer).where(
        Customer.org_id == actor.org_id, Customer.merged_into_id.is_(None)
    )
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        query = query.where(Customer.owner_id == actor.user_id)
    return query


def get_customer_for(
    session: Session, actor: Actor, customer_id: int, *, edit: bool = False
) -> Customer:
    """The customer if this actor may see it (following merges), else NotFound."""
    if edit:
        actor.require(Permission.EDIT_CUSTOMERS)
    customer = session.get(Customer, customer_id)
    for _ in range(10):  # merge chains are short; bound the walk anyway
        if customer is None or customer.merged_into_id is None:
            break
        customer = session.get(Customer, customer.merged_into_id)
    if customer is None or customer.org_id != actor.org_id:
        raise NotFound(N_("No such customer."), code="customer_not_found")
    if not actor.can(Permission.SEE_ALL_CUSTOMERS) and customer.owner_id != actor.user_id:
        raise NotFound(N_("No such customer."), code="customer_not_found")
    if edit and customer.erased_at is not None:
        raise Conflict(
            N_("This customer's data was erased and cannot be edited."), code="customer_erased"
        )
    return customer


# --- value cleaning ----------------------------------------------------------------------


def clean_tags(raw: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in raw:
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(tag))).strip()
        if not text:
            continue
        if len(text) > MAX_TAG_LENGTH:
            raise Invalid(
                N_("Tags can be at most %(n)s characters."), field="tags", n=MAX_TAG_LENGTH
            )
        seen.setdefault(text.casefold(), text)
    return list(seen.values())


def clean_email(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(N_("This email address is not valid."), field="email") from exc


def clean_phones(raw: Iterable[str]) -> list[Phone]:
    phones: dict[str, Phone] = {}
    for index, text in enumerate(raw):
        try:
            phone = normalize_phone(text)
        except Invalid as exc:
            exc.field = f"phones.{index}"
            raise
        phones.setdefault(phone.e164, phone)
    return list(phones.values())


def _check_owner(session: Session, actor: Actor, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    if not actor.can(Permission.SEE_ALL_CUSTOMERS) and owner_id != actor.user_id:
        raise PermissionDenied(N_("You can only assign customers to yourself."))
    owner = session.get(User, owner_id)
    if owner is None or owner.org_id != actor.org_id or not owner.is_active:
        raise Invalid(
            N_("The owner must be an active staff member of this organisation."), field="owner_id"
        )
    return owner_id


def _claim_phones(session: Session, customer: Customer, phones: list[Phone]) -> None:
    """Replace the customer's phones; the first becomes primary. Raises on a taken number."""
    if phones:
        taken = session.execute(
            select(CustomerPhone.e164, CustomerPhone.customer_id).where(
                CustomerPhone.org_id == customer.org_id,
                CustomerPhone.e164.in_([p.e164 for p in phones]),
            )
        ).all()
        for e164, owner_id in taken:
            if owner_id != customer.id:
                raise DuplicatePhone(e164, owner_id)
    existing = {p.e164: p for p in customer.phones}
    wanted = [p.e164 for p in phones]
    for e164, row in existing.items():
        if e164 not in wanted:
            customer.phones.remove(row)
    session.flush()
    for position, phone in enumerate(phones):
        row = existing.get(phone.e164)
        if row is None:
            row = CustomerPhone(
                org_id=customer.org_id,
                e164=phone.e164,
                national=national_digits(phone.e164),
                kind=phone.kind,
            )
            customer.phones.append(row)
        row.is_primary = position == 0


def _set_tags(customer: Customer, tags: list[str]) -> None:
    current = {row.tag: row for row in customer.tag_rows}
    for tag, row in current.items():
        if tag not in tags:
            customer.tag_rows.remove(row)
    for tag in tags:
        if tag not in current:
            customer.tag_rows.append(CustomerTag(org_id=customer.org_id, tag=tag))


def _apply_fields(session: Session, actor: Actor, customer: Customer, data: CustomerFields) -> None:
    values = data.model_dump(exclude_unset=True)
    for key in (
        "phones",
        "tags",
        "marketing_consent",
        "consent_source",
        "owner_id",
        "email",
        "name",
    ):
        values.pop(key, None)
    for key, value in values.items():
        if key == "gender" and value is None:
            value = Gender.UNKNOWN
        if key == "custom_attributes":
            value = {k.strip(): v for k, v in (value or {}).items()}
        setattr(customer, key, value)
    fields_set = data.model_fields_set
    if "email" in fields_set:
        customer.email = clean_email(data.email)
    if "owner_id" in fields_set:
        customer.owner_id = _check_owner(session, actor, data.owner_id)
    if "marketing_consent" in fields_set and data.marketing_consent is not None:
        source = data.consent_source or ("api" if actor.via_token else "staff")
        if data.marketing_consent != customer.marketing_consent or data.consent_source:
            customer.marketing_consent = data.marketing_consent
            customer.consent_source = source[:64]
            customer.consent_at = utcnow()


# --- commands ----------------------------------------------------------------------------


def create_customer(session: Session, actor: Actor, data: CustomerCreate) -> Customer:
    actor.require(Permission.EDIT_CUSTOMERS)
    phones = clean_phones(data.phones)
    tags = clean_tags(data.tags)
    if data.external_id and session.scalar(
        select(Customer.id).where(
            Customer.org_id == actor.org_id, Customer.external_id == data.external_id
        )
    ):
        raise Conflict(
            N_("Another customer already has this external id."), code="duplicate_external_id"
        )
    customer = Customer(org_id=actor.org_id, name=data.name, custom_attributes={})
    _apply_fields(session, actor, customer, data)
    if "owner_id" not in data.model_fields_set or customer.owner_id is None:
        # Whoever enters a customer looks after them until someone reassigns.
        customer.owner_id = actor.user_id
    session.add(customer)
    session.flush()
    _claim_phones(session, customer, phones)
    _set_tags(customer, tags)
    emit(
        session,
        actor.org_id,
        "customer.created",
        subject_type="customer",
        subject_id=customer.id,
        payload={"customer_id": customer.id},
    )
    session.commit()
    return customer


def update_customer(
    session: Session, actor: Actor, customer_id: int, data: CustomerUpdate
) -> Customer:
    customer = get_customer_for(session, actor, customer_id, edit=True)
    if "name" in data.model_fields_set:
        if not data.name:
            raise Invalid(N_("A name is required."), field="name")
        customer.name = data.name
    if (
        data.external_id
        and data.external_id != customer.external_id
        and session.scalar(
            select(Customer.id).where(
                Customer.org_id == actor.org_id, Customer.external_id == data.external_id
            )
        )
    ):
        raise Conflict(
            N_("Another customer already has this external id."), code="duplicate_external_id"
        )
    _apply_fields(session, actor, customer, data)
    if data.phones is not None:
        _claim_phones(session, customer, clean_phones(data.phones))
    if data.tags is not None:
        _set_tags(customer, clean_tags(data.tags))
    customer.updated_at = utcnow()
    emit(
        session,
        actor.org_id,
        "customer.updated",
        subject_type="customer",
        subject_id=customer.id,
        payload={"customer_id": customer.id},
    )
    session.commit()
    return customer


def reveal_phones(session: Session, actor: Actor, customer_id: int) -> list[str]:
    """Unmasked phone numbers; every reveal is written to the audit log."""
    actor.require(Permission.REVEAL_PII)
    customer = get_customer_for(session, actor, customer_id)
    record(
        session,
        actor,
        AuditAction.PII_REVEALED,
        target_type="customer",
        target_id=customer.id,
        details={"fields": ["phones"]},
    )
    session.commit()
    return [p.e164 for p in customer.phones]


# --- queries -----------------------------------------------------------------------------


@dataclass
class CustomerQuery:
    q: str | None = None
    tag: str | None = None
    owner_id: int | None = None
    gender: Gender | None = None
    source_channel: str | None = None
    consent: bool | None = None
    lifecycle_stage: LifecycleStage | None = None
    value_tier: ValueTier | None = None
    activity: Activity | None = None
    include_erased: bool = False
    page: int = 1
    per_page: int = 20
    sort: str = "-created_at"
    extra_filters: list = field(default_factory=list)


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


SORTS = {
    "created_at": Customer.created_at,
    "name": Customer.name,
    "updated_at": Customer.updated_at,
}


# Sorting by what customers bought joins their figures row (kept by engagement.recompute).
FIGURE_SORTS = {
    "total_spent": CustomerFigures.total_spent,
    "last_purchase_at": CustomerFigures.last_purchase_at,
    "clv": CustomerFigures.clv,
    "p_alive": CustomerFigures.p_alive,
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def apply_filters(query: Select, actor: Actor, params: CustomerQuery) -> Select:
    if not params.include_erased or not actor.can(Permission.ERASE_CUSTOMERS):
        query = query.where(Customer.erased_at.is_(None))
    if params.q and (text := unicodedata.normalize("NFKC", params.q).strip()):
        pattern = _like(text)
        conditions = [
            Customer.name.like(pattern, escape="\\"),
            Customer.nickname.like(pattern, escape="\\"),
            Customer.wechat_id == text,
            Customer.email == text.lower(),
        ]
        if digits := digits_fragment(text):
            conditions.append(
                exists().where(
                    CustomerPhone.org_id == actor.org_id,
                    CustomerPhone.customer_id == Customer.id,
                    CustomerPhone.national.like(_like(digits), escape="\\"),
                )
            )
        query = query.where(or_(*conditions))
    if params.tag:
        query = query.where(
            exists().where(
                CustomerTag.org_id == actor.org_id,
                CustomerTag.customer_id == Customer.id,
                CustomerTag.tag == params.tag.strip(),
            )
        )
    if params.owner_id is not None:
        query = query.where(Customer.owner_id == params.owner_id)
    if params.gender:
        query = query.where(Customer.gender == params.gender)
    if params.source_channel:
        query = query.where(Customer.source_channel == params.source_channel)
    if params.consent is not None:
        query = query.where(Customer.marketing_consent.is_(params.consent))
    if params.lifecycle_stage:
        query = query.where(Customer.lifecycle_stage == params.lifecycle_stage)
    if params.value_tier:
        # An alias, so the test does not correlate with the join a figure sort adds.
        tiered = aliased(CustomerFigures)
        query = query.where(
            exists().where(
                tiered.org_id == actor.org_id,
                tiered.customer_id == Customer.id,
                tiered.value_tier == params.value_tier,
            )
        )
    if params.activity:
        low, high = ACTIVITY_BANDS[params.activity]
        scored = aliased(CustomerFigures)
        query = query.where(
            exists().where(
                scored.org_id == actor.org_id,
                scored.customer_id == Customer.id,
                scored.p_alive >= low,
                scored.p_alive < high,
            )
        )
    for condition in params.extra_filters:
        query = query.where(condition)
    return query


def search_customers(session: Session, actor: Actor, params: CustomerQuery) -> CustomerPage:
    per_page = min(max(params.per_page, 1), 200)
    page = max(params.page, 1)
    query = apply_filters(visible_customers(actor), actor, params)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    key = params.sort.lstrip("-")
    if key in FIGURE_SORTS:
        query = query.outerjoin(
            CustomerFigures,
            (CustomerFigures.org_id == Customer.org_id)
            & (CustomerFigures.customer_id == Customer.id),
        )
        column = FIGURE_SORTS[key]
        ordered = column.desc() if params.sort.startswith("-") else column.asc()
        order = ordered.nulls_last()
    else:
        column = SORTS.get(key, Customer.created_at)
        order = column.desc() if params.sort.startswith("-") else column.asc()
    items = session.scalars(
        query.order_by(order, Customer.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return CustomerPage(list(items), total, page, per_page)


def tag_counts(session: Session, actor: Actor, limit: int = 30) -> list[tuple[str, int]]:
    visible = (
        visible_customers(actor).where(Customer.erased_at.is_(None)).with_only_columns(Customer.id)
    )
    rows = session.execute(
        select(CustomerTag.tag, func.count())
        .where(CustomerTag.org_id == actor.org_id, CustomerTag.customer_id.in_(visible))
        .group_by(CustomerTag.tag)
        .order_by(func.count().desc(), CustomerTag.tag)
        .limit(limit)
    ).all()
    return [(tag, count) for tag, count in rows]

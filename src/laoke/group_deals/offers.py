"""Group offers: creating, changing, listing, and what a qualifying purchase is."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.group_deals.models import BenefitKind, Group, GroupOffer, GroupStatus, OfferStatus
from laoke.group_deals.schemas import OfferCreate, OfferUpdate
from laoke.orders.models import Order, OrderStatus, Product
from laoke.referrals.models import ReferralProgram

MEMBER_KINDS = ("points", "coupon", "cash")
MEMBER_KIND_LABELS = {
    "points": N_("Points"),
    "coupon": N_("Coupon"),
    "cash": N_("Cash"),
}


def clean_name(raw: str) -> str:
    text = " ".join("".join(ch for ch in (raw or "") if ch.isprintable()).split())
    if not text:
        raise Invalid(N_("Give the offer a name."), field="name")
    if len(text) > 100:
        raise Invalid(N_("The offer name is too long (at most 100 characters)."), field="name")
    return text


def get_offer(session: Session, actor: Actor, offer_id: int) -> GroupOffer:
    offer = session.get(GroupOffer, offer_id)
    if offer is None or offer.org_id != actor.org_id:
        raise NotFound(N_("No such group offer."), code="group_offer_not_found")
    return offer


def list_offers(session: Session, org_id: int) -> list[GroupOffer]:
    query = select(GroupOffer).where(GroupOffer.org_id == org_id)
    status_order = case(
        (GroupOffer.status == OfferStatus.ACTIVE, 0),
        (GroupOffer.status == OfferStatus.PAUSED, 1),
        else_=2,
    )
    return list(session.scalars(query.order_by(status_order, GroupOffer.id.desc())))


def group_counts(session: Session, org_id: int) -> dict[int, dict[str, int]]:
    """Per offer: open, completed, expired and cancelled groups (overdue open ones count
    as expired, as every reader shows them)."""
    now = utcnow()
    effective = case(
        (
            (Group.status == GroupStatus.OPEN) & (Group.deadline <= now),
            GroupStatus.EXPIRED.value,
        ),
        else_=Group.status,
    )
    rows = session.execute(
        select(Group.offer_id, effective, func.count(Group.id))
        .where(Group.org_id == org_id)
        .group_by(Group.offer_id, effective)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for offer_id, status, count in rows:
        counts.setdefault(offer_id, {s.value: 0 for s in GroupStatus})[str(status)] = count
    return counts


def _check_unique(session: Session, org_id: int, name: str, offer_id: int | None) -> None:
    query = select(GroupOffer.id).where(GroupOffer.org_id == org_id, GroupOffer.name == name)
    if offer_id is not None:
        query = query.where(GroupOffer.id != offer_id)
    if session.scalar(query) is not None:
        raise Conflict(
            N_("A group offer with this name already exists."),
            code="duplicate_group_offer",
            field="name",
        )


def check_offer(session: Session, offer: GroupOffer) -> None:
    """The offer as a whole makes sense; clears the fields its benefit does not use."""
    if offer.product_id is not None:
        product = session.get(Product, offer.product_id)
        if product is None or product.org_id != offer.org_id:
            raise Invalid(N_("No such product."), code="product_not_found", field="product_id")
    if offer.program_id is not None:
        program = session.get(ReferralProgram, offer.program_id)
        if program is None or program.org_id != offer.org_id:
            raise Invalid(
                N_("No such referral program."), code="program_not_found", field="program_id"
            )
    if offer.benefit == BenefitKind.LEADER_FREE:
        if offer.leader_cap is not None and offer.leader_cap <= 0:
            raise Invalid(N_("The cap must be above zero, or left empty."), field="leader_cap")
        offer.member_kind = offer.member_amount = None
        offer.coupon_min_spend = offer.coupon_valid_days = None
        return
    offer.leader_cap = None
    if offer.member_kind not in MEMBER_KINDS:
        raise Invalid(
            N_("Choose what each member gets: points, a coupon or cash."), field="member_kind"
        )
    amount = offer.member_amount
    if amount is None or amount <= 0:
        raise Invalid(N_("Say how much each member gets."), field="member_amount")
    if offer.member_kind == "points" and amount != amount.to_integral_value():
        raise Invalid(N_("Points are whole numbers."), field="member_amount")
    if offer.member_kind != "coupon":
        offer.coupon_min_spend = offer.coupon_valid_days = None
    elif offer.coupon_min_spend is not None and offer.coupon_min_spend < amount:
        raise Invalid(
            N_("A coupon's minimum spend cannot be below its value."), field="coupon_min_spend"
        )


def create_offer(session: Session, actor: Actor, data: OfferCreate) -> GroupOffer:
    actor.require(Permission.MANAGE_SETTINGS)
    name = clean_name(data.name)
    _check_unique(session, actor.org_id, name, None)
    values = data.model_dump(exclude={"name"})
    values = {k: v for k, v in values.items() if v is not None}
    offer = GroupOffer(org_id=actor.org_id, name=name, created_by_id=actor.user_id, **values)
    offer.status = offer.status or OfferStatus.ACTIVE
    offer.description = offer.description or ""
    check_offer(session, offer)
    session.add(offer)
    session.flush()
    return offer


def update_offer(session: Session, actor: Actor, offer_id: int, data: OfferUpdate) -> GroupOffer:
    actor.require(Permission.MANAGE_SETTINGS)
    offer = get_offer(session, actor, offer_id)
    values = data.model_dump(exclude_unset=True)
    if "name" in values:
        if values["name"] is None:
            raise Invalid(N_("Give the offer a name."), field="name")
        values["name"] = clean_name(values["name"])
        _check_unique(session, actor.org_id, values["name"], offer.id)
    for required in ("group_size", "open_hours", "benefit", "status"):
        if required in values and values[required] is None:
            raise Invalid(N_("This field cannot be empty."), field=required)
    if "description" in values:
        values["description"] = values["description"] or ""
    with session.no_autoflush:
        for key, value in values.items():
            setattr(offer, key, value)
        check_offer(session, offer)
    session.flush()
    return offer


# --- what counts as a qualifying purchase -------------------------------------------------


def order_qualifies(offer: GroupOffer, order: Order) -> bool:
    if order.status != OrderStatus.PAID:
        return False
    if offer.min_amount is not None and Decimal(order.amount) < Decimal(offer.min_amount):
        return False
    if offer.product_id is not None:
        return any(item.product_id == offer.product_id for item in order.items)
    return True


def describe_purchase(offer: GroupOffer, product_name: str | None) -> dict[str, str]:
    """The pieces a template needs to say what a qualifying purchase is."""
    return {
        "min_amount": f"{offer.min_amount:.2f}" if offer.min_amount is not None else "",
        "product": product_name or "",
    }

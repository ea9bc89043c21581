"""Gathering the facts about a referral from the database, evaluating the rules and
storing the verdict. Runs inside the transaction that created or converted the lead."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.customers.models import Customer, CustomerPhone
from laoke.db import utcnow
from laoke.events.models import DomainEvent
from laoke.fraud.models import (
    CheckStage,
    CheckStatus,
    CustomerDevice,
    FraudCheck,
    FraudEvaluation,
    FraudHousehold,
    FraudSettings,
)
from laoke.fraud.rules import Decision, Match, Party, ReferralFacts, Thresholds, evaluate
from laoke.fraud.signals import address_key, email_key
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import Attribution, LeadStatus, ReferralLead

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
GRAPH_HOPS = 4
GRAPH_NODES = 300
EMAIL_SCAN = 5000


def thresholds_of(session: Session, org_id: int) -> Thresholds:
    row = session.scalar(select(FraudSettings).where(FraudSettings.org_id == org_id))
    if row is None:
        return Thresholds()
    return Thresholds(
        referrer_hour_limit=row.referrer_hour_limit,
        referrer_day_limit=row.referrer_day_limit,
        code_hour_limit=row.code_hour_limit,
        code_day_limit=row.code_day_limit,
        fast_conversion_minutes=row.fast_conversion_minutes,
        refund_limit=row.refund_limit,
    )


def _customer_party(session: Session, customer: Customer | None, *, devices: bool) -> Party:
    if customer is None:
        return Party()
    phones = frozenset(p.e164 for p in customer.phones)
    emails = frozenset(k for k in [email_key(customer.email)] if k)
    device_hashes: frozenset[str] = frozenset()
    ips: frozenset[str] = frozenset()
    if devices:
        rows = session.execute(
            select(CustomerDevice.device_hash, CustomerDevice.ip_hash).where(
                CustomerDevice.org_id == customer.org_id,
                CustomerDevice.customer_id == customer.id,
            )
        ).all()
        device_hashes = frozenset(r[0] for r in rows)
        ips = frozenset(r[1] for r in rows if r[1])
    return Party(phones, emails, address_key(customer.address), device_hashes, ips)


def _referrer_party(session: Session, lead: ReferralLead) -> Party:
    if lead.referrer_customer_id is not None:
        customer = session.get(Customer, lead.referrer_customer_id)
        return _customer_party(session, customer, devices=True)
    if lead.referrer_user_id is not None:
        user = session.get(User, lead.referrer_user_id)
        key = email_key(user.email) if user else None
        return Party(emails=frozenset([key]) if key else frozenset())
    return Party()


def _referee_party(session: Session, lead: ReferralLead) -> Party:
    phones = {lead.referee_phone} if lead.referee_phone else set()
    emails = {k for k in [email_key(lead.referee_email)] if k}
    address = None
    if lead.referee_customer_id is not None:
        customer = session.get(Customer, lead.referee_customer_id)
        if customer is not None and customer.id != lead.referrer_customer_id:
            linked = _customer_party(session, customer, devices=False)
            phones |= linked.phones
            emails |= linked.emails
            address = linked.address
    return Party(
        frozenset(phones),
        frozenset(emails),
        address,
        frozenset([lead.device_hash]) if lead.device_hash else frozenset(),
        frozenset([lead.ip_hash]) if lead.ip_hash else frozenset(),
    )


def _customers_with_email(session: Session, org_id: int, key: str) -> list[int]:
    """Customers whose email (any variant) has this key: same domain first, keys compared
    here. A scan of the tenant's customers on that domain, as attribution's own look-up."""
    domain = key.rsplit("@", 1)[1]
    pattern = f"%@{domain}"
    email = Customer.email
    # SQLite's LIKE ignores ASCII case already; PostgreSQL needs ILIKE.
    sqlite = session.get_bind().dialect.name == "sqlite"
    matching = email.like(pattern) if sqlite else email.ilike(pattern)
    rows = session.execute(
        select(Customer.id, email).where(Customer.org_id == org_id, matching).limit(EMAIL_SCAN)
    ).all()
    return [row_id for row_id, value in rows if email_key(value) == key]


def _leads_with_email(session: Session, lead: ReferralLead, key: str) -> list[int]:
    return list(
        session.scalars(
            select(FraudCheck.lead_id).where(
                FraudCheck.org_id == lead.org_id,
                FraudCheck.email_key == key,
                FraudCheck.lead_id != lead.id,
            )
        )
    )


def _matches(session: Session, lead: ReferralLead, referee: Party) -> list[Match]:
    org_id = lead.org_id
    found: dict[tuple[str, int], Match] = {}

    def other_leads(condition: object, by: str) -> None:
        rows = session.execute(
            select(
                ReferralLead.id,
                ReferralLead.referrer_customer_id,
                ReferralLead.status,
                ReferralLead.attribution,
            ).where(ReferralLead.org_id == org_id, ReferralLead.id != lead.id, condition)
        ).all()
        for row_id, referrer_id, status, attributed in rows:
            same = referrer_id is not None and referrer_id == lead.referrer_customer_id
            # Someone else's lead that lost the friend (lost, or its window ran out) leaves
            # them free to be referred again.
            released = status == LeadStatus.LOST or attributed == Attribution.EXPIRED
            if same or not released:
                found.setdefault(("lead", row_id), Match("lead", row_id, by, same))

    def customers(ids: Iterable[int], by: str) -> None:
        for customer_id in ids:
            found.setdefault(("customer", customer_id), Match("customer", customer_id, by))

    for phone in sorted(referee.phones):
        other_leads(ReferralLead.referee_phone == phone, "phone")
        customers(
            session.scalars(
                select(CustomerPhone.customer_id).where(
                    CustomerPhone.org_id == org_id, CustomerPhone.e164 == phone
                )
            ),
            "phone",
        )
    for key in sorted(referee.emails):
        if ids := _leads_with_email(session, lead, key):
            other_leads(ReferralLead.id.in_(ids), "email")
        customers(_customers_with_email(session, org_id, key), "email")
    # The friend's own customer record is not a duplicate: attribution linked it (a prospect
    # it accepted, or an established customer it already refused), or the friend became it
    # on converting. Nor is the referrer (that is self-referral, its own rule).
    skip = {lead.referee_customer_id, lead.referrer_customer_id}
    keep = [m for m in found.values() if not (m.kind == "customer" and m.id in skip)]
    return keep


def _referee_node(session: Session, lead: ReferralLead, referee: Party) -> int | None:
    if lead.referee_customer_id is not None:
        return lead.referee_customer_id
    if referee.phones:
        return session.scalar(
            select(CustomerPhone.customer_id)
            .where(
                CustomerPhone.org_id == lead.org_id, CustomerPhone.e164.in_(sorted(referee.phones))
            )
            .limit(1)
        )
    return None


def _edges(session: Session, lead: ReferralLead, start: list[int]) -> set[tuple[int, int]]:
    """Referral edges (customer → customer) around the start nodes, a few hops out."""
    org_id = lead.org_id
    edges: set[tuple[int, int]] = set()
    seen = set(start)
    frontier = set(start)
    for _ in range(GRAPH_HOPS):
        if not frontier or len(seen) > GRAPH_NODES:
            break
        ids = sorted(frontier)
        phones = select(CustomerPhone.e164).where(
            CustomerPhone.org_id == org_id, CustomerPhone.customer_id.in_(ids)
        )
        rows = session.execute(
            select(
                ReferralLead.referrer_customer_id,
                ReferralLead.referee_customer_id,
                CustomerPhone.customer_id,
            )
            .outerjoin(
                CustomerPhone,
                (CustomerPhone.org_id == ReferralLead.org_id)
                & (CustomerPhone.e164 == ReferralLead.referee_phone),
            )
            .where(
                ReferralLead.org_id == org_id,
                ReferralLead.id != lead.id,
                ReferralLead.referrer_customer_id.is_not(None),
                or_(
                    ReferralLead.referrer_customer_id.in_(ids),
                    ReferralLead.referee_customer_id.in_(ids),
                    ReferralLead.referee_phone.in_(phones),
                ),
            )
            .limit(2000)
        ).all()
        frontier = set()
        for referrer_id, referee_id, phone_owner in rows:
            target = referee_id or phone_owner
            if target is None:
                continue
            edges.add((referrer_id, target))
            for node in (referrer_id, target):
                if node not in seen:
                    seen.add(node)
                    frontier.add(node)
    return edges


def _count(session: Session, org_id: int, *conditions: object) -> int:
    query = select(func.count()).select_from(ReferralLead).where(ReferralLead.org_id == org_id)
    return session.scalar(query.where(*conditions)) or 0


def _window(at: datetime, span: timedelta) -> tuple[object, object]:
    return ReferralLead.created_at > at - span, ReferralLead.created_at <= at


def gather(session: Session, lead: ReferralLead, stage: CheckStage) -> ReferralFacts:
    org_id, at = lead.org_id, lead.created_at
    referrer = _referrer_party(session, lead)
    referee = _referee_party(session, lead)
    household = False
    shared = referrer.address if referrer.address == referee.address else None
    if shared:
        household = (
            session.scalar(
                select(FraudHousehold.id).where(
                    FraudHousehold.org_id == org_id, FraudHousehold.address_key == shared
                )
            )
            is not None
        )
    by_referrer = (
        ReferralLead.referrer_customer_id == lead.referrer_customer_id
        if lead.referrer_customer_id is not None
        else ReferralLead.referrer_user_id == lead.referrer_user_id
    )
    has_referrer = lead.referrer_customer_id is not None or lead.referrer_user_id is not None
    by_code = ReferralLead.invite_code_id == lead.invite_code_id
    facts: dict[str, object] = {}
    if has_referrer:
        facts["referrer_leads_hour"] = _count(session, org_id, by_referrer, *_window(at, HOUR))
        facts["referrer_leads_day"] = _count(session, org_id, by_referrer, *_window(at, DAY))
        if lead.ip_hash:
            facts["ip_leads_day"] = _count(
                session,
                org_id,
                by_referrer,
                ReferralLead.ip_hash == lead.ip_hash,
                ReferralLead.id != lead.id,
                *_window(at, DAY),
            )
        if lead.device_hash:
            facts["device_leads"] = _count(
                session,
                org_id,
                by_referrer,
                ReferralLead.device_hash == lead.device_hash,
                ReferralLead.id != lead.id,
            )
    if lead.invite_code_id is not None:
        facts["code_leads_hour"] = _count(session, org_id, by_code, *_window(at, HOUR))
        facts["code_leads_day"] = _count(session, org_id, by_code, *_window(at, DAY))
        facts["code_ips_hour"] = (
            session.scalar(
                select(func.count(func.distinct(ReferralLead.ip_hash))).where(
                    ReferralLead.org_id == org_id, by_code, *_window(at, HOUR)
                )
            )
            or 0
        )
    if lead.referrer_customer_id is not None:
        friends = session.execute(
            select(Order.status)
            .join(ReferralLead, ReferralLead.converting_order_id == Order.id)
            .where(
                ReferralLead.org_id == org_id,
                ReferralLead.referrer_customer_id == lead.referrer_customer_id,
                ReferralLead.id != lead.id,
            )
        ).scalars()
        statuses = list(friends)
        facts["friends_converted"] = len(statuses)
        facts["friends_refunded"] = sum(1 for s in statuses if s == OrderStatus.REFUNDED)
    if stage == CheckStage.CONVERTED:
        paid_at = lead.converted_at
        if lead.converting_order_id is not None:
            order = session.get(Order, lead.converting_order_id)
            paid_at = order.ordered_at if order else paid_at
        if paid_at is not None:
            facts["conversion_seconds"] = (paid_at - lead.created_at).total_seconds()
    referrer_node = lead.referrer_customer_id
    referee_node = _referee_node(session, lead, referee)
    edges = (
        _edges(session, lead, [referrer_node, referee_node])
        if referrer_node is not None and referee_node is not None
        else set()
    )
    return ReferralFacts(
        lead_id=lead.id,
        source=str(lead.source),
        attributed=lead.attribution == Attribution.ATTRIBUTED,
        referrer=referrer,
        referee=referee,
        household=household,
        matches=tuple(_matches(session, lead, referee)),
        referrer_node=referrer_node,
        referee_node=referee_node,
        edges=frozenset(edges),
        **facts,  # type: ignore[arg-type]
    )


def _status_after(check: FraudCheck, decision: Decision) -> CheckStatus:
    if check.status == CheckStatus.DECLINED:
        return CheckStatus.DECLINED
    if check.status == CheckStatus.APPROVED:
        # A reviewer approved what they saw; a rule that fires anew asks them again.
        seen = {hit.get("code") for hit in check.hits or []}
        fresh = [hit for hit in decision.hits if hit.code not in seen and hit.weight >= 0.5]
        return CheckStatus.PENDING if decision.flagged and fresh else CheckStatus.APPROVED
    return CheckStatus.PENDING if decision.flagged else CheckStatus.CLEAR


def _ring_leads(session: Session, lead: ReferralLead, cycle: list[int]) -> list[ReferralLead]:
    """The other leads along a ring: each of them is part of the same scheme."""
    members = sorted(set(cycle))
    phones = select(CustomerPhone.e164).where(
        CustomerPhone.org_id == lead.org_id, CustomerPhone.customer_id.in_(members)
    )
    return list(
        session.scalars(
            select(ReferralLead).where(
                ReferralLead.org_id == lead.org_id,
                ReferralLead.id != lead.id,
                ReferralLead.referrer_customer_id.in_(members),
                or_(
                    ReferralLead.referee_customer_id.in_(members),
                    ReferralLead.referee_phone.in_(phones),
                ),
            )
        )
    )


def check_lead(
    session: Session, lead: ReferralLead, stage: CheckStage, *, cascade: bool = True
) -> FraudCheck:
    """Evaluate the lead now and store the verdict (flushes; the caller commits). A lead
    that closes a ring has the ring's earlier leads checked again: they now close it too."""
    decision = evaluate(gather(session, lead, stage), thresholds_of(session, lead.org_id))
    hits = [hit.as_dict() for hit in decision.hits]
    now = utcnow()
    session.add(
        FraudEvaluation(
            org_id=lead.org_id,
            lead_id=lead.id,
            stage=stage,
            score=decision.score,
            flagged=decision.flagged,
            hits=hits,
            at=now,
        )
    )
    check = session.scalar(
        select(FraudCheck).where(FraudCheck.org_id == lead.org_id, FraudCheck.lead_id == lead.id)
    )
    if check is None:
        check = FraudCheck(org_id=lead.org_id, lead_id=lead.id, status=CheckStatus.CLEAR, hits=[])
        session.add(check)
    check.status = _status_after(check, decision)
    check.stage = stage
    check.score = decision.score
    check.flagged = decision.flagged
    check.hits = hits
    check.evaluated_at = now
    check.email_key = email_key(lead.referee_email)
    session.flush()
    if cascade:
        for hit in decision.hits:
            if hit.code == "ring_cycle":
                for other in _ring_leads(session, lead, hit.inputs["cycle"]):
                    again = (
                        CheckStage.CONVERTED
                        if other.status == LeadStatus.CONVERTED
                        else CheckStage.CREATED
                    )
                    check_lead(session, other, again, cascade=False)
    return check


def _lead_of(session: Session, event: DomainEvent) -> ReferralLead | None:
    lead = session.get(ReferralLead, event.payload.get("lead_id") or event.subject_id)
    return lead if lead is not None and lead.org_id == event.org_id else None


def on_lead_created(session: Session, event: DomainEvent) -> None:
    lead = _lead_of(session, event)
    if lead is not None:
        check_lead(session, lead, CheckStage.CREATED)


def on_lead_status_changed(session: Session, event: DomainEvent) -> None:
    if event.payload.get("status") != LeadStatus.CONVERTED:
        return
    lead = _lead_of(session, event)
    if lead is not None:
        check_lead(session, lead, CheckStage.CONVERTED)

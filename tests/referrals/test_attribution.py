"""Attribution rules and conversion from orders, at the service level."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from laoke.accounts.actor import Actor
from laoke.customers.stages import LifecycleStage
from laoke.events.models import DomainEvent
from laoke.referrals import leads
from laoke.referrals.models import LeadStatusChange, ReferralLead
from laoke.referrals.schemas import LeadCreate, LeadUpdate


def report(database, cast, phone, *, code=None, referrer_id=None, email=None, name="李娜"):
    with database.unit_of_work() as s:
        actor = Actor.system(cast.acme.id)
        body = LeadCreate(
            code=code, referrer_customer_id=referrer_id, name=name, phone=phone, email=email
        )
        lead = leads.create_lead(s, actor, body)
        s.commit()
        return lead.id


@pytest.fixture
def two_referrers(ref):
    ref.program(attribution_window_days=30)
    return ref.customer("王小美", "+8613800138000"), ref.customer("张伟", "+8613800138001")


def test_phone_variants_are_one_friend_and_the_first_referrer_wins(
    database, cast, ref, two_referrers
) -> None:
    first, second = two_referrers
    winner = report(database, cast, "139 0013 9000", referrer_id=first.id)
    for variant in ("+86 139-0013-9000", "0086 13900139000", "８６１３９００１３９０００"):
        report(database, cast, variant, referrer_id=second.id)
    rows = ref.leads()
    assert [r.attribution for r in rows] == ["attributed"] + ["duplicate"] * 3
    assert {r.duplicate_of_id for r in rows[1:]} == {winner}
    assert {r.referee_phone for r in rows} == {"+8613900139000"}


def test_after_the_window_a_later_referrer_takes_over(database, cast, ref, two_referrers) -> None:
    first, second = two_referrers
    old = report(database, cast, "13900139000", referrer_id=first.id)
    with database.unit_of_work() as s:
        s.get(ReferralLead, old).created_at -= timedelta(days=31)
        s.commit()
    new = report(database, cast, "13900139000", referrer_id=second.id)
    assert ref.lead(old).attribution == "expired" and ref.lead(old).attribution_key is None
    assert ref.lead(new).attribution == "attributed"
    friend = ref.customer("李娜", "+8613900139000", stage=LifecycleStage.PROSPECT)
    ref.order(friend.id)
    assert ref.lead(new).status == "converted" and ref.lead(old).status == "new"


def test_a_lost_lead_frees_the_friend_for_another_referrer(
    database, cast, ref, two_referrers
) -> None:
    first, second = two_referrers
    lost = report(database, cast, "13900139000", referrer_id=first.id)
    with database.unit_of_work() as s:
        leads.update_lead(
            s, Actor.system(cast.acme.id), lost, LeadUpdate(status="lost", lost_reason="没兴趣")
        )
        s.commit()
    again = report(database, cast, "13900139000", referrer_id=second.id)
    assert ref.lead(again).attribution == "attributed"
    # The lost lead cannot be reopened over the new holder.
    with database.unit_of_work() as s, pytest.raises(Exception, match="holds this friend"):
        leads.update_lead(s, Actor.system(cast.acme.id), lost, LeadUpdate(status="contacted"))


def test_an_existing_customer_is_not_a_new_referee(database, cast, ref, two_referrers) -> None:
    first, _ = two_referrers
    existing = ref.customer("老顾客", "+8613900139000", stage=LifecycleStage.REPEAT)
    lead = ref.lead(report(database, cast, "13900139000", referrer_id=first.id))
    assert lead.attribution == "already_customer" and lead.referee_customer_id == existing.id
    ref.order(existing.id)
    assert ref.lead(lead.id).status == "new"  # never converts


def test_a_prospect_without_purchases_is_still_a_new_referee(
    database, cast, ref, two_referrers
) -> None:
    first, _ = two_referrers
    prospect = ref.customer("潜客", "+8613900139000", stage=LifecycleStage.PROSPECT)
    lead = ref.lead(report(database, cast, "13900139000", referrer_id=first.id))
    assert lead.attribution == "attributed" and lead.referee_customer_id == prospect.id


@pytest.mark.parametrize(
    ("phone", "email"),
    [("+86 138 0013 8000", None), ("13900139999", "XIAOMEI@example.com")],
)
def test_self_referral_is_impossible(database, cast, ref, phone, email) -> None:
    ref.program()
    me = ref.customer("王小美", "+8613800138000", email="xiaomei@example.com")
    lead = ref.lead(report(database, cast, phone, referrer_id=me.id, email=email))
    assert lead.attribution == "self_referral" and lead.attribution_key is None
    friend = ref.customer("新朋友", "+8613900139999", stage=LifecycleStage.PROSPECT)
    ref.order(friend.id)
    assert ref.lead(lead.id).status == "new"


def test_a_first_paid_order_converts_the_lead_and_is_announced(
    database, cast, ref, two_referrers
) -> None:
    first, _ = two_referrers
    lead_id = report(database, cast, "13900139000", referrer_id=first.id)
    friend = ref.customer("李娜", "+8613900139000", stage=LifecycleStage.PROSPECT)
    order_id = ref.order(friend.id, "888")
    lead = ref.lead(lead_id)
    assert (lead.status, lead.referee_customer_id, lead.converting_order_id) == (
        "converted",
        friend.id,
        order_id,
    )
    assert lead.converted_at is not None
    ref.order(friend.id, "100")  # a second order changes nothing
    with database.unit_of_work(write=False) as s:
        changes = s.scalars(
            select(LeadStatusChange.to_status).where(LeadStatusChange.lead_id == lead_id)
        ).all()
        events = s.scalars(select(DomainEvent.name).where(DomainEvent.subject_id == lead_id)).all()
        payload = s.scalars(
            select(DomainEvent.payload).where(DomainEvent.name == "lead.status_changed")
        ).one()
    assert list(changes) == ["new", "converted"]
    assert "lead.created" in events and "lead.status_changed" in events
    assert payload == {
        "lead_id": lead_id,
        "referrer_id": first.id,
        "status": "converted",
        "previous_status": "new",
    }


def test_an_order_dated_outside_the_window_does_not_convert(
    database, cast, ref, two_referrers
) -> None:
    first, _ = two_referrers
    friend = ref.customer("李娜", "+8613900139000", stage=LifecycleStage.PROSPECT)
    lead_id = report(database, cast, "13900139000", referrer_id=first.id)
    with database.unit_of_work() as s:
        s.get(ReferralLead, lead_id).created_at -= timedelta(days=60)
        s.commit()
    ref.order(friend.id)
    assert ref.lead(lead_id).status == "new"
    second = report(database, cast, "13900139000", referrer_id=first.id)
    assert ref.lead(second).attribution == "already_customer"


def test_staff_can_link_a_lead_to_an_existing_customer(database, cast, ref, two_referrers) -> None:
    first, _ = two_referrers
    lead_id = report(database, cast, "13900139000", referrer_id=first.id)
    other = ref.customer("李娜(新号)", "+8613700137000", stage=LifecycleStage.PROSPECT)
    with database.unit_of_work() as s:
        leads.update_lead(
            s, Actor.system(cast.acme.id), lead_id, LeadUpdate(referee_customer_id=other.id)
        )
        s.commit()
    ref.order(other.id)
    assert ref.lead(lead_id).status == "converted"
    assert ref.lead(lead_id).referee_customer_id == other.id


def test_orders_of_another_tenant_never_convert(database, cast, ref, two_referrers) -> None:
    first, _ = two_referrers
    lead_id = report(database, cast, "13900139000", referrer_id=first.id)
    stranger = ref.customer("李娜", "+8613900139000", org=cast.globex)
    ref.order(stranger.id)
    assert ref.lead(lead_id).status == "new"


def test_two_referrers_racing_for_the_same_friend_exactly_one_wins(
    database, cast, ref, two_referrers
) -> None:
    first, second = two_referrers
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def race(referrer_id: int) -> None:
        try:
            with database.unit_of_work() as s:
                barrier.wait(timeout=10)
                body = LeadCreate(
                    referrer_customer_id=referrer_id, name="李娜", phone="13900139000"
                )
                leads.create_lead(s, Actor.system(cast.acme.id), body)
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(r.id,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    rows = ref.leads()
    assert sorted(r.attribution for r in rows) == ["attributed", "duplicate"]
    winner = next(r for r in rows if r.attribution == "attributed")
    loser = next(r for r in rows if r.attribution == "duplicate")
    assert loser.duplicate_of_id == winner.id

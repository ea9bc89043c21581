"""Customer rules, exercised through the service layer on every database backend."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers import erasure, merge, service
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.schemas import CustomerCreate, CustomerUpdate
from laoke.errors import Conflict, Invalid, NotFound, PermissionDenied


def make(session, actor, name="王丽", **fields):
    return service.create_customer(session, actor, CustomerCreate(name=name, **fields))


def test_it_creates_a_customer_with_normalised_phones_primary_first(session, cast) -> None:
    customer = make(
        session,
        cast.actor(cast.bob),
        phones=["１３８ 1234 5678", "+86 139-8765-4321"],
        tags=["VIP", " vip ", "老客户"],
    )
    assert [p.e164 for p in customer.phones] == ["+8613812345678", "+8613987654321"]
    assert customer.phones[0].is_primary and not customer.phones[1].is_primary
    assert customer.tags == ["VIP", "老客户"]
    assert customer.owner_id == cast.bob.id


def test_a_normalised_phone_is_unique_within_a_tenant(session, cast) -> None:
    make(session, cast.actor(cast.alice), phones=["13812345678"])
    with pytest.raises(Conflict) as info:
        make(session, cast.actor(cast.alice), name="李娜", phones=["+86 138 1234 5678"])
    assert info.value.code == "duplicate_phone"
    assert "138****5678" in str(info.value)


def test_the_same_phone_may_exist_in_another_tenant(session, cast) -> None:
    make(session, cast.actor(cast.alice), phones=["13812345678"])
    other = make(session, cast.actor(cast.oscar), phones=["13812345678"])
    assert other.org_id == cast.globex.id


def test_a_salesperson_sees_and_edits_only_their_own_customers(session, cast) -> None:
    bobs = make(session, cast.actor(cast.bob), name="Bob's")
    carols = make(session, cast.actor(cast.carol), name="Carol's")
    listed = service.search_customers(session, cast.actor(cast.bob), service.CustomerQuery())
    assert [c.id for c in listed.items] == [bobs.id]
    with pytest.raises(NotFound):
        service.get_customer_for(session, cast.actor(cast.bob), carols.id)
    with pytest.raises(NotFound):
        service.update_customer(session, cast.actor(cast.bob), carols.id, CustomerUpdate(name="x"))


def test_a_salesperson_cannot_hand_a_customer_to_someone_else(session, cast) -> None:
    with pytest.raises(PermissionDenied):
        make(session, cast.actor(cast.bob), owner_id=cast.carol.id)


def test_owners_must_be_staff_of_the_same_tenant(session, cast) -> None:
    with pytest.raises(Invalid):
        make(session, cast.actor(cast.alice), owner_id=cast.oscar.id)


def test_a_viewer_cannot_create_or_edit(session, cast) -> None:
    with pytest.raises(PermissionDenied):
        make(session, cast.actor(cast.victor))


def test_another_tenants_customer_is_not_found(session, cast) -> None:
    theirs = make(session, cast.actor(cast.oscar))
    with pytest.raises(NotFound):
        service.get_customer_for(session, cast.actor(cast.alice), theirs.id)


def test_search_by_name_phone_fragment_tag_and_paging(session, cast) -> None:
    alice = cast.actor(cast.alice)
    make(session, alice, name="王丽", phones=["13812345678"], tags=["VIP"])
    make(session, alice, name="王强", phones=["13900001111"])
    make(session, alice, name="李娜", phones=["13700005678"], tags=["VIP"])
    query = service.CustomerQuery
    names = lambda q: sorted(c.name for c in service.search_customers(session, alice, q).items)  # noqa: E731
    assert names(query(q="王")) == ["王丽", "王强"]
    assert names(query(q="5678")) == ["李娜", "王丽"]
    assert names(query(q="138 1234")) == ["王丽"]
    assert names(query(q="+86 139")) == ["王强"]
    assert names(query(tag="VIP")) == ["李娜", "王丽"]
    assert names(query(q="%")) == []
    page = service.search_customers(session, alice, query(per_page=2, page=2, sort="name"))
    assert page.total == 3 and page.pages == 2 and len(page.items) == 1


def test_consent_is_recorded_with_source_and_time(session, cast) -> None:
    customer = make(session, cast.actor(cast.alice), marketing_consent=True, consent_source="form")
    assert customer.marketing_consent and customer.consent_source == "form" and customer.consent_at
    updated = service.update_customer(
        session, cast.actor(cast.alice), customer.id, CustomerUpdate(marketing_consent=False)
    )
    assert not updated.marketing_consent and updated.consent_at >= customer.consent_at


def test_reveal_is_audited(session, cast) -> None:
    customer = make(session, cast.actor(cast.bob), phones=["13812345678"])
    assert service.reveal_phones(session, cast.actor(cast.maggie), customer.id) == [
        "+8613812345678"
    ]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.PII_REVEALED)
    ).one()
    assert (event.actor_user_id, event.target_id) == (cast.maggie.id, customer.id)
    with pytest.raises(PermissionDenied):
        service.reveal_phones(session, cast.actor(cast.victor), customer.id)


def test_merge_moves_phones_and_tags_fills_gaps_and_is_audited(session, cast) -> None:
    alice = cast.actor(cast.alice)
    kept = make(session, alice, name="王丽", phones=["13812345678"], tags=["VIP"])
    dup = make(
        session,
        alice,
        name="王丽",
        phones=["13987654321"],
        tags=["VIP", "老客户"],
        email="wl@qq.com",
        wechat_id="wx_wl",
    )
    outcome = merge.merge_customers(session, alice, kept.id, dup.id)
    kept = outcome.kept
    assert [p.e164 for p in kept.phones] == ["+8613812345678", "+8613987654321"]
    assert kept.phones[0].is_primary
    assert sorted(kept.tags) == ["VIP", "老客户"]
    assert (kept.email, kept.wechat_id) == ("wl@qq.com", "wx_wl")
    retired = session.get(Customer, dup.id)
    assert retired.merged_into_id == kept.id and retired.email is None
    # Old links follow the merge.
    assert service.get_customer_for(session, alice, dup.id).id == kept.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.MERGED)).one()
    assert (
        event.details["merged_id"] == dup.id
        and event.details["moved"]["customer_phones.customer_id"] == 1
    )
    assert service.search_customers(session, alice, service.CustomerQuery()).total == 1


def test_merge_refuses_the_same_customer_and_other_tenants(session, cast) -> None:
    alice = cast.actor(cast.alice)
    mine = make(session, alice)
    theirs = make(session, cast.actor(cast.oscar))
    with pytest.raises(Conflict):
        merge.merge_customers(session, alice, mine.id, mine.id)
    with pytest.raises(NotFound):
        merge.merge_customers(session, alice, mine.id, theirs.id)
    with pytest.raises(PermissionDenied):
        merge.merge_customers(session, cast.actor(cast.bob), mine.id, mine.id)


def test_erasure_removes_personal_data_but_keeps_the_row(session, cast) -> None:
    alice = cast.actor(cast.alice)
    customer = make(
        session,
        alice,
        phones=["13812345678"],
        email="wl@qq.com",
        address="上海市人民路1号",
        tags=["VIP"],
        marketing_consent=True,
        custom_attributes={"肤质": "干性"},
    )
    erased = erasure.erase_customer(session, alice, customer.id, reason="request")
    assert erased.erased_at and erased.name.startswith("#") and erased.pseudonym
    assert (erased.email, erased.address, erased.custom_attributes, erased.tags) == (
        None,
        None,
        {},
        [],
    )
    assert not erased.marketing_consent
    assert session.scalar(select(func.count()).select_from(CustomerPhone)) == 0
    assert session.get(Customer, customer.id) is not None
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.ERASED)).one()
    # The number is free again, and the erased record is no longer editable.
    make(session, alice, name="新客", phones=["13812345678"])
    with pytest.raises(Conflict):
        service.update_customer(session, alice, customer.id, CustomerUpdate(name="x"))


@pytest.mark.parametrize(
    "fields",
    [
        {"phones": ["not a phone"]},
        {"email": "not-an-email"},
        {"tags": ["x" * 51]},
    ],
)
def test_bad_values_are_refused_with_the_field_named(session, cast, fields) -> None:
    with pytest.raises(Invalid) as info:
        make(session, cast.actor(cast.alice), **fields)
    assert info.value.field

"""Cadence rules: which gap a customer gets and when they become overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from laoke.engagement import cadence
from laoke.engagement.models import CadenceRule, CadenceScope
from laoke.engagement.today import Section, today_for
from laoke.errors import Conflict, Invalid, PermissionDenied
from tests.engagement.today_helpers import NOW, customer, days_ago, local, rule


def overdue(session, actor, **kwargs) -> dict[str, int]:
    """Overdue customers' names → the gap that applied to them."""
    page = today_for(session, actor, now=NOW, section=Section.OVERDUE, **kwargs).sections[
        Section.OVERDUE
    ]
    return {item.customer_name: item.why_params["gap"] for item in page.items}


def test_the_tightest_matching_rule_wins_and_inactive_rules_are_ignored(cast, session) -> None:
    org, bob = cast.acme.id, cast.bob.id
    rule(session, org, "default", "", 60)
    rule(session, org, "tag", "VIP", 14)
    rule(session, org, "lifecycle_stage", "loyal", 30)
    rule(session, org, "value_tier", "top", 21)
    rule(session, org, "tag", "天天联系", 3, active=False)
    customer(session, org, bob, "普通过期", last_contact_at=days_ago(61))
    customer(session, org, bob, "普通未到", last_contact_at=days_ago(59))
    customer(
        session, org, bob, "VIP忠诚", stage="loyal", tags=("VIP",), last_contact_at=days_ago(15)
    )
    customer(session, org, bob, "忠诚未到", stage="loyal", last_contact_at=days_ago(20))
    customer(session, org, bob, "忠诚过期", stage="loyal", last_contact_at=days_ago(31))
    customer(session, org, bob, "高价值", tier="top", last_contact_at=days_ago(22))
    customer(session, org, bob, "停用规则", tags=("天天联系",), last_contact_at=days_ago(10))
    customer(session, org, bob, "无记录的高价值标签", tags=("VIP",), created_at=days_ago(15))
    session.commit()
    assert overdue(session, cast.actor(cast.bob)) == {
        "普通过期": 60,
        "VIP忠诚": 14,
        "忠诚过期": 30,
        "高价值": 21,
        "无记录的高价值标签": 14,
    }


def test_value_tier_counts_a_customer_without_figures_as_tail(cast, session) -> None:
    org, bob = cast.acme.id, cast.bob.id
    rule(session, org, "default", "", 60)
    rule(session, org, "value_tier", "tail", 10)
    customer(session, org, bob, "没有数字", created_at=days_ago(11))
    customer(session, org, bob, "中间", tier="middle", last_contact_at=days_ago(11))
    session.commit()
    assert overdue(session, cast.actor(cast.bob)) == {"没有数字": 10}


@pytest.mark.parametrize(
    ("last_contact", "is_overdue"),
    [
        (local(date(2026, 10, 5), 0, 1), False),  # 60 local days ago, just after midnight
        (local(date(2026, 10, 5), 23, 59), False),
        (local(date(2026, 10, 4), 23, 59), True),  # 61 days ago: one day past the gap
        # 16:01 UTC on 4 October is already 5 October in Shanghai: 60 days, not overdue.
        (datetime(2026, 10, 4, 16, 1, tzinfo=UTC), False),
    ],
)
def test_overdue_counts_tenant_local_days_around_the_boundary(
    cast, session, last_contact, is_overdue
) -> None:
    rule(session, cast.acme.id, "default", "", 60)
    customer(session, cast.acme.id, cast.bob.id, "边界", last_contact_at=last_contact)
    session.commit()
    assert ("边界" in overdue(session, cast.actor(cast.bob))) is is_overdue


def test_never_contacted_customers_count_from_when_they_were_entered(cast, session) -> None:
    rule(session, cast.acme.id, "default", "", 30)
    customer(session, cast.acme.id, cast.bob.id, "新录入", created_at=days_ago(30))
    customer(session, cast.acme.id, cast.bob.id, "早录入", created_at=days_ago(31))
    session.commit()
    assert overdue(session, cast.actor(cast.bob)) == {"早录入": 30}


def test_a_tenant_without_rules_uses_the_documented_defaults(cast, session) -> None:
    rules = cadence.active_rules(session, cast.acme.id)
    assert {(r.scope, r.value): r.max_gap_days for r in rules} == {
        (scope, value): gap for scope, value, gap in cadence.DEFAULT_CADENCE
    }
    assert rules[0].max_gap_days == 14 and rules[-1].scope == CadenceScope.DEFAULT
    customer(session, cast.acme.id, cast.bob.id, "新客", stage="new", created_at=days_ago(15))
    customer(session, cast.acme.id, cast.bob.id, "老客", created_at=days_ago(59))
    session.commit()
    assert overdue(session, cast.actor(cast.bob)) == {"新客": 14}
    cadence.ensure_default_rules(session, cast.acme.id)
    cadence.ensure_default_rules(session, cast.acme.id)
    session.commit()
    saved = session.scalars(select(CadenceRule).where(CadenceRule.org_id == cast.acme.id)).all()
    assert len(saved) == len(cadence.DEFAULT_CADENCE)


def test_rule_changes_are_validated_and_need_manage_settings(cast, session) -> None:
    alice = cast.actor(cast.alice)
    created = cadence.create_rule(session, alice, scope="tag", value=" VIP ", max_gap_days="14")
    assert (created.value, created.max_gap_days) == ("VIP", 14)
    for bad in (0, -1, 10**9, "abc", None, True):
        with pytest.raises(Invalid):
            cadence.create_rule(session, alice, scope="tag", value="老客", max_gap_days=bad)
    with pytest.raises(Invalid):
        cadence.create_rule(session, alice, scope="weather", value="rain", max_gap_days=5)
    with pytest.raises(Invalid):
        cadence.create_rule(session, alice, scope="lifecycle_stage", value="royal", max_gap_days=5)
    with pytest.raises(Conflict):
        cadence.create_rule(session, alice, scope="tag", value="VIP", max_gap_days=7)
    with pytest.raises(Conflict):
        cadence.create_rule(session, alice, scope="default", value="", max_gap_days=7)
    for who in (cast.maggie, cast.bob, cast.victor):
        with pytest.raises(PermissionDenied):
            cadence.create_rule(session, cast.actor(who), scope="tag", value="x", max_gap_days=5)
    default = next(r for r in cadence.list_rules(session, alice) if r.scope == "default")
    with pytest.raises(Conflict):
        cadence.update_rule(session, alice, default.id, active=False)
    with pytest.raises(Conflict):
        cadence.delete_rule(session, alice, default.id)
    assert cadence.update_rule(session, alice, created.id, active=False).active is False

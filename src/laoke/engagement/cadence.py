"""Cadence (维温频率): the longest a customer should go without being contacted.

A tenant keeps one `default` rule plus rules per lifecycle stage, tag or value tier. A
customer in the scope of several active rules keeps the tightest (smallest) gap; the
default rule covers everyone. A customer is overdue when the tenant-local days since the
last contact (or, never contacted, since the customer was entered) exceed that gap.

The overdue test is one SQL expression (`overdue_columns`), so the Today list can filter,
order and count a salesperson's 20,000 customers in the database instead of in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, CustomerTag
from laoke.customers.service import clean_tags
from laoke.customers.stages import LifecycleStage
from laoke.db import Database, UtcDateTime, utcnow
from laoke.engagement.models import CadenceRule, CadenceScope, CustomerFigures, ValueTier
from laoke.errors import N_, Conflict, Invalid, NotFound

MIN_GAP_DAYS = 1
MAX_GAP_DAYS = 3650

# What a tenant starts with: everyone every 60 days; closer customers more often. The
# tightest matching rule wins, so a loyal top-tier customer is due after 21 days.
DEFAULT_CADENCE: tuple[tuple[CadenceScope, str, int], ...] = (
    (CadenceScope.DEFAULT, "", 60),
    (CadenceScope.LIFECYCLE_STAGE, LifecycleStage.LOYAL, 30),
    (CadenceScope.LIFECYCLE_STAGE, LifecycleStage.FAN, 21),
    (CadenceScope.LIFECYCLE_STAGE, LifecycleStage.AGENT, 14),
    (CadenceScope.LIFECYCLE_STAGE, LifecycleStage.NEW, 14),
    (CadenceScope.LIFECYCLE_STAGE, LifecycleStage.LAPSED, 45),
    (CadenceScope.VALUE_TIER, ValueTier.TOP, 21),
)


@dataclass(frozen=True)
class Rule:
    """A cadence rule as the overdue computation needs it (saved or a default)."""

    scope: CadenceScope
    value: str
    max_gap_days: int


# --- reading and writing rules --------------------------------------------------------------


def list_rules(session: Session, actor: Actor) -> list[CadenceRule]:
    """The tenant's rules, default first, then by scope, value."""
    order = case(
        {s.value: i for i, s in enumerate(CadenceScope)}, value=CadenceRule.scope, else_=99
    )
    return list(
        session.scalars(
            select(CadenceRule)
            .where(CadenceRule.org_id == actor.org_id)
            .order_by(order, CadenceRule.value, CadenceRule.id)
        )
    )


def _insert_defaults(session: Session, org_id: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {
            "org_id": org_id,
            "scope": scope,
            "value": value,
            "max_gap_days": gap,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for scope, value, gap in DEFAULT_CADENCE
    ]
    session.execute(
        insert(CadenceRule)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["org_id", "scope", "value"])
    )


def has_rules(session: Session, org_id: int) -> bool:
    return (
        session.scalar(select(CadenceRule.id).where(CadenceRule.org_id == org_id).limit(1))
        is not None
    )


def ensure_default_rules(session: Session, org_id: int) -> None:
    """Give a tenant without rules the `DEFAULT_CADENCE` set (in the caller's transaction)."""
    if not has_rules(session, org_id):
        _insert_defaults(session, org_id)
        session.flush()


def ensure_default_rules_saved(database: Database, org_id: int) -> None:
    """The same from a read-only request: in a short write unit of its own."""
    with database.unit_of_work() as session:
        ensure_default_rules(session, org_id)
        session.commit()


def _clean_gap(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        try:
            raw = int(str(raw).strip())
        except ValueError as exc:
            raise Invalid(
                N_("The gap must be a whole number of days."), field="max_gap_days"
            ) from exc
    if not MIN_GAP_DAYS <= raw <= MAX_GAP_DAYS:
        raise Invalid(
            N_("The gap must be between %(low)s and %(high)s days."),
            field="max_gap_days",
            low=MIN_GAP_DAYS,
            high=MAX_GAP_DAYS,
        )
    return raw


def _clean_scope(raw: str) -> CadenceScope:
    try:
        return CadenceScope(raw)
    except ValueError as exc:
        raise Invalid(N_("Unknown rule scope."), field="scope") from exc


def _clean_value(scope: CadenceScope, raw: str | None) -> str:
    text = (raw or "").strip()
    if scope == CadenceScope.DEFAULT:
        return ""
    if scope == CadenceScope.LIFECYCLE_STAGE and text in LifecycleStage.__members__.values():
        return text
    if scope == CadenceScope.VALUE_TIER and text in ValueTier.__members__.values():
        return text
    if scope == CadenceScope.TAG and (tags := clean_tags([text])):
        return tags[0]
    raise Invalid(N_("Choose what the rule applies to."), field="value")


def _refuse_duplicate(
    session: Session, org_id: int, scope: CadenceScope, value: str, rule_id: int | None = None
) -> None:
    query = select(CadenceRule.id).where(
        CadenceRule.org_id == org_id, CadenceRule.scope == scope, CadenceRule.value == value
    )
    if rule_id is not None:
        query = query.where(CadenceRule.id != rule_id)
    if session.scalar(query) is not None:
        raise Conflict(
            N_("A rule for this already exists; change that one instead."),
            code="duplicate_cadence_rule",
        )


def create_rule(
    session: Session, actor: Actor, *, scope: str, value: str | None, max_gap_days: object
) -> CadenceRule:
    actor.require(Permission.MANAGE_SETTINGS)
    ensure_default_rules(session, actor.org_id)
    clean_scope = _clean_scope(scope)
    clean_value = _clean_value(clean_scope, value)
    gap = _clean_gap(max_gap_days)
    _refuse_duplicate(session, actor.org_id, clean_scope, clean_value)
    rule = CadenceRule(
        org_id=actor.org_id, scope=clean_scope, value=clean_value, max_gap_days=gap, active=True
    )
    session.add(rule)
    session.commit()
    return rule


def get_rule_for(session: Session, actor: Actor, rule_id: int) -> CadenceRule:
    rule = session.get(CadenceRule, rule_id) if 0 < rule_id < 2**62 else None
    if rule is None or rule.org_id != actor.org_id:
        raise NotFound(N_("No such cadence rule."), code="cadence_rule_not_found")
    return rule


def update_rule(
    session: Session,
    actor: Actor,
    rule_id: int,
    *,
    value: str | None = None,
    max_gap_days: object = None,
    active: bool | None = None,
) -> CadenceRule:
    """Change a rule's value, gap or whether it applies. The default rule always applies."""
    actor.require(Permission.MANAGE_SETTINGS)
    rule = get_rule_for(session, actor, rule_id)
    if value is not None and rule.scope != CadenceScope.DEFAULT:
        new_value = _clean_value(CadenceScope(rule.scope), value)
        _refuse_duplicate(session, actor.org_id, CadenceScope(rule.scope), new_value, rule.id)
        rule.value = new_value
    if max_gap_days is not None:
        rule.max_gap_days = _clean_gap(max_gap_days)
    if active is not None:
        if not active and rule.scope == CadenceScope.DEFAULT:
            raise Conflict(
                N_("The default rule covers everyone and cannot be switched off."),
                code="default_rule_required",
            )
        rule.active = active
    rule.updated_at = utcnow()
    session.commit()
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    actor.require(Permission.MANAGE_SETTINGS)
    rule = get_rule_for(session, actor, rule_id)
    if rule.scope == CadenceScope.DEFAULT:
        raise Conflict(
            N_("The default rule covers everyone and cannot be removed."),
            code="default_rule_required",
        )
    session.delete(rule)
    session.commit()


# --- the overdue computation ----------------------------------------------------------------


def active_rules(session: Session, org_id: int) -> list[Rule]:
    """The rules that apply, tightest first; the built-in defaults while a tenant has none."""
    rows = session.execute(
        select(
            CadenceRule.scope, CadenceRule.value, CadenceRule.max_gap_days, CadenceRule.active
        ).where(CadenceRule.org_id == org_id)
    ).all()
    if rows:
        rules = [Rule(CadenceScope(s), v, g) for s, v, g, active in rows if active]
    else:
        rules = [Rule(s, v, g) for s, v, g in DEFAULT_CADENCE]
    if not any(r.scope == CadenceScope.DEFAULT for r in rules):
        rules.append(Rule(CadenceScope.DEFAULT, "", DEFAULT_CADENCE[0][2]))
    return sorted(rules, key=lambda r: (r.max_gap_days, r.scope != CadenceScope.DEFAULT))


@dataclass(frozen=True)
class TagJoin:
    """An outer join of one tag's row per customer (at most one: tags are unique per
    customer), which a query using `overdue_columns` must add."""

    table: Any
    onclause: ColumnElement[bool]


def _matches(
    rule: Rule, org_id: int, tier: ColumnElement[str], joins: list[TagJoin]
) -> ColumnElement[bool] | None:
    if rule.scope == CadenceScope.LIFECYCLE_STAGE:
        return Customer.lifecycle_stage == rule.value
    if rule.scope == CadenceScope.VALUE_TIER:
        return tier == rule.value
    if rule.scope == CadenceScope.TAG:
        # A join rather than EXISTS: PostgreSQL prices a correlated subquery per row so high
        # that it JIT-compiles the query, which alone costs more than running it.
        tagged = aliased(CustomerTag, name=f"cadence_tag_{len(joins)}")
        joins.append(
            TagJoin(
                tagged,
                and_(
                    tagged.org_id == org_id,
                    tagged.customer_id == Customer.id,
                    tagged.tag == rule.value,
                ),
            )
        )
        return tagged.id.is_not(None)
    return None  # the default rule matches everyone


def value_tier_column() -> ColumnElement[str]:
    """The customer's value tier; customers without figures count as the tail."""
    return func.coalesce(CustomerFigures.value_tier, ValueTier.TAIL.value)


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone))


def utc_literal(moment: datetime) -> ColumnElement[datetime]:
    """A bound datetime compared like the stored UTC columns on every backend."""
    return literal(moment.astimezone(UTC), UtcDateTime())


def day_number(column: ColumnElement[datetime], dialect: str) -> ColumnElement[float]:
    """Days (with fraction) since a fixed epoch, for differences between two moments."""
    if dialect == "postgresql":
        return func.extract("epoch", column) / 86400.0
    return func.julianday(column)


@dataclass(frozen=True)
class OverdueColumns:
    """SQL expressions over `Customer` outer-joined to `CustomerFigures`, and the moment
    before which a last contact makes a customer with a given gap overdue."""

    gap_days: ColumnElement[int]
    last_contact_at: ColumnElement[datetime]
    cutoffs: dict[int, datetime]
    joins: list[TagJoin]

    def is_overdue(
        self, gap: ColumnElement[int], last: ColumnElement[datetime]
    ) -> ColumnElement[bool]:
        """Overdue when the last contact was before local midnight of `today - gap`: the
        tenant-local days since then exceed the gap. One bound moment per distinct gap, so
        the test needs no date arithmetic in SQL."""
        moments = {g: utc_literal(moment) for g, moment in self.cutoffs.items()}
        return last < case(moments, value=gap)


def overdue_columns(rules: list[Rule], org_id: int, today: date, timezone: str) -> OverdueColumns:
    """Gap = the first matching rule in `rules` (tightest first); the default rule's gap for
    customers no other rule matches. The query must outer-join `joins` (one per tag rule)."""
    tier = value_tier_column()
    branches: list[tuple[ColumnElement[bool], int]] = []
    joins: list[TagJoin] = []
    fallback = Rule(CadenceScope.DEFAULT, "", DEFAULT_CADENCE[0][2])
    for rule in rules:
        condition = _matches(rule, org_id, tier, joins)
        if condition is None:
            fallback = rule
            break  # rules come tightest first: none after the default one can win
        branches.append((condition, rule.max_gap_days))
    gap: ColumnElement[int] = (
        case(*branches, else_=fallback.max_gap_days) if branches else literal(fallback.max_gap_days)
    )
    gaps = {g for _, g in branches} | {fallback.max_gap_days}
    cutoffs = {g: local_midnight(today - timedelta(days=g), timezone) for g in gaps}
    last = func.coalesce(CustomerFigures.last_contact_at, Customer.created_at)
    return OverdueColumns(gap_days=gap, last_contact_at=last, cutoffs=cutoffs, joins=joins)

"""Saved segments: who a campaign is for, as filters over the customer pool.

A filter is registered under a key; a segment stores `{key: [values…]}`. Values of one
key are alternatives (tag A or tag B), keys combine (tag A and owner Li). Another domain
adds a filter when it has the figures, e.g. analytics' RFM tier:

    register_filter(SegmentFilter("rfm_tier", N_("RFM tier"),
        condition=lambda org_id, values: Customer.id.in_(select(Rfm.customer_id)…),
        options=lambda session, org_id: [("champions", N_("Champions")), …]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, CustomerTag
from laoke.customers.stages import LIFECYCLE_LABELS, LifecycleStage
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging.models import Segment

Options = Callable[[Session, int], list[tuple[str, str]]]


@dataclass(frozen=True)
class SegmentFilter:
    key: str
    label: str
    condition: Callable[[int, list[str]], ColumnElement[bool]]
    options: Options | None = None


FILTERS: dict[str, SegmentFilter] = {}


def register_filter(segment_filter: SegmentFilter) -> SegmentFilter:
    FILTERS[segment_filter.key] = segment_filter
    return segment_filter


def _tags(session: Session, org_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(CustomerTag.tag)
        .where(CustomerTag.org_id == org_id)
        .group_by(CustomerTag.tag)
        .order_by(func.count().desc())
        .limit(100)
    ).scalars()
    return [(tag, tag) for tag in rows]


def _staff(session: Session, org_id: int) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(User).where(User.org_id == org_id, User.is_active.is_(True)).order_by(User.name)
    )
    return [(str(u.id), u.name) for u in rows]


register_filter(
    SegmentFilter(
        "tag",
        N_("Tag"),
        lambda org_id, values: exists().where(
            CustomerTag.org_id == org_id,
            CustomerTag.customer_id == Customer.id,
            CustomerTag.tag.in_(values),
        ),
        _tags,
    )
)
register_filter(
    SegmentFilter(
        "lifecycle_stage",
        N_("Lifecycle stage"),
        lambda _org_id, values: Customer.lifecycle_stage.in_(values),
        lambda _s, _o: [(stage.value, LIFECYCLE_LABELS[stage]) for stage in LifecycleStage],
    )
)
register_filter(
    SegmentFilter(
        "owner",
        N_("Owner"),
        lambda _org_id, values: Customer.owner_id.in_([int(v) for v in values]),
        _staff,
    )
)


def clean_filters(session: Session, org_id: int, raw: dict[str, Any]) -> dict[str, list[str]]:
    cleaned: dict[str, list[str]] = {}
    for key, values in (raw or {}).items():
        if key not in FILTERS:
            raise Invalid(
                N_("Unknown segment filter: %(name)s."), field="filters", name=str(key)[:40]
            )
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or len(values) > 100:
            raise Invalid(N_("Give a list of at most 100 values."), field=f"filters.{key}")
        items = [str(v).strip()[:100] for v in values if str(v).strip()]
        if not items:
            continue
        options = FILTERS[key].options
        if options is not None and key != "tag":
            allowed = {value for value, _label in options(session, org_id)}
            bad = [v for v in items if v not in allowed]
            if bad:
                raise Invalid(
                    N_("Unknown value for %(name)s: %(value)s."),
                    field=f"filters.{key}",
                    name=key,
                    value=bad[0],
                )
        cleaned[key] = sorted(set(items))
    return cleaned


def audience(org_id: int, filters: dict[str, list[str]]) -> Select[tuple[Customer]]:
    """Active customers (not erased, not merged away) matching every filter."""
    query = select(Customer).where(
        Customer.org_id == org_id, Customer.merged_into_id.is_(None), Customer.erased_at.is_(None)
    )
    for key, values in filters.items():
        if key in FILTERS and values:
            query = query.where(FILTERS[key].condition(org_id, values))
    return query


def list_segments(session: Session, actor: Actor) -> list[Segment]:
    actor.require(Permission.SEND_MESSAGES)
    return list(
        session.scalars(
            select(Segment).where(Segment.org_id == actor.org_id).order_by(Segment.name)
        )
    )


def get_segment_for(session: Session, actor: Actor, segment_id: int) -> Segment:
    actor.require(Permission.SEND_MESSAGES)
    segment = session.get(Segment, segment_id)
    if segment is None or segment.org_id != actor.org_id:
        raise NotFound(N_("No such segment."), code="segment_not_found")
    return segment


def save_segment(
    session: Session,
    actor: Actor,
    *,
    name: str,
    filters: dict[str, Any],
    segment_id: int | None = None,
) -> Segment:
    actor.require(Permission.SEND_MESSAGES)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid(N_("A name of at most 100 characters is required."), field="name")
    cleaned = clean_filters(session, actor.org_id, filters)
    clash = session.scalar(
        select(Segment.id).where(
            Segment.org_id == actor.org_id, Segment.name == name, Segment.id != (segment_id or 0)
        )
    )
    if clash:
        raise Conflict(N_("Another segment already has this name."), code="duplicate_segment")
    segment = get_segment_for(session, actor, segment_id) if segment_id else None
    if segment is None:
        segment = Segment(org_id=actor.org_id, name=name, filters=cleaned)
        session.add(segment)
    else:
        segment.name, segment.filters = name, cleaned
    session.commit()
    return segment

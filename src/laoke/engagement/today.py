"""The Today list (今日待办): what a staff member should do today, most pressing first.

Four sections, each computed by one SQL query whatever the number of customers (the
filter, the order, the page and the total all happen in the database):

- overdue: customers whose days without contact exceed their cadence gap, ordered by
  how far past the gap they are relative to it, weighted by value tier;
- tasks: open tasks due today or earlier (product cycle, win-back, follow-up, call-back),
  most days late first;
- birthdays: in the next 7 tenant-local days (29 February birthdays on 28 February in
  common years), soonest first;
- promises: next steps promised in a contact, due by today, with no task of their own and
  no contact since, most days late first.

Ties go to the more valuable customer (value tier, then total spent). A salesperson's list
covers the customers they own and the tasks assigned to them; people who see all customers
may look at a colleague's list or the whole team's, with counts per staff member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.db import utcnow
from laoke.engagement.cadence import active_rules
from laoke.engagement.today_items import (
    MAX_PER_PAGE,
    PER_PAGE,
    SECTION_LABELS,
    Section,
    SectionPage,
    TodayItem,
    When,
    Window,
)
from laoke.engagement.today_sections import Query, page_of, section_queries
from laoke.errors import N_, NotFound
from laoke.tenancy.models import Org

__all__ = [
    "SECTION_LABELS",
    "Section",
    "SectionPage",
    "StaffCounts",
    "TodayItem",
    "TodayList",
    "today_for",
]


@dataclass(frozen=True)
class StaffCounts:
    staff_id: int | None  # None: customers nobody owns
    name: str
    counts: dict[Section, int]


@dataclass(frozen=True)
class TodayList:
    today: date
    staff_id: int | None  # None: the whole team
    sections: dict[Section, SectionPage]
    team: list[StaffCounts] = field(default_factory=list)


# --- who and when ---------------------------------------------------------------------------


def _staff_in_view(session: Session, actor: Actor, staff_id: int | None, team: bool) -> int | None:
    """The staff member whose list is shown; None for the whole team."""
    if team or (staff_id is not None and staff_id != actor.user_id):
        actor.require(Permission.SEE_ALL_CUSTOMERS)
    if team:
        return None
    if staff_id is None or staff_id == actor.user_id:
        return actor.user_id
    user = session.get(User, staff_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound(N_("No such staff member."), code="staff_not_found")
    return staff_id


def today_for(
    session: Session,
    actor: Actor,
    *,
    now: datetime | None = None,
    timezone: str | None = None,
    staff_id: int | None = None,
    team: bool = False,
    section: Section | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> TodayList:
    """The Today list of `staff_id` (default: the actor), or of everyone with `team`.
    `section` with `page` pages through one section alone ("more")."""
    now = now or utcnow()
    if timezone is None:
        timezone = session.scalar(select(Org.timezone).where(Org.id == actor.org_id)) or "UTC"
    today = now.astimezone(ZoneInfo(timezone)).date()
    staff = _staff_in_view(session, actor, staff_id, team)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    window = Window(max(page, 1), per_page)
    when = When(today, timezone, now, active_rules(session, actor.org_id))
    if section is not None:
        sections = {section: page_of(session, actor, section, staff, when, window)}
    else:
        first = Window(1, per_page)
        sections = {name: page_of(session, actor, name, staff, when, first) for name in Section}
    counts = []
    if staff is None and section is None:
        counts = counts_per_staff(session, actor, section_queries(session, actor, when))
    return TodayList(today, staff, sections, counts)


def counts_per_staff(
    session: Session, actor: Actor, queries: dict[Section, Query]
) -> list[StaffCounts]:
    """How many items each staff member has in each section (one grouped query each)."""
    found: dict[int | None, dict[Section, int]] = {}
    for name, (query, person) in queries.items():
        grouped = (
            query.with_only_columns(person.label("person"), func.count())
            .order_by(None)
            .group_by(person)
        )
        for person_id, count in session.execute(grouped):
            found.setdefault(person_id, dict.fromkeys(Section, 0))[name] = count
    names = dict(
        session.execute(select(User.id, User.name).where(User.org_id == actor.org_id)).all()
    )
    rows = [StaffCounts(pid, names.get(pid, "") if pid else "", c) for pid, c in found.items()]
    return sorted(rows, key=lambda r: (-sum(r.counts.values()), r.name))

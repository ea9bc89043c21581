"""Demo step: the demo tenant's cadence rules and today's product-cycle tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.engagement import cadence
from laoke.engagement.cycles import open_cycle_tasks_in
from laoke.errors import Conflict

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

# A salon's own additions to the defaults: VIPs and big spenders closer, prospects less often.
DEMO_RULES = (
    ("tag", "VIP", 14),
    ("tag", "高消费", 21),
    ("tag", "待回访", 7),
    ("lifecycle_stage", "prospect", 90),
)


def seed_cadence_and_cycles(session: Session, ctx: DemoContext) -> None:
    owner = ctx.actor("owner@demo.laoke.local")
    cadence.ensure_default_rules(session, ctx.org.id)
    for scope, value, gap in DEMO_RULES:
        try:
            cadence.create_rule(session, owner, scope=scope, value=value, max_gap_days=gap)
        except Conflict:
            session.rollback()
    # Orders, when an earlier step seeded them, now have their reminders; none is fine too.
    open_cycle_tasks_in(session, ctx.org.id, ctx.org.timezone, utcnow())
    session.commit()

"""Demo step: the value model fitted on the demo salon's orders, so every buyer has a score."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.insights.value_job import fit_in_session
from laoke.tenancy.service import OrgInfo

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext


def seed_value_model(session: Session, ctx: DemoContext) -> None:
    fit_in_session(session, OrgInfo.of(ctx.org), utcnow())
    session.commit()

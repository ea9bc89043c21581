"""Pages: the Today list, the landing page after sign-in."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.accounts.service import list_staff
from laoke.customers.models import Customer
from laoke.engagement.models import (
    CONTACT_CHANNEL_LABELS,
    TASK_KIND_LABELS,
    VALUE_TIER_LABELS,
)
from laoke.engagement.today import SECTION_LABELS, Section, today_for
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])


def owns_customers(session: Session, actor: Actor) -> bool:
    return (
        session.scalar(
            select(
                exists().where(
                    Customer.org_id == actor.org_id,
                    Customer.owner_id == actor.user_id,
                    Customer.merged_into_id.is_(None),
                )
            )
        )
        or False
    )


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def safe_next(target: str) -> str:
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/today"


@router.get("/today")
def today_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    staff_id: str = "",
    team: str = "",
    section: str = "",
    page: str = "1",
) -> HTMLResponse:
    chosen = Section(section) if section in Section.__members__.values() else None
    whole_team = team == "1" or (
        # Someone who sees everyone but looks after no customer of their own (an owner, a
        # manager) lands on the team's list rather than an empty one of their own.
        team == ""
        and staff_id == ""
        and actor.can(Permission.SEE_ALL_CUSTOMERS)
        and not owns_customers(session, actor)
    )
    result = today_for(
        session,
        actor,
        timezone=request.state.org.timezone,
        staff_id=_number(staff_id),
        team=whole_team,
        section=chosen,
        page=_number(page) or 1,
    )
    can_choose = actor.can(Permission.SEE_ALL_CUSTOMERS)
    gettext = translations(actor.language).gettext

    def more_link(name: Section) -> str:
        query = {"section": name.value, "page": result.sections[name].page + 1}
        if whole_team:
            query["team"] = 1
        elif result.staff_id is not None and result.staff_id != actor.user_id:
            query["staff_id"] = result.staff_id
        return "/today?" + urlencode(query)

    context = {
        "result": result,
        "sections": list(result.sections.items()),
        "section_labels": SECTION_LABELS,
        "kind_labels": TASK_KIND_LABELS,
        "tier_labels": VALUE_TIER_LABELS,
        "channel_labels": CONTACT_CHANNEL_LABELS,
        "reason": lambda item: item.reason(gettext),
        "more_link": more_link,
        "staff": list_staff(session, actor) if can_choose else [],
        "can_choose": can_choose,
        "whole_team": whole_team,
        "single_section": chosen is not None,
        "can_act": actor.can(Permission.EDIT_CUSTOMERS),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "today.html", context)

"""A referrer's shareable things: the personal code and its link, QR and poster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.db import Database
from laoke.errors import N_, Conflict, NotFound
from laoke.referrals import codes, programs
from laoke.referrals.models import InviteCode, ReferralProgram
from laoke.web.deps import write_turn_always


class NotEligible(Conflict):
    code = "not_eligible"
    default_message = N_("This customer is not eligible for any running referral program.")


class NoRunningProgram(Conflict):
    code = "no_active_program"
    default_message = N_("No referral program is running. Create or activate one first.")


def customer_code_for(session: Session, actor: Actor, customer_id: int) -> InviteCode:
    """The customer's code, created on first call when they may share a running program."""
    customer = get_customer_for(session, actor, customer_id)
    if not customer.is_active:
        raise Conflict(N_("This customer is no longer active."), code="customer_inactive")
    running = programs.running_programs(session, actor.org_id)
    if not running:
        raise NoRunningProgram()
    if not any(programs.may_share(session, p, customer) for p in running):
        raise NotEligible()
    return codes.customer_code(session, customer)


def staff_code_for(session: Session, actor: Actor, user_id: int) -> InviteCode:
    """A staff member's own code; managers may fetch anyone's in their tenant."""
    if user_id != actor.user_id:
        actor.require(Permission.SEE_ALL_CUSTOMERS)
    user = session.get(User, user_id)
    if user is None or user.org_id != actor.org_id or not user.is_active:
        raise NotFound(N_("No such staff member."), code="user_not_found")
    return codes.staff_code(session, actor.org_id, user_id)


def display_name(customer: Customer | None, user: User | None) -> str:
    if customer is not None:
        return customer.nickname or customer.name
    return user.name if user is not None else ""


def program_of(session: Session, code: InviteCode) -> ReferralProgram | None:
    """The program a visitor of this code is invited to (the code's own, else the first
    running program the holder may share)."""
    if code.program_id is not None:
        program = session.get(ReferralProgram, code.program_id)
        today = programs.org_today(session, code.org_id)
        return program if program and programs.is_running(program, today) else None
    running = programs.running_programs(session, code.org_id)
    if code.customer_id is not None:
        customer = session.get(Customer, code.customer_id)
        if customer is None:
            return None
        running = [p for p in running if programs.may_share(session, p, customer)]
    return running[0] if running else None


def write_session(
    request: Request, _turn: Annotated[None, Depends(write_turn_always)]
) -> Iterator[Session]:
    """A write session for the GET requests that may create a code or touch a portal link:
    SQLite cannot upgrade a read transaction once another writer has committed."""
    database: Database = request.app.state.database
    session = database.session(write=True)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


WriteSessionDep = Annotated[Session, Depends(write_session)]

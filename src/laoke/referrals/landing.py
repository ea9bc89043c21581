"""What the landing page shows for a code, cached in process memory for a short while.

The page is the hot path of the product (every shared link lands here), and what it shows —
who invites, the tenant's name, the program's offers — changes rarely. A snapshot per code
is kept for `TTL_SECONDS`; a revoked code or an edited offer shows on the page within that
time, while submissions always re-check the code in the database.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.customers.models import Customer
from laoke.referrals import sharing
from laoke.referrals.codes import resolve
from laoke.referrals.models import InviteCode
from laoke.tenancy.models import Org

TTL_SECONDS = 30.0
MAX_ENTRIES = 20_000


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    name: str
    referee_offer_text: str
    referrer_offer_text: str


@dataclass(frozen=True, slots=True)
class Invitation:
    code: str
    code_id: int
    org_id: int
    inviter: str
    org_name: str
    program: Offer | None


def holder_of(session: Session, code: InviteCode) -> tuple[Customer | None, User | None]:
    customer = session.get(Customer, code.customer_id) if code.customer_id else None
    user = session.get(User, code.user_id) if code.user_id else None
    return customer, user


def holder_active(customer: Customer | None, user: User | None) -> bool:
    if customer is not None:
        return customer.is_active
    return user is not None and user.is_active


def load(session: Session, raw_code: str) -> Invitation | None:
    """The invitation behind a code, or None when unknown, revoked or its holder is gone."""
    row = resolve(session, raw_code)
    if row is None:
        return None
    customer, user = holder_of(session, row)
    if not holder_active(customer, user):
        return None
    org = session.get(Org, row.org_id)
    program = sharing.program_of(session, row)
    offer = (
        Offer(program.id, program.name, program.referee_offer_text, program.referrer_offer_text)
        if program
        else None
    )
    return Invitation(
        code=row.code,
        code_id=row.id,
        org_id=row.org_id,
        inviter=sharing.display_name(customer, user),
        org_name=org.name if org else "",
        program=offer,
    )


class InvitationCache:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Invitation]] = {}
        self._pages: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, code: str) -> Invitation | None:
        key = code.strip().upper()
        with self._lock:
            found = self._entries.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, invitation: Invitation) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[invitation.code] = (time.monotonic(), invitation)

    def page(self, code: str, language: str) -> str | None:
        """The rendered blank form for a code and language, while it is fresh."""
        with self._lock:
            found = self._pages.get((code, language))
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put_page(self, code: str, language: str, html: str) -> None:
        with self._lock:
            if len(self._pages) >= MAX_ENTRIES:
                self._pages.clear()
            self._pages[(code, language)] = (time.monotonic(), html)

    def forget(self, code: str) -> None:
        key = code.strip().upper()
        with self._lock:
            self._entries.pop(key, None)
            for page_key in [k for k in self._pages if k[0] == key]:
                del self._pages[page_key]

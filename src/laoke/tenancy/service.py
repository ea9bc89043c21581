"""Creating and finding organisations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.config import Language
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.tenancy.models import Org


@dataclass(frozen=True, slots=True)
class OrgInfo:
    """What pages need of the organisation, detached from any database session."""

    id: int
    slug: str
    name: str
    timezone: str
    default_language: str

    @classmethod
    def of(cls, org: Org) -> OrgInfo:
        return cls(org.id, org.slug, org.name, org.timezone, org.default_language)


SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


def create_org(
    session: Session,
    *,
    slug: str,
    name: str,
    default_language: str = Language.ZH_CN,
    timezone: str = "Asia/Shanghai",
) -> Org:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise Invalid(
            N_("The short name must be 3-40 lowercase letters, digits or dashes."), field="slug"
        )
    if not name.strip():
        raise Invalid(N_("A name is required."), field="name")
    if default_language not in Language.__members__.values():
        raise Invalid(N_("Unknown language."), field="default_language")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(N_("Unknown time zone."), field="timezone") from exc
    if session.scalar(select(Org.id).where(Org.slug == slug)) is not None:
        raise Conflict(
            N_("An organisation with this short name already exists."), code="duplicate_org"
        )
    org = Org(slug=slug, name=name.strip(), default_language=default_language, timezone=timezone)
    session.add(org)
    session.commit()
    return org


def get_org_by_slug(session: Session, slug: str) -> Org:
    org = session.scalar(select(Org).where(Org.slug == slug.strip().lower()))
    if org is None:
        raise NotFound(N_("No organisation with this short name."), code="org_not_found")
    return org

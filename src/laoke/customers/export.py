"""Exporting the customer list — the same filters as the list page — to .xlsx or .csv.

Who may: roles with the export permission; what they get: what they may see (a salesperson's
own customers, phones and contact details masked unless the role may reveal them). Every
export is written to the audit log with its size and which filters were used, never the
search text itself (it may be a phone number).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session, selectinload
from starlette.background import BackgroundTask

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.customers.models import (
    GENDER_LABELS,
    PURCHASING_POWER_LABELS,
    Customer,
)
from laoke.customers.phones import format_phone, mask_phone
from laoke.customers.presenters import mask_text
from laoke.customers.service import CustomerQuery, apply_filters, visible_customers
from laoke.db import utcnow
from laoke.errors import N_, Invalid
from laoke.imports.cells import write_csv, write_xlsx
from laoke.web.i18n import translations

EXPORT_FORMATS = ("xlsx", "csv")
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", N_("Customer id"), 10),
    ("name", N_("Name"), 14),
    ("nickname", N_("Nickname"), 12),
    ("phones", N_("Phone numbers"), 18),
    ("wechat_id", N_("WeChat id"), 16),
    ("email", N_("Email"), 22),
    ("address", N_("Address"), 30),
    ("birthday", N_("Birthday"), 12),
    ("gender", N_("Gender"), 8),
    ("source_channel", N_("Source channel"), 14),
    ("tags", N_("Tags"), 20),
    ("needs", N_("Needs"), 24),
    ("purchasing_power", N_("Purchasing power"), 10),
    ("social_circle", N_("Social circle"), 20),
    ("owner", N_("Owner"), 10),
    ("marketing_consent", N_("Marketing consent"), 10),
    ("external_id", N_("External id"), 14),
    ("custom_attributes", N_("Custom attributes"), 30),
    ("created_at", N_("Created"), 18),
)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    count: int
    masked: bool


def _rows(
    session: Session, actor: Actor, params: CustomerQuery, language: str, reveal: bool
) -> Iterator[list[Any]]:
    gettext = translations(language).gettext
    owners = {u.id: u.name for u in session.query(User).filter(User.org_id == actor.org_id)}
    yes, no = gettext(N_("Yes")), gettext(N_("No"))
    query = (
        apply_filters(visible_customers(actor), actor, params)
        .options(selectinload(Customer.phones), selectinload(Customer.tag_rows))
        .order_by(Customer.id)
        .execution_options(yield_per=1000)
    )
    for c in session.scalars(query):
        phones = [format_phone(p.e164) if reveal else mask_phone(p.e164) for p in c.phones]
        yield [
            c.id,
            c.name,
            c.nickname or "",
            " / ".join(phones),
            (c.wechat_id if reveal else mask_text(c.wechat_id, 2)) or "",
            (c.email if reveal else mask_text(c.email)) or "",
            (c.address if reveal else mask_text(c.address, 6)) or "",
            c.birthday.isoformat() if c.birthday else "",
            gettext(GENDER_LABELS.get(c.gender, c.gender)) if c.gender != "unknown" else "",
            c.source_channel or "",
            ", ".join(c.tags),
            c.needs or "",
            gettext(PURCHASING_POWER_LABELS[c.purchasing_power]) if c.purchasing_power else "",
            c.social_circle or "",
            owners.get(c.owner_id, "") if c.owner_id else "",
            yes if c.marketing_consent else no,
            c.external_id or "",
            "; ".join(f"{k}={v}" for k, v in (c.custom_attributes or {}).items()),
            c.created_at.strftime("%Y-%m-%d %H:%M"),
        ]


def export_customers(
    session: Session,
    actor: Actor,
    params: CustomerQuery,
    path: Path,
    *,
    fmt: str = "xlsx",
    language: str | None = None,
) -> ExportResult:
    """Write the customers this actor sees, filtered like the list page, to `path`."""
    actor.require(Permission.EXPORT)
    if fmt not in EXPORT_FORMATS:
        raise Invalid(N_("Export as xlsx or csv."), code="invalid_format", field="format")
    language = language or actor.language
    gettext = translations(language).gettext
    reveal = actor.can(Permission.REVEAL_PII)
    header = [gettext(label) for _, label, _ in COLUMNS]
    rows = _rows(session, actor, params, language, reveal)
    if fmt == "csv":
        count = write_csv(path, header, rows)
    else:
        count = write_xlsx(
            path,
            header,
            rows,
            title=gettext(N_("Customers")),
            widths=[width for _, _, width in COLUMNS],
        )
    # End the read before writing the audit entry (a long read must not hold SQLite's lock).
    session.rollback()
    record(
        session,
        actor,
        AuditAction.EXPORTED,
        target_type="customers",
        details={
            "format": fmt,
            "count": count,
            "masked": not reveal,
            "filters": {
                "q": bool(params.q),
                "tag": params.tag,
                "owner_id": params.owner_id,
                "gender": params.gender,
                "source_channel": params.source_channel,
                "consent": params.consent,
            },
        },
    )
    session.commit()
    return ExportResult(path=path, count=count, masked=not reveal)


def export_response(
    session: Session, actor: Actor, params: CustomerQuery, fmt: str
) -> FileResponse:
    """Export into a temporary file and answer it as a download (the file goes afterwards)."""
    actor.require(Permission.EXPORT)
    if fmt not in EXPORT_FORMATS:
        raise Invalid(N_("Export as xlsx or csv."), code="invalid_format", field="format")
    handle, name = tempfile.mkstemp(prefix="laoke-export-", suffix=f".{fmt}")
    os.close(handle)
    path = Path(name)
    try:
        export_customers(session, actor, params, path, fmt=fmt)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return FileResponse(
        path,
        filename=f"customers-{stamp}.{fmt}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )

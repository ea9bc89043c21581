"""The reward ledger as an Excel workbook, for the accountant and the auditor.

Three sheets: every entry with both accounts described in words, every account's balance,
and "Chain" with the head hash and what `ledger.verify` found when the file was made.
Customer names are masked unless the reader may reveal personal data; every text cell is
neutralised against formula injection; each download is written to the audit log.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.db import utcnow
from laoke.errors import N_
from laoke.imports.cells import neutralise
from laoke.rewards import browse, ledger
from laoke.rewards.models import OPERATION_LABELS, Asset, LedgerAccount, Operation
from laoke.rewards.settings import timezone_of
from laoke.web.i18n import translations

ENTRY_COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Number"), 8),
    (N_("Time"), 18),
    (N_("Operation"), 14),
    (N_("Asset"), 8),
    (N_("Amount"), 12),
    (N_("From account"), 36),
    (N_("To account"), 36),
    (N_("Reward"), 10),
    (N_("Order"), 10),
    (N_("Memo"), 30),
    (N_("Hash"), 20),
)
ACCOUNT_COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Account"), 10),
    (N_("Holder and purpose"), 40),
    (N_("Asset"), 8),
    (N_("Balance"), 14),
)


def _sheet(workbook: Any, title: str, header: list[str], widths: list[int]) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="C2410C")
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
        cells.append(cell)
    sheet.append(cells)
    return sheet


def write_ledger(session: Session, actor: Actor, path: Path) -> dict[str, Any]:
    """Write the tenant's ledger workbook to `path`; returns what the audit entry records."""
    from openpyxl import Workbook

    actor.require(Permission.REVIEW_REWARDS)
    gettext: Callable[[str], str] = translations(actor.language).gettext
    reveal = actor.can(Permission.REVEAL_PII)
    zone = timezone_of(session, actor.org_id)
    # Verify first: it reads the whole chain in batches and detaches what it read.
    result = ledger.verify(session, actor.org_id)
    accounts = browse.accounts_by_id(session, actor.org_id)
    names = browse.customer_names(session, actor.org_id, [a.customer_id for a in accounts.values()])
    words = {
        account_id: browse.describe_account(account, names, gettext, reveal=reveal)
        for account_id, account in accounts.items()
    }

    def asset_label(asset: str) -> str:
        return gettext(browse.ASSET_LABELS.get(Asset(asset), asset))

    workbook = Workbook(write_only=True)
    entries_sheet = _sheet(
        workbook,
        gettext(N_("Entries")),
        [gettext(label) for label, _ in ENTRY_COLUMNS],
        [width for _, width in ENTRY_COLUMNS],
    )
    count, last = 0, 0
    while True:
        batch = browse.entries_page(session, actor.org_id, after_seq=last, limit=1000)
        for entry in batch:
            operation = Operation(entry.operation)
            entries_sheet.append(
                [
                    entry.seq,
                    entry.at.astimezone(_zone(zone)).strftime("%Y-%m-%d %H:%M:%S"),
                    neutralise(gettext(OPERATION_LABELS.get(operation, str(operation)))),
                    neutralise(asset_label(entry.asset)),
                    float(entry.amount),
                    neutralise(words.get(entry.debit_account_id, str(entry.debit_account_id))),
                    neutralise(words.get(entry.credit_account_id, str(entry.credit_account_id))),
                    entry.reward_id or "",
                    entry.order_id or "",
                    neutralise(entry.memo or ""),
                    entry.hash,
                ]
            )
            count += 1
        if len(batch) < 1000:
            break
        last = batch[-1].seq
        session.expunge_all()
    balances_sheet = _sheet(
        workbook,
        gettext(N_("Balances")),
        [gettext(label) for label, _ in ACCOUNT_COLUMNS],
        [width for _, width in ACCOUNT_COLUMNS],
    )
    ordered: list[LedgerAccount] = sorted(
        accounts.values(), key=lambda a: (a.customer_id is not None, a.customer_id or 0, a.id)
    )
    for account in ordered:
        balances_sheet.append(
            [
                account.id,
                neutralise(words[account.id]),
                neutralise(asset_label(account.asset)),
                float(account.balance),
            ]
        )
    chain = _sheet(workbook, "Chain", [gettext(N_("Check")), gettext(N_("Result"))], [28, 70])
    verdict = gettext(N_("Intact")) if result.ok else gettext(N_("Broken"))
    rows: list[tuple[str, Any]] = [
        (N_("Made at"), utcnow().astimezone(_zone(zone)).strftime("%Y-%m-%d %H:%M:%S")),
        (N_("Entries"), result.entries),
        (N_("Accounts"), result.accounts),
        (N_("Head hash"), result.head_hash),
        (N_("Verification"), verdict),
        (N_("First broken entry"), result.first_broken_seq or ""),
    ]
    for label, value in rows:
        chain.append([neutralise(gettext(label)), neutralise(value)])
    for problem in result.problems:
        chain.append([neutralise(gettext(N_("Problem"))), neutralise(problem)])
    workbook.save(path)
    return {
        "format": "xlsx",
        "count": count,
        "accounts": len(accounts),
        "masked": not reveal,
        "verified": result.ok,
    }


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def export_ledger(session: Session, actor: Actor, path: Path) -> dict[str, Any]:
    details = write_ledger(session, actor, path)
    session.rollback()  # end the long read before writing the audit entry
    record(session, actor, AuditAction.EXPORTED, target_type="reward_ledger", details=details)
    session.commit()
    return details


def ledger_response(session: Session, actor: Actor) -> FileResponse:
    """The workbook as a download (the temporary file goes afterwards)."""
    actor.require(Permission.REVIEW_REWARDS)
    handle, name = tempfile.mkstemp(prefix="laoke-ledger-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        export_ledger(session, actor, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return FileResponse(
        path,
        filename=f"reward-ledger-{stamp}.xlsx",
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )

"""The ledger workbook: opens with openpyxl, its balances match `ledger.verify`, names are
masked without the right to see them, formulas are neutralised, downloads are audited."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from laoke.accounts.roles import Role
from laoke.accounts.service import actor_for
from laoke.audit.models import AuditAction, AuditEvent
from laoke.errors import PermissionDenied
from laoke.rewards import guard
from laoke.rewards.export import export_ledger
from laoke.rewards.models import LedgerAccount, RewardKind
from tests.rewards.conftest import Rewards
from tests.rewards.test_wallet import give


def _seed(rw: Rewards) -> int:
    wang = rw.customer("=王小美", "+8613800138000")
    rw.issue(wang.id, 500, key="a", hold_days=0)
    rw.issue(wang.id, 200, key="b")
    give(rw, wang.id, "cash", kind=RewardKind.CASH, amount=Decimal("12.5"), hold_days=0)
    return wang.id


def test_the_download_opens_and_its_balances_match_the_ledger(
    rw: Rewards, cast, browser_of
) -> None:
    _seed(rw)
    response = browser_of(cast.maggie).get("/rewards/ledger.xlsx")
    assert response.status_code == 200
    assert "spreadsheetml" in response.headers["content-type"]
    workbook = load_workbook(BytesIO(response.content))
    entries, balances, chain = workbook.worksheets
    assert chain.title == "Chain"
    rows = list(entries.iter_rows(min_row=2, values_only=True))
    verified = rw.verify()
    assert len(rows) == verified.entries == 5
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    with rw.database.unit_of_work(write=False) as s:
        stored = {a.id: Decimal(a.balance) for a in s.scalars(select(LedgerAccount))}
    in_file = {
        row[0]: Decimal(str(row[3])) for row in balances.iter_rows(min_row=2, values_only=True)
    }
    assert in_file == stored
    facts = {row[0]: row[1] for row in chain.iter_rows(min_row=2, values_only=True)}
    assert verified.head_hash in facts.values()
    assert verified.entries in facts.values()
    # The header is styled and every text starting like a formula is neutralised.
    assert entries["A1"].font.bold
    for sheet in (entries, balances):
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value.startswith("=")), value
    described = " ".join(str(row[5]) + str(row[6]) for row in rows)
    assert "'=王小美" in described


def test_the_download_is_audited(rw: Rewards, cast, browser_of) -> None:
    _seed(rw)
    assert browser_of(cast.alice).get("/rewards/ledger.xlsx").status_code == 200
    with rw.database.unit_of_work(write=False) as s:
        events = [
            (e.target_type, e.details["count"], e.details["verified"])
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORTED))
        ]
    assert events == [("reward_ledger", 5, True)]


def test_names_are_masked_without_the_right_to_see_personal_data(
    rw: Rewards, cast, tmp_path: Path, monkeypatch
) -> None:
    _seed(rw)
    from laoke.accounts import roles

    # A role that reviews rewards but may not reveal personal data.
    custom = dict(roles.ROLE_PERMISSIONS)
    custom[Role.MANAGER] = custom[Role.MANAGER] - {roles.Permission.REVEAL_PII}
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", custom)
    path = tmp_path / "ledger.xlsx"
    with rw.database.unit_of_work() as s:
        details = export_ledger(s, actor_for(cast.maggie), path)
    assert details["masked"] is True
    workbook = load_workbook(path)
    text_cells = " ".join(
        str(value)
        for row in workbook.worksheets[1].iter_rows(values_only=True)
        for value in row
        if value
    )
    assert "王小美" not in text_cells and "'=**" in text_cells


def test_a_broken_chain_is_reported_in_the_chain_sheet(rw: Rewards, cast, tmp_path: Path) -> None:
    _seed(rw)
    with rw.database.engine.begin() as conn, guard.lifted(conn):
        conn.execute(text("UPDATE ledger_entries SET memo = 'edited' WHERE seq = 2"))
    path = tmp_path / "ledger.xlsx"
    with rw.database.unit_of_work() as s:
        details = export_ledger(s, actor_for(cast.alice), path)
    assert details["verified"] is False
    chain = load_workbook(path)["Chain"]
    values = [row[1] for row in chain.iter_rows(min_row=2, values_only=True)]
    assert 2 in values  # the first broken entry


def test_only_reviewers_may_download(rw: Rewards, cast, tmp_path: Path) -> None:
    for user in (cast.bob, cast.victor):
        with rw.database.unit_of_work() as s, pytest.raises(PermissionDenied):
            export_ledger(s, actor_for(user), tmp_path / "x.xlsx")

"""`laoke ledger verify` from a terminal: ok with counts, or exit 1 naming the entry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from laoke.cli import app
from laoke.config import get_settings
from laoke.customers.models import Customer
from laoke.db import Database, make_engine
from laoke.rewards import guard
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import RewardKind
from laoke.tenancy.models import Org

runner = CliRunner()


@pytest.fixture
def shop(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LAOKE_DATABASE_URL", url)
    monkeypatch.setenv("LAOKE_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    db = Database(make_engine(url))
    with db.unit_of_work() as s:
        org = Org(slug="shop", name="小店")
        s.add(org)
        s.flush()
        customer = Customer(org_id=org.id, name="王小美", custom_attributes={})
        s.add(customer)
        s.flush()
        for n in range(3):
            request = IssueRequest(customer.id, RewardKind.POINTS, Decimal(100 + n), hold_days=0)
            issue(s, org.id, request, f"visit-{n}")
        s.commit()
    yield db
    db.dispose()
    get_settings.cache_clear()


def test_verify_prints_ok_with_counts(shop: Database) -> None:
    result = runner.invoke(app, ["ledger", "verify", "--org", "shop"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 6 entries, 3 accounts")


def test_verify_names_the_first_edited_entry(shop: Database) -> None:
    with shop.engine.begin() as conn, guard.lifted(conn):
        conn.execute(text("UPDATE ledger_entries SET amount = 1000 WHERE seq = 4"))
    result = runner.invoke(app, ["ledger", "verify", "--org", "shop"])
    assert result.exit_code == 1
    assert "entry #4" in result.output
    as_json = runner.invoke(app, ["ledger", "verify", "--org", "shop", "--json"])
    assert as_json.exit_code == 1
    assert '"first_broken_seq": 4' in as_json.output


def test_unknown_tenant_is_a_clear_error() -> None:
    result = runner.invoke(app, ["ledger", "verify", "--org", "nobody"])
    assert result.exit_code == 1


def test_export_writes_a_workbook_whose_chain_sheet_says_ok(shop: Database, tmp_path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "ledger.xlsx"
    result = runner.invoke(app, ["ledger", "export", str(target), "--org", "shop"])
    assert result.exit_code == 0, result.output
    assert "6 entries" in result.output
    workbook = load_workbook(target, read_only=True)
    assert len(workbook.sheetnames) == 3
    refused = runner.invoke(app, ["ledger", "export", str(tmp_path / "x.csv"), "--org", "shop"])
    assert refused.exit_code == 1

"""Exporting customers: filters, formula neutralising, masking by role, audit, permission."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from laoke.accounts import roles
from laoke.accounts.roles import Permission, Role
from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers import service
from laoke.customers.export import export_customers
from laoke.customers.schemas import CustomerCreate
from laoke.customers.service import CustomerQuery
from laoke.errors import PermissionDenied

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=tab", "\r=cr", '=HYPERLINK("http://x")']


@pytest.fixture
def customers(database, cast) -> None:
    alice = cast.actor(cast.alice)
    with database.unit_of_work() as session:
        for index, text in enumerate(HOSTILE):
            service.create_customer(
                session,
                alice,
                CustomerCreate(
                    name=text,
                    phones=[f"1381234{index:04d}"],
                    tags=["VIP"] if index % 2 else ["新客"],
                    needs=text,
                    email=f"c{index}@qq.com",
                    custom_attributes={"备注": text},
                ),
            )
        service.create_customer(
            session, cast.actor(cast.bob), CustomerCreate(name="鲍勃的客户", phones=["13900000000"])
        )


def test_an_xlsx_export_runs_no_formula_when_opened(database, cast, customers, tmp_path) -> None:
    path = tmp_path / "out.xlsx"
    with database.unit_of_work() as session:
        result = export_customers(session, cast.actor(cast.alice), CustomerQuery(), path)
    assert result.count == len(HOSTILE) + 1 and not result.masked
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert not (
                isinstance(cell.value, str)
                and cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))
            )
    names = [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert names[0] == "'=1+1" and "鲍勃的客户" in names
    phones = [r[3] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert phones[0] == "138 1234 0000"


def test_a_csv_export_has_a_bom_and_neutral_cells(database, cast, customers, tmp_path) -> None:
    path = tmp_path / "out.csv"
    with database.unit_of_work() as session:
        export_customers(session, cast.actor(cast.alice), CustomerQuery(tag="VIP"), path, fmt="csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["客户编号", "姓名"]
    assert len(rows) == 1 + 3  # the VIP filter
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_roles_that_may_not_reveal_see_masked_phones(
    database, cast, customers, tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(
        roles.ROLE_PERMISSIONS,
        Role.VIEWER,
        roles.ROLE_PERMISSIONS[Role.VIEWER] | {Permission.EXPORT},
    )
    path = tmp_path / "masked.xlsx"
    with database.unit_of_work() as session:
        result = export_customers(session, cast.actor(cast.victor), CustomerQuery(), path)
    assert result.masked
    rows = list(load_workbook(path).active.iter_rows(min_row=2, values_only=True))
    assert rows[0][3] == "138****0000" and rows[0][5] == "c***@qq.com"
    assert not any("13812340000" in str(cell) for row in rows for cell in row)


def test_every_export_is_audited_without_personal_data(database, cast, customers, tmp_path) -> None:
    with database.unit_of_work() as session:
        export_customers(
            session, cast.actor(cast.maggie), CustomerQuery(q="13812340001"), tmp_path / "a.xlsx"
        )
    with database.unit_of_work(write=False) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORTED)
        ).one()
        assert event.actor_user_id == cast.maggie.id
        assert event.details["count"] == 1 and event.details["filters"]["q"] is True
        assert "13812340001" not in str(event.details)


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_sales_and_viewers_may_not_export(database, cast, customers, tmp_path, who) -> None:
    with database.unit_of_work() as session, pytest.raises(PermissionDenied):
        export_customers(
            session, cast.actor(getattr(cast, who)), CustomerQuery(), tmp_path / "x.xlsx"
        )


def test_the_export_button_and_api_download(cast, customers, browser_of, api_of) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/customers").text
    assert 'data-test="export-customers"' in page
    response = alice.get("/customers/export?format=csv&tag=VIP")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    api = api_of(cast.maggie).get("/api/v1/customers/export", params={"format": "xlsx"})
    assert api.status_code == 200
    assert load_workbook(io.BytesIO(api.content)).active.max_row == len(HOSTILE) + 2
    assert 'data-test="export-customers"' not in browser_of(cast.bob).get("/customers").text
    assert api_of(cast.victor).get("/api/v1/customers/export").status_code == 403

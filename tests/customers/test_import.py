"""Importing customers: the pool after a messy file, de-duplication, merge policies, re-runs,
the report, and who may import what."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers.models import Customer
from laoke.customers.service import CustomerQuery, search_customers
from laoke.errors import NotFound, PermissionDenied
from laoke.imports import service
from laoke.imports.models import ImportJob, JobStatus, Outcome
from tests.customers.importing import HEADER, issues, pool, run_import
from tests.imports.files import csv_file, xlsx

MESSY = [
    ["门店客户导出 2024-03"],
    [],
    HEADER,
    ["王丽", "138 1234 5678", "wx_wangli", "", "1990/5/3", "女", "VIP，宝妈", "Bob", "干性"],  # 4
    [
        "李娜",
        "+86 139-1234-5678 / 010-8888 6666",
        "",
        "LiNa@QQ.com",
        "1988年2月1日",
        "女士",
        "新客",
        "",
        "",
    ],  # 5
    ["王丽", "13812345678", "", "wangli@163.com", "", "", "上班族", "", "油性"],  # 6: same as row 4
    ["", "13700000000", "", "", "", "", "", "", "@SUM(A1)"],  # 7: no name
    ["赵敏", "12345", "", "", "", "", "", "", ""],  # 8: no usable key
    [],
    ["张伟", "", "wx_zw", "", "32000", "M", "", "", ""],  # 10
    ["+王芳", "13600001111", "", "", "", "", "", "", "-1+1"],  # 11
    [
        "孙莉",
        "abc / 13500002222",
        "",
        "not-an-email",
        "13/13/1990",
        "外星人",
        "",
        "Nobody",
        "",
    ],  # 12
    ["周婷", "", "", "lina@qq.com", "", "", "", "", ""],  # 13: same email as row 5
]


@pytest.fixture
def messy(tmp_path):
    return xlsx(tmp_path / "客户.xlsx", MESSY)


def test_a_messy_file_lands_in_the_pool_and_every_problem_is_reported(
    database, settings, cast, messy
) -> None:
    alice = cast.actor(cast.alice)
    job = run_import(database, settings, alice, messy)
    assert job.status == JobStatus.DONE
    assert job.summary() == {
        "read": 9,
        "inserted": 5,
        "merged": 0,
        "duplicates_in_file": 2,
        "rejected": 2,
        "report_path": job.report_path,
    }
    session = database.session()
    result = search_customers(session, alice, CustomerQuery(per_page=50))
    by_name = {c.name: c for c in result.items}
    wang = by_name["王丽"]
    assert [p.e164 for p in wang.phones] == ["+8613812345678"]
    assert wang.wechat_id == "wx_wangli" and wang.email == "wangli@163.com"  # filled by row 6
    assert sorted(wang.tags) == ["VIP", "上班族", "宝妈"]
    assert wang.custom_attributes == {"肤质": "干性"}  # the first row's value wins
    assert wang.owner_id == cast.bob.id and wang.gender == "female"
    li = by_name["李娜"]
    assert [p.e164 for p in li.phones] == ["+8613912345678", "+861088886666"]
    assert li.email == "lina@qq.com" and str(li.birthday) == "1988-02-01"
    assert str(by_name["张伟"].birthday) == "1987-08-11"  # an Excel serial
    sun = by_name["孙莉"]
    assert sun.birthday is None and sun.gender == "unknown" and sun.email is None
    assert sun.custom_attributes == {
        "手机": "abc",
        "邮箱": "not-an-email",
        "生日": "13/13/1990",
        "性别": "外星人",
        "负责人": "Nobody",
    }
    assert wang.import_job_id == job.id and wang.import_row == 4
    session.close()

    found = {(i.row_number, i.outcome) for i in issues(database, job.id)}
    assert {
        (6, Outcome.DUPLICATE),
        (13, Outcome.DUPLICATE),
        (7, Outcome.REJECTED),
        (8, Outcome.REJECTED),
    } <= found
    assert {row for row, outcome in found if outcome == Outcome.WARNING} == {12}


def test_the_report_keeps_row_numbers_original_values_and_neutralises_formulas(
    database, settings, cast, messy
) -> None:
    job = run_import(database, settings, cast.actor(cast.alice), messy)
    assert job.report_path.endswith("report.csv")
    book = load_workbook(job.report_path.replace(".csv", ".xlsx"))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("行号", "结果", "原因") and rows[0][3:] == tuple(HEADER)
    by_row = {r[0]: r for r in rows[1:]}
    assert by_row[7][1] == "未导入" and by_row[7][2] == "缺少姓名。"
    assert by_row[7][3:5] == (None, "13700000000")
    assert by_row[8][4] == "12345"
    assert "第 4 行" in by_row[6][2]
    with open(job.report_path, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert [line[0] for line in lines[1:]] == [str(r[0]) for r in rows[1:]]
    for row in rows:
        for cell in row:
            assert not (isinstance(cell, str) and cell.startswith(("=", "+", "-", "@")))


def test_duplicates_across_batches_are_found_in_the_database(
    database, settings, cast, tmp_path
) -> None:
    rows = [HEADER] + [
        [f"客户{i}", f"1381234{i % 5:04d}", "", "", "", "", f"标签{i}", "", ""] for i in range(12)
    ]
    job = run_import(
        database, settings, cast.actor(cast.alice), csv_file(tmp_path / "d.csv", rows), batch_size=3
    )
    assert (job.inserted, job.duplicates_in_file) == (5, 7)
    first = pool(database, cast.acme.id)[0]
    assert first[0] == "客户0" and first[-1] == ("标签0", "标签10", "标签5")
    notes = [i for i in issues(database, job.id) if i.outcome == Outcome.DUPLICATE]
    assert {i.params["row"] for i in notes} == {2, 3, 4, 5, 6}


def _existing(database, cast) -> int:
    with database.unit_of_work() as session:
        customer = Customer(
            org_id=cast.acme.id,
            name="王丽丽",
            nickname=None,
            wechat_id="wx_wangli",
            custom_attributes={"肤质": "混合"},
            owner_id=cast.bob.id,
        )
        session.add(customer)
        session.commit()
        return customer.id


@pytest.mark.parametrize("policy", ["fill", "overwrite", "skip"])
def test_rows_matching_the_pool_follow_the_merge_policy(
    database, settings, cast, tmp_path, policy
) -> None:
    existing = _existing(database, cast)
    rows = [HEADER, ["王丽", "13812345678", "wx_wangli", "w@qq.com", "", "女", "VIP", "", "干性"]]
    job = run_import(
        database,
        settings,
        cast.actor(cast.maggie),
        csv_file(tmp_path / "p.csv", rows),
        policy=policy,
    )
    assert (job.inserted, job.merged + job.skipped) == (0, 1)
    with database.unit_of_work(write=False) as session:
        customer = session.get(Customer, existing)
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MERGED)
        ).all()
        phones = [p.e164 for p in customer.phones]
        if policy == "skip":
            assert customer.name == "王丽丽" and phones == [] and audit == []
            assert issues(database, job.id)[0].outcome == Outcome.SKIPPED
            return
        assert phones == ["+8613812345678"]
        assert customer.email == "w@qq.com" and customer.tags == ["VIP"]
        assert customer.name == ("王丽" if policy == "overwrite" else "王丽丽")
        assert customer.custom_attributes == {"肤质": "干性" if policy == "overwrite" else "混合"}
        assert len(audit) == 1 and audit[0].target_id == existing
        details = audit[0].details
        assert details["source"] == "import" and details["import_job_id"] == job.id
        assert "phones" in details["filled_fields"]


def test_running_the_same_file_again_changes_nothing(database, settings, cast, messy) -> None:
    alice = cast.actor(cast.alice)
    run_import(database, settings, alice, messy)
    before = pool(database, cast.acme.id)
    with database.unit_of_work(write=False) as session:
        stamps = sorted(session.scalars(select(Customer.updated_at)).all())
    again = run_import(database, settings, alice, messy)
    assert (again.inserted, again.merged, again.rejected) == (0, 5, 2)
    assert pool(database, cast.acme.id) == before
    with database.unit_of_work(write=False) as session:
        assert sorted(session.scalars(select(Customer.updated_at)).all()) == stamps
        merged_audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MERGED)
        ).all()
        imported = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.IMPORTED)
            .order_by(AuditEvent.id)
        ).all()
        assert merged_audit == []  # nothing changed, so nothing was merged
        assert len(imported) == 2 and imported[1].details["merged"] == 5


def test_external_ids_identify_customers_too(database, settings, cast, tmp_path) -> None:
    rows = [
        ["姓名", "会员卡号", "手机"],
        ["王丽", "VIP-001", ""],
        ["王丽", "VIP-001", "13812345678"],
    ]
    job = run_import(database, settings, cast.actor(cast.alice), csv_file(tmp_path / "x.csv", rows))
    assert (job.inserted, job.duplicates_in_file) == (1, 1)
    again = run_import(
        database, settings, cast.actor(cast.alice), csv_file(tmp_path / "y.csv", rows[:2])
    )
    assert (again.inserted, again.merged) == (0, 1)


def test_a_viewer_cannot_import(database, settings, cast, messy) -> None:
    with pytest.raises(PermissionDenied):
        run_import(database, settings, cast.actor(cast.victor), messy)


def test_a_salesperson_imports_for_themselves_and_cannot_touch_a_colleagues_customers(
    database, settings, cast, tmp_path
) -> None:
    _existing(database, cast)  # bob's customer with wx_wangli
    rows = [
        HEADER,
        ["王丽", "", "wx_wangli", "", "", "", "", "", ""],
        ["新客户", "13912345678", "", "", "", "", "", "Bob", ""],
    ]
    carol = cast.actor(cast.carol)
    job = run_import(database, settings, carol, csv_file(tmp_path / "s.csv", rows))
    assert (job.inserted, job.rejected, job.merged) == (1, 1, 0)
    with database.unit_of_work(write=False) as session:
        new = session.scalars(select(Customer).where(Customer.name == "新客户")).one()
        assert new.owner_id == cast.carol.id
    reasons = {i.row_number: i for i in issues(database, job.id)}
    assert reasons[2].outcome == Outcome.REJECTED
    assert reasons[3].outcome == Outcome.WARNING  # "Bob" was not used as the owner


def test_jobs_are_seen_by_their_tenant_and_sales_see_their_own(
    database, settings, cast, messy
) -> None:
    job = run_import(database, settings, cast.actor(cast.bob), messy)
    with database.unit_of_work(write=False) as session:
        assert service.get_job_for(session, cast.actor(cast.maggie), job.id).id == job.id
        for outsider in (cast.oscar, cast.carol):
            with pytest.raises(NotFound):
                service.get_job_for(session, cast.actor(outsider), job.id)
        assert service.list_jobs(session, cast.actor(cast.carol)) == []
        assert session.get(ImportJob, job.id).created_by == cast.bob.id


def test_erasing_a_customer_clears_their_rows_in_import_reports(
    database, settings, cast, messy
) -> None:
    from laoke.customers.erasure import erase_customer

    alice = cast.actor(cast.alice)
    job = run_import(database, settings, alice, messy)
    duplicate = next(i for i in issues(database, job.id) if i.row_number == 6)
    assert duplicate.customer_id is not None and "王丽" in duplicate.values
    with database.unit_of_work() as session:
        erase_customer(session, alice, duplicate.customer_id, reason="request")
    after = next(i for i in issues(database, job.id) if i.row_number == 6)
    assert after.values == [] and after.params == {}

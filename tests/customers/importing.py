"""Running a customer import in a test, start to finish, through the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from laoke.accounts.actor import Actor
from laoke.config import Settings
from laoke.customers.models import Customer, CustomerPhone, CustomerTag
from laoke.db import Database
from laoke.imports import service
from laoke.imports.jobs import run_job
from laoke.imports.models import ImportIssue, ImportJob

HEADER = ["姓名", "手机", "微信", "邮箱", "生日", "性别", "标签", "负责人", "肤质"]


def run_import(
    database: Database,
    settings: Settings,
    actor: Actor,
    path: Path,
    *,
    batch_size: int = 5000,
    **confirm: Any,
) -> ImportJob:
    with database.unit_of_work() as session, path.open("rb") as source:
        job = service.create_job(session, settings, actor, "customers", path.name, source)
        service.confirm_job(session, actor, job.id, **confirm)
        job_id = job.id
    return run_job(database, settings, job_id, batch_size=batch_size)


def issues(database: Database, job_id: int) -> list[ImportIssue]:
    with database.unit_of_work(write=False) as session:
        found = list(
            session.scalars(
                select(ImportIssue)
                .where(ImportIssue.job_id == job_id)
                .order_by(ImportIssue.row_number, ImportIssue.id)
            )
        )
        session.expunge_all()
        return found


def pool(database: Database, org_id: int) -> list[tuple]:
    """Everything that makes up the pool, comparable between runs (ids and times left out)."""
    with database.unit_of_work(write=False) as session:
        customers = session.scalars(
            select(Customer)
            .where(Customer.org_id == org_id)
            .order_by(Customer.import_row, Customer.name)
        ).all()
        result = []
        for c in customers:
            phones = session.scalars(
                select(CustomerPhone.e164)
                .where(CustomerPhone.customer_id == c.id)
                .order_by(CustomerPhone.e164)
            ).all()
            tags = session.scalars(
                select(CustomerTag.tag)
                .where(CustomerTag.customer_id == c.id)
                .order_by(CustomerTag.tag)
            ).all()
            result.append(
                (
                    c.name,
                    c.nickname,
                    c.wechat_id,
                    c.email,
                    c.birthday,
                    c.gender,
                    c.owner_id,
                    c.marketing_consent,
                    tuple(sorted((c.custom_attributes or {}).items())),
                    c.import_row,
                    c.merged_into_id is None,
                    tuple(phones),
                    tuple(tags),
                )
            )
        return result

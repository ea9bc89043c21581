"""JSON API for imports: upload a file, follow the job, download the report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from laoke.errors import N_
from laoke.imports import service
from laoke.imports.jobs import is_stale
from laoke.imports.mapping import InvalidMapping
from laoke.imports.models import ImportJob, JobStatus, MergePolicy
from laoke.imports.pages import UploadLimit
from laoke.imports.report import report_file
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep, SettingsDep

router = APIRouter(
    prefix="/api/v1/imports", tags=["imports"], dependencies=[UploadLimit, CsrfProtected]
)


class ImportJobPublic(BaseModel):
    id: int
    kind: str
    status: JobStatus
    interrupted: bool = Field(description="Running, but its process is gone; resume it")
    filename: str
    sheet: str | None
    header_row: int = Field(description="Spreadsheet row number of the header")
    headers: list[str]
    mapping: list[str] = Field(description="Per column: a field, 'custom' or 'ignore'")
    policy: MergePolicy
    progress: float = Field(description="0 to 1")
    read: int
    inserted: int
    merged: int
    skipped: int
    duplicates_in_file: int
    rejected: int
    warnings: int
    checkpoint_row: int
    error_code: str | None
    report_urls: dict[str, str]
    created_at: datetime
    finished_at: datetime | None


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping: dict[str, str] | list[str] | None = Field(
        default=None,
        description="Either one target per column, or {column header or letter: target}",
    )
    policy: MergePolicy = MergePolicy.FILL
    day_first: bool | None = None
    default_owner_id: int | None = None


def job_public(job: ImportJob) -> ImportJobPublic:
    done = job.status == JobStatus.DONE
    return ImportJobPublic(
        id=job.id,
        kind=job.kind,
        status=JobStatus(job.status),
        interrupted=is_stale(job),
        filename=job.filename,
        sheet=job.sheet,
        header_row=job.header_row,
        headers=list(job.headers),
        mapping=list(job.mapping),
        policy=MergePolicy(job.policy),
        progress=round(job.progress or 0.0, 4),
        read=job.rows_read,
        inserted=job.inserted,
        merged=job.merged,
        skipped=job.skipped,
        duplicates_in_file=job.duplicates_in_file,
        rejected=job.rejected,
        warnings=job.warnings,
        checkpoint_row=job.checkpoint_row,
        error_code=job.error_code,
        report_urls={
            fmt: f"/api/v1/imports/{job.id}/report?format={fmt}" for fmt in ("xlsx", "csv")
        }
        if done
        else {},
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def _mapping(text: str | None) -> dict[str, str] | list[str] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMapping(reason=str(exc)) from exc
    if not isinstance(value, dict | list):
        raise InvalidMapping(N_("The mapping must be a JSON object or list."))
    return value


FileField = Annotated[UploadFile, File(description=".xlsx .xls .ods .csv .tsv")]
SheetField = Annotated[str | None, Form(max_length=255)]
MappingField = Annotated[
    str | None, Form(description="JSON: {column: field} or a list, one target per column")
]
DayFirstField = Annotated[bool | None, Form()]
StartField = Annotated[
    bool, Form(description="false: only detect the header and mapping (status pending)")
]


def _upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    kind: str,
    file: UploadFile,
    *,
    sheet: str | None,
    mapping: str | None,
    policy: MergePolicy,
    day_first: bool | None,
    start: bool,
) -> ImportJobPublic:
    overrides = _mapping(mapping)
    job = service.create_job(
        session, settings, actor, kind, file.filename or "upload", file.file, sheet=sheet
    )
    if start:
        job = service.confirm_job(
            session,
            actor,
            job.id,
            mapping=overrides,
            policy=policy,
            day_first=day_first,
            default_owner_id=actor.user_id,
        )
        service.start_in_background(request.app.state.database, settings, job.id)
    return job_public(job)


@router.post(
    "/customers",
    response_model=ImportJobPublic,
    status_code=201,
    summary="Upload a spreadsheet of customers and start importing it",
)
def upload_customers(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    file: FileField,
    sheet: SheetField = None,
    mapping: MappingField = None,
    policy: Annotated[MergePolicy, Form()] = MergePolicy.FILL,
    day_first: DayFirstField = None,
    start: StartField = True,
) -> ImportJobPublic:
    return _upload(
        request,
        session,
        settings,
        actor,
        "customers",
        file,
        sheet=sheet,
        mapping=mapping,
        policy=policy,
        day_first=day_first,
        start=start,
    )


@router.post(
    "/orders",
    response_model=ImportJobPublic,
    status_code=201,
    summary="Upload a spreadsheet of orders (a shop export) and start importing it",
)
def upload_orders(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    file: FileField,
    sheet: SheetField = None,
    mapping: MappingField = None,
    day_first: DayFirstField = None,
    start: StartField = True,
) -> ImportJobPublic:
    return _upload(
        request,
        session,
        settings,
        actor,
        "orders",
        file,
        sheet=sheet,
        mapping=mapping,
        policy=MergePolicy.SKIP,
        day_first=day_first,
        start=start,
    )


@router.get("", response_model=list[ImportJobPublic], summary="Recent imports")
def list_imports(session: SessionDep, actor: ApiActor) -> list[ImportJobPublic]:
    return [job_public(job) for job in service.list_jobs(session, actor)]


@router.get("/{job_id}", response_model=ImportJobPublic, summary="An import's status and counts")
def get_import(session: SessionDep, actor: ApiActor, job_id: int) -> ImportJobPublic:
    return job_public(service.get_job_for(session, actor, job_id))


@router.post(
    "/{job_id}/confirm",
    response_model=ImportJobPublic,
    summary="Confirm a pending import's mapping and start it",
)
def confirm_import(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    job_id: int,
    body: ConfirmRequest,
) -> ImportJobPublic:
    job = service.confirm_job(
        session,
        actor,
        job_id,
        mapping=body.mapping,
        policy=body.policy,
        day_first=body.day_first,
        default_owner_id=body.default_owner_id
        if body.default_owner_id is not None
        else actor.user_id,
    )
    service.start_in_background(request.app.state.database, settings, job.id)
    return job_public(job)


@router.post(
    "/{job_id}/resume", response_model=ImportJobPublic, summary="Resume an interrupted import"
)
def resume_import(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ApiActor, job_id: int
) -> ImportJobPublic:
    job = service.resume_job(session, actor, job_id)
    service.start_in_background(request.app.state.database, settings, job.id)
    return job_public(job)


@router.get(
    "/{job_id}/report",
    summary="The report of rows not taken in as given (xlsx or csv)",
    response_class=FileResponse,
)
def download_report(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    job_id: int,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> FileResponse:
    job = service.get_job_for(session, actor, job_id)
    path = report_file(session, settings, job, format, request.state.language)
    return FileResponse(path, filename=service.report_filename(job, format))

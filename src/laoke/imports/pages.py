"""Import pages: upload → preview and mapping → confirm → progress → summary with the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.accounts.service import list_staff
from laoke.config import Settings
from laoke.errors import DomainError
from laoke.imports import service
from laoke.imports.jobs import is_stale
from laoke.imports.models import (
    JOB_STATUS_LABELS,
    MERGE_POLICY_LABELS,
    OUTCOME_LABELS,
    JobStatus,
    MergePolicy,
)
from laoke.imports.report import REPORT_FORMATS, reason_text, report_file
from laoke.imports.safety import FileTooLarge
from laoke.web.deps import CsrfProtected, PageActor, SessionDep, SettingsDep
from laoke.web.templating import render


def upload_limit(request: Request) -> None:
    """Refuse an oversized upload from its Content-Length, before the body is read."""
    settings = request.app.state.settings
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > settings.upload_max_bytes + 1024 * 1024:
        raise FileTooLarge(limit=f"{settings.upload_max_bytes / 1024 / 1024:.0f}")


UploadLimit = Depends(upload_limit)
router = APIRouter(
    prefix="/imports", include_in_schema=False, dependencies=[UploadLimit, CsrfProtected]
)


@router.get("")
def imports_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    jobs = service.list_jobs(session, actor)
    return render(
        request,
        "imports.html",
        {
            "jobs": jobs,
            "status_labels": JOB_STATUS_LABELS,
            "stale": {job.id for job in jobs if is_stale(job)},
            "max_mb": int(request.app.state.settings.upload_max_bytes / 1024 / 1024),
        },
    )


@router.post("")
async def upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=32)] = "customers",
) -> Response:
    job = service.create_job(session, settings, actor, kind, file.filename or "upload", file.file)
    return RedirectResponse(f"/imports/{job.id}", status_code=303)


def _preview_context(
    request: Request, session: Session, settings: Settings, actor: Actor, job_id: int
) -> dict:
    preview = service.preview(session, settings, actor, job_id)
    return {
        "job": preview.job,
        "info": preview.info,
        "rows": preview.rows,
        "choices": preview.choices,
        "policies": list(MergePolicy),
        "policy_labels": MERGE_POLICY_LABELS,
        "staff": list_staff(session, actor) if actor.can(Permission.SEE_ALL_CUSTOMERS) else [],
        "error": None,
    }


@router.get("/{job_id}")
def job_page(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor, job_id: int
) -> HTMLResponse:
    job = service.get_job_for(session, actor, job_id)
    if job.status == JobStatus.PENDING:
        return render(
            request,
            "import_preview.html",
            _preview_context(request, session, settings, actor, job_id),
        )
    issues = (
        session.scalars(service.issues_of(job).limit(50)).all()
        if job.status == JobStatus.DONE
        else []
    )
    creator = session.get(User, job.created_by) if job.created_by else None
    return render(
        request,
        "import_job.html",
        {
            "job": job,
            "creator": creator,
            "stale": is_stale(job),
            "status_labels": JOB_STATUS_LABELS,
            "policy_labels": MERGE_POLICY_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "issues": issues,
            "reason": lambda issue: reason_text(issue, request.state.language),
            "formats": REPORT_FORMATS,
        },
    )


@router.get("/{job_id}/progress")
def job_progress(request: Request, session: SessionDep, actor: PageActor, job_id: int) -> Response:
    job = service.get_job_for(session, actor, job_id)
    if not job.is_active or is_stale(job):
        # Finished (or interrupted): reload the whole page to show the summary.
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(
        request, "_import_progress.html", {"job": job, "status_labels": JOB_STATUS_LABELS}
    )


@router.post("/{job_id}/sheet")
def choose_sheet(
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    job_id: int,
    sheet: Annotated[str, Form(max_length=255)],
) -> Response:
    service.choose_sheet(session, settings, actor, job_id, sheet)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.post("/{job_id}/confirm")
async def confirm(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    job_id: int,
) -> Response:
    form = await request.form()
    job = service.get_job_for(session, actor, job_id)
    mapping = [str(form.get(f"column_{index}", "custom")) for index in range(len(job.headers))]
    date_order = str(form.get("date_order", ""))
    owner = str(form.get("default_owner_id", ""))
    try:
        service.confirm_job(
            session,
            actor,
            job_id,
            mapping=mapping,
            policy=str(form.get("policy", MergePolicy.FILL)),
            day_first={"day": True, "month": False}.get(date_order),
            default_owner_id=int(owner)
            if owner.isdigit()
            else (None if actor.can(Permission.SEE_ALL_CUSTOMERS) else actor.user_id),
        )
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        context = _preview_context(request, session, settings, actor, job_id)
        context["error"] = exc
        return render(request, "import_preview.html", context, status_code=exc.status)
    service.start_in_background(request.app.state.database, settings, job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.post("/{job_id}/resume")
def resume(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor, job_id: int
) -> Response:
    service.resume_job(session, actor, job_id)
    service.start_in_background(request.app.state.database, settings, job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.get("/{job_id}/report.{fmt}")
def report(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    job_id: int,
    fmt: str,
) -> FileResponse:
    job = service.get_job_for(session, actor, job_id)
    path: Path = report_file(session, settings, job, fmt, request.state.language)
    return FileResponse(path, filename=service.report_filename(job, fmt))

"""Public pages: the landing page `/r/{code}` with its QR and poster, and the referrer
portal `/me/{token}`. No sign-in, no JavaScript, no stack traces; rate limited."""

from __future__ import annotations

import contextlib
import threading
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from laoke.accounts import tokens
from laoke.config import Settings
from laoke.db import Database, utcnow
from laoke.errors import N_, DomainError
from laoke.fraud import devices
from laoke.referrals import landing, leads, media, portal, sharing
from laoke.referrals.attribution import Origin, Referrer, attribute, clean_referee
from laoke.referrals.codes import link_for, resolve
from laoke.referrals.landing import Invitation, InvitationCache
from laoke.referrals.models import (
    ATTRIBUTION_LABELS,
    LEAD_STATUS_LABELS,
    InviteCode,
    LeadSource,
    ReferralProgram,
)
from laoke.referrals.throttle import Throttle
from laoke.tenancy.models import Org
from laoke.web.deps import SessionDep, SettingsDep
from laoke.web.i18n import translations
from laoke.web.security import client_ip
from laoke.web.templating import render

router = APIRouter(include_in_schema=False)
_throttle_lock = threading.Lock()
_sqlite_writer = threading.Lock()
IMAGE_CACHE = "public, max-age=86400"


def throttle_of(request: Request) -> Throttle:
    state = request.app.state
    with _throttle_lock:
        if getattr(state, "referral_throttle", None) is None:
            state.referral_throttle = Throttle()
    return state.referral_throttle


def _hash(settings: Settings, kind: str, value: str) -> str:
    return tokens.sign(settings.secret_key, f"{kind}:{value}")


def _unavailable(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    return render(
        request,
        "referral_unavailable.html",
        {"title": gettext(title), "detail": gettext(detail)},
        status_code=status,
    )


def _not_found(request: Request) -> HTMLResponse:
    return _unavailable(
        request,
        404,
        N_("This invitation is not valid"),
        N_("The link may be mistyped or no longer in use. Ask your friend for a new one."),
    )


def invitations_of(request: Request) -> InvitationCache:
    state = request.app.state
    with _throttle_lock:
        if getattr(state, "referral_invitations", None) is None:
            state.referral_invitations = InvitationCache()
    return state.referral_invitations


def _load_invitation(request: Request, code: str) -> Invitation | None:
    database: Database = request.app.state.database
    with database.unit_of_work(write=False) as session:
        invitation = landing.load(session, code)
    if invitation is not None:
        invitations_of(request).put(invitation)
    return invitation


def _landing(
    request: Request,
    invitation: Invitation,
    *,
    form: dict[str, object] | None = None,
    error: str | None = None,
    done: bool = False,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "code": invitation.code,
        "inviter": invitation.inviter,
        "org_name": invitation.org_name,
        "program": invitation.program,
        "form": form or {"name": "", "phone": "", "consent": False},
        "error": error,
        "done": done,
    }
    return render(request, "landing.html", context, status_code=status)


@router.get("/r/{code}")
async def landing_page(request: Request, code: str) -> HTMLResponse:
    throttle_of(request).page(client_ip(request))
    invitation = invitations_of(request).get(code)
    if invitation is None:
        invitation = await run_in_threadpool(_load_invitation, request, code)
    if invitation is None:
        return _not_found(request)
    language = getattr(request.state, "language", "zh_CN")
    cache = invitations_of(request)
    html = cache.page(invitation.code, language)
    if html is None:
        response = _landing(request, invitation)
        cache.put_page(invitation.code, language, bytes(response.body).decode())
    else:
        response = HTMLResponse(html)
    device, new = devices.device_id(request)
    if new:
        devices.remember(response, request, device)
    return response


@router.post("/r/{code}")
def submit_lead(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: str,
    name: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=2000)] = "",
    consent: Annotated[str, Form(max_length=20)] = "",
    website: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    database: Database = request.app.state.database
    # SQLite takes one writer at a time: queue submissions here, in order, rather than in
    # SQLite's busy handler, which polls with sleeps and starves some under load.
    device, new = devices.device_id(request)
    with _sqlite_writer if database.is_sqlite else contextlib.nullcontext():
        response = _submit(request, session, settings, code, name, phone, consent, website, device)
    if new:
        devices.remember(response, request, device)
    return response


def _submit(
    request: Request,
    session: Session,
    settings: Settings,
    code: str,
    name: str,
    phone: str,
    consent: str,
    website: str,
    device: str,
) -> HTMLResponse:
    row = resolve(session, code)
    customer, user = landing.holder_of(session, row) if row else (None, None)
    if row is None or not landing.holder_active(customer, user):
        invitations_of(request).forget(code)
        return _not_found(request)
    ip = client_ip(request)
    throttle_of(request).submit(ip, row.code)
    invitation = invitations_of(request).get(row.code) or landing.load(session, row.code)
    if invitation is None:
        return _not_found(request)
    if website.strip():
        # A bot filled the hidden field: thank it and record nothing.
        return _landing(request, invitation, done=True)
    agreed = consent.strip().lower() in ("yes", "on", "true", "1")
    form = {"name": name[:100], "phone": phone[:40], "consent": agreed}
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    if not agreed:
        message = gettext(N_("Please agree to be contacted, so that we can reach you."))
        return _landing(request, invitation, form=form, error=message, status=422)
    try:
        referee = clean_referee(name, phone, None, agreed)
    except DomainError as exc:
        text = gettext(exc.message)
        message = text % exc.params if exc.params else text
        return _landing(request, invitation, form=form, error=message, status=422)
    referrer = Referrer(row.org_id, customer, user, row.id)
    origin = Origin(
        LeadSource.LANDING,
        ip_hash=_hash(settings, "ip", ip),
        user_agent_hash=_hash(settings, "ua", request.headers.get("user-agent", "")[:500]),
        device_hash=devices.device_hash(settings, device),
    )
    program = session.get(ReferralProgram, invitation.program.id) if invitation.program else None
    lead = attribute(session, referrer, program, referee, origin)
    leads.record_new(session, lead, None)
    session.commit()
    return _landing(request, invitation, done=True)


def _image(session: Session, request: Request, code: str) -> InviteCode | None:
    throttle_of(request).page(client_ip(request))
    return resolve(session, code)


@router.get("/r/{code}/qr.svg")
def qr_svg(request: Request, session: SessionDep, settings: SettingsDep, code: str) -> Response:
    row = _image(session, request, code)
    if row is None:
        return _not_found(request)
    body = media.qr_svg(link_for(settings.base_url, row.code).link)
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": IMAGE_CACHE})


@router.get("/r/{code}/qr.png")
def qr_png(request: Request, session: SessionDep, settings: SettingsDep, code: str) -> Response:
    row = _image(session, request, code)
    if row is None:
        return _not_found(request)
    body = media.qr_png(link_for(settings.base_url, row.code).link)
    return Response(body, media_type="image/png", headers={"Cache-Control": IMAGE_CACHE})


@router.get("/r/{code}/poster.png")
def poster_png(request: Request, session: SessionDep, settings: SettingsDep, code: str) -> Response:
    row = _image(session, request, code)
    customer, user = landing.holder_of(session, row) if row else (None, None)
    if row is None or not landing.holder_active(customer, user):
        return _not_found(request)
    language = getattr(request.state, "language", "zh_CN")
    gettext = translations(language).gettext
    program = sharing.program_of(session, row)
    org = session.get(Org, row.org_id)
    body = media.poster_png(
        headline=program.name if program else (org.name if org else ""),
        invited_by=gettext(N_("%(name)s invites you"))
        % {"name": sharing.display_name(customer, user)},
        offer=program.referee_offer_text if program else "",
        code=row.code,
        link=link_for(settings.base_url, row.code).link,
        language=language,
    )
    return Response(body, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})


@router.get("/me/{token}")
def referrer_portal(
    request: Request, session: sharing.WriteSessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    throttle_of(request).page(client_ip(request))
    found = portal.resolve(session, token)
    if found is None:
        return _unavailable(
            request,
            404,
            N_("This link is not valid"),
            N_("It may have expired or been replaced. Ask the shop for a new link."),
        )
    row, customer = found
    row.last_used_at = utcnow()
    device, new = devices.device_id(request)
    hashed = devices.device_hash(settings, device)
    ip_hash = _hash(settings, "ip", client_ip(request))
    devices.record_customer_device(session, customer.org_id, customer.id, hashed, ip_hash)
    view = portal.view(session, customer)
    session.commit()
    org = session.get(Org, customer.org_id)
    context = {
        "view": view,
        "org_name": org.name if org else "",
        "timezone": org.timezone if org else "Asia/Shanghai",
        "link": link_for(settings.base_url, view.code.code).link if view.code else "",
        "status_labels": LEAD_STATUS_LABELS,
        "attribution_labels": ATTRIBUTION_LABELS,
    }
    response = render(request, "portal.html", context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if new:
        devices.remember(response, request, device)
    return response

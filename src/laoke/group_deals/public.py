"""The public group page `/g/{token}`: the offer, who opened it, how many joined and are
still needed, time left and the join form. No sign-in, no JavaScript; rate limited like
the referral landing page, with a honeypot and a consent checkbox."""

from __future__ import annotations

import contextlib
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from laoke.db import Database
from laoke.errors import N_, DomainError
from laoke.group_deals import groups, views
from laoke.group_deals.models import BENEFIT_LABELS, GROUP_STATUS_LABELS, Group, GroupStatus
from laoke.group_deals.offers import MEMBER_KIND_LABELS
from laoke.orders.models import Product
from laoke.referrals import media
from laoke.referrals.throttle import Throttle
from laoke.tenancy.models import Org
from laoke.web.deps import SessionDep, SettingsDep
from laoke.web.i18n import translations
from laoke.web.security import client_ip
from laoke.web.templating import render

router = APIRouter(include_in_schema=False)
_throttle_lock = threading.Lock()
_sqlite_writer = threading.Lock()


def throttle_of(request: Request) -> Throttle:
    state = request.app.state
    with _throttle_lock:
        if getattr(state, "group_throttle", None) is None:
            state.group_throttle = Throttle()
    return state.group_throttle


def _gettext(request: Request) -> Any:
    return translations(getattr(request.state, "language", "zh_CN")).gettext


def _not_found(request: Request) -> HTMLResponse:
    gettext = _gettext(request)
    return render(
        request,
        "referral_unavailable.html",
        {
            "title": gettext(N_("This group link is not valid")),
            "detail": gettext(
                N_("The link may be mistyped or no longer in use. Ask your friend for a new one.")
            ),
        },
        status_code=404,
    )


def _page(
    request: Request,
    session: Session,
    group: Group,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    done: bool = False,
    status: int = 200,
) -> HTMLResponse:
    view = views.group_view(session, group)
    org = session.get(Org, group.org_id)
    product = session.get(Product, view.offer.product_id) if view.offer.product_id else None
    context = {
        "view": view,
        "token": group.token,
        "org_name": org.name if org else "",
        "leader": views.mask_name(view.leader_name),
        "needed": max(view.size - view.joined, 0),
        "left": views.split_time(view.time_left),
        "product_name": product.name if product else "",
        "form": form or {"name": "", "phone": "", "consent": False},
        "error": error,
        "done": done,
        "open": view.status == GroupStatus.OPEN,
        "status_labels": GROUP_STATUS_LABELS,
        "benefit_labels": BENEFIT_LABELS,
        "member_kind_labels": MEMBER_KIND_LABELS,
    }
    response = render(request, "group_public.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/g/{token}")
def group_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    throttle_of(request).page(client_ip(request))
    group = groups.resolve(session, token)
    if group is None:
        return _not_found(request)
    return _page(request, session, group)


@router.post("/g/{token}")
def join_group(
    request: Request,
    session: SessionDep,
    token: str,
    name: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=2000)] = "",
    consent: Annotated[str, Form(max_length=20)] = "",
    website: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    database: Database = request.app.state.database
    # SQLite takes one writer at a time: queue joins here rather than in its busy handler.
    with _sqlite_writer if database.is_sqlite else contextlib.nullcontext():
        return _join(request, session, token, name, phone, consent, website)


def _join(
    request: Request,
    session: Session,
    token: str,
    name: str,
    phone: str,
    consent: str,
    website: str,
) -> HTMLResponse:
    ip = client_ip(request)
    throttle_of(request).page(ip)
    group = groups.resolve(session, token)
    if group is None:
        return _not_found(request)
    throttle_of(request).submit(ip, group.token)
    if website.strip():
        # A bot filled the hidden field: thank it and record nothing.
        return _page(request, session, group, done=True)
    agreed = consent.strip().lower() in ("yes", "on", "true", "1")
    form = {"name": name[:100], "phone": phone[:40], "consent": agreed}
    gettext = _gettext(request)
    group_id = group.id
    try:
        groups.join_by_link(session, group, name, phone, consent=agreed)
    except DomainError as exc:
        session.rollback()
        text = gettext(exc.message)
        message = text % exc.params if exc.params else text
        fresh = session.get(Group, group_id)
        assert fresh is not None
        return _page(request, session, fresh, form=form, error=message, status=exc.status)
    session.commit()
    fresh = session.get(Group, group_id)
    assert fresh is not None
    return _page(request, session, fresh, done=True)


@router.get("/g/{token}/qr.svg")
def qr_svg(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> Response:
    throttle_of(request).page(client_ip(request))
    group = groups.resolve(session, token)
    if group is None:
        return _not_found(request)
    body = media.qr_svg(views.share_link(settings.base_url, group.token))
    return Response(
        body, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )

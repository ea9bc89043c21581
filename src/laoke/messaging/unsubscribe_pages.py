"""`/u/{token}`: the one-click unsubscribe link, public by design.

GET shows a confirmation button and changes nothing (mail scanners open links); POST
unsubscribes. POST also answers RFC 8058 one-click requests, which mail apps send with
the body `List-Unsubscribe=One-Click` and no cookies. No CSRF token is involved: the
request carries no ambient authority — only the signed token, which names one customer
of one tenant and can do nothing but withdraw that customer's marketing consent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from laoke.messaging import preferences
from laoke.messaging.consent import read_unsubscribe_token, withdraw_consent
from laoke.tenancy.models import Org
from laoke.web.deps import SessionDep, SettingsDep
from laoke.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, state: str, token: str, sender: str = "", status: int = 200
) -> HTMLResponse:
    response = render(
        request, "unsubscribe.html", {"state": state, "token": token, "sender": sender}, status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/u/{token}")
def confirm(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    found = read_unsubscribe_token(settings.secret_key, token)
    if found is None or session.get(Org, found[0]) is None:
        return _page(request, "invalid", "", status=404)
    sender = preferences.load(session, found[0]).sender_name
    return _page(request, "confirm", token, sender)


@router.post("/u/{token}")
def unsubscribe(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    found = read_unsubscribe_token(settings.secret_key, token)
    if found is None or session.get(Org, found[0]) is None:
        return _page(request, "invalid", "", status=404)
    org_id, customer_id = found
    withdraw_consent(session, org_id, customer_id)
    sender = preferences.load(session, org_id).sender_name
    session.commit()
    return _page(request, "done", token, sender)

"""Assembles the web application from the domains' routers."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from laoke import __version__
from laoke.config import Settings, get_settings
from laoke.db import Database, make_engine
from laoke.messaging.worker import lifespan as worker_lifespan
from laoke.web.deps import OptionalActor, SessionDep
from laoke.web.errors import install_error_handlers
from laoke.web.security import request_context_middleware
from laoke.web.write_turns import WriteTurns

STATIC_DIR = Path(__file__).resolve().parent / "static"

API_DESCRIPTION = """
JSON API of laoke. Authenticate with `Authorization: Bearer <token>`; create a token on
the *API tokens* page or with `laoke token create --org SLUG --email EMAIL`.
Errors are `application/problem+json` with a stable `code` field.
"""


def _routers() -> list[APIRouter]:
    # Imported here so that building the app, not importing this module, wires the domains.
    from laoke.accounts import api as accounts_api
    from laoke.accounts import pages as accounts_pages
    from laoke.audit import pages as audit_pages
    from laoke.customers import api as customers_api
    from laoke.customers import pages as customers_pages
    from laoke.engagement import cadence_pages, contact_api, contact_pages, today_api, today_pages
    from laoke.engagement import rules_api as engagement_rules_api
    from laoke.engagement import rules_pages as engagement_rules_pages
    from laoke.fraud import api as fraud_api
    from laoke.fraud import pages as fraud_pages
    from laoke.group_deals import api as group_deals_api
    from laoke.group_deals import pages as group_deals_pages
    from laoke.group_deals import public as group_deals_public
    from laoke.imports import api as imports_api
    from laoke.imports import pages as imports_pages
    from laoke.insights import api as insights_api
    from laoke.insights import pages as insights_pages
    from laoke.messaging import routers as messaging
    from laoke.orders import api as orders_api
    from laoke.orders import pages as orders_pages
    from laoke.referrals import api as referrals_api
    from laoke.referrals import pages as referrals_pages
    from laoke.referrals import public as referrals_public
    from laoke.rewards import api as rewards_api
    from laoke.rewards import pages as rewards_pages
    from laoke.rewards import rules_api as rewards_rules_api
    from laoke.rewards import rules_pages as rewards_rules_pages

    return [
        # First: the public landing page is the hottest path, and routes match in order.
        referrals_public.router,
        today_pages.router,
        today_api.router,
        cadence_pages.router,
        accounts_pages.router,
        accounts_api.router,
        customers_pages.router,
        customers_api.router,
        contact_pages.router,
        contact_api.router,
        audit_pages.router,
        imports_pages.router,
        imports_api.router,
        insights_pages.router,
        insights_api.router,
        *messaging.routers(),
        orders_pages.router,
        orders_api.router,
        referrals_pages.router,
        referrals_api.router,
        rewards_pages.router,
        rewards_api.router,
        engagement_rules_pages.router,
        engagement_rules_api.router,
        rewards_rules_pages.router,
        rewards_rules_api.router,
        fraud_pages.router,
        fraud_api.router,
        group_deals_public.router,
        group_deals_pages.router,
        group_deals_api.router,
    ]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(
        make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    )
    app = FastAPI(
        title="laoke API",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=worker_lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.write_turns = WriteTurns.for_database(
        database.is_sqlite, settings.sqlite_busy_timeout_ms / 1000
    )
    app.middleware("http")(request_context_middleware)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in _routers():
        app.include_router(router)

    @app.get("/healthz", tags=["system"], summary="Liveness and database check")
    def healthz(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def home(actor: OptionalActor) -> RedirectResponse:
        # Staff start their day with what is due; the Today page links everywhere else.
        return RedirectResponse("/today" if actor else "/login", status_code=303)

    return app

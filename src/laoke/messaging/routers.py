"""The messaging domain's routers, in the order the app mounts them."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from laoke.messaging import (
        api,
        campaign_pages,
        campaigns_api,
        channel_pages,
        pages,
        template_pages,
        unsubscribe_pages,
        webhooks_api,
    )

    return [
        unsubscribe_pages.router,
        pages.router,
        template_pages.router,
        channel_pages.router,
        campaign_pages.router,
        api.router,
        webhooks_api.router,
        campaigns_api.router,
    ]

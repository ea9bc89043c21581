"""What group deals plug into others: order subscribers and the expiry job."""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.events.bus import subscribe
    from laoke.group_deals import qualifying

    subscribe("order.created", qualifying.on_order_created)
    subscribe("order.refunded", qualifying.on_order_reversed)
    subscribe("order.cancelled", qualifying.on_order_reversed)
    register_jobs()


def register_jobs() -> None:
    from laoke.group_deals.groups import expire_job
    from laoke.messaging.scheduler import Job, register

    register(
        Job(
            "group_deals.expire",
            expire_job,
            every_minutes=15,
            description="Close groups whose deadline passed without completing",
        )
    )

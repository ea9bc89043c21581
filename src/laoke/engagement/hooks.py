"""What engagement plugs into others: figures refreshed on order and merge events, contact
text scrubbed on erasure, product-cycle tasks opened and closed, and the nightly jobs."""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.engagement import contacts, cycles, recompute, reminders

    contacts.install_hooks()
    recompute.install()
    cycles.install()
    reminders.register_jobs()

"""Relationship upkeep: contacts, cadence and the Today list, tasks, stages and figures."""

from laoke.engagement import contacts as _contacts

_contacts.install_hooks()

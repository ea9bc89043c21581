"""Relationship upkeep: contacts, cadence and the Today list, tasks, stages and figures.

Its event reactions and scheduled jobs are installed by `engagement.hooks.install()`,
called with the other domains' set-up (see messaging/hooks.py)."""

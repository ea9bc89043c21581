"""Relationship upkeep: contacts, cadence and the Today list, tasks, stages and figures."""

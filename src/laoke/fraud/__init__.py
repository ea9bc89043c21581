"""Fraud rules for referrals: which rules fired on a lead and with what inputs, a review
queue, and the answer the reward ledger asks before paying (`review.release_block`).

Importing the package installs its `lead.created` / `lead.status_changed` subscribers."""

from laoke.fraud import hooks as _hooks

_hooks.install()

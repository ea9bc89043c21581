"""Rewards you can trust: reward rules and ladders per program, agents' commission, points,
coupons, cash, gifts, privileges and titles, all value moving through an append-only,
hash-chained double-entry ledger.

Importing the package installs its event subscribers — after the referral domain's (a
converting order has converted its lead first) and the fraud checks' (a lead is checked
before it earns anything) — and its merge hook."""

import laoke.fraud
import laoke.referrals  # noqa: F401
from laoke.rewards import hooks as _hooks

_hooks.install()

"""Group deals (拼团): "3 join, 1 free", "bring 8 friends, learn free". An offer says how
many must buy, within how long, and what the group earns; customers open groups and share
a link; members qualify by buying; a completed group's benefit goes through the reward
ledger.

Importing the package installs its order subscribers (after the reward domain's) and its
scheduled expiry job."""

import laoke.rewards  # noqa: F401
from laoke.group_deals import hooks as _hooks

_hooks.install()

"""Numbers that steer: customer-value models fitted per tenant and what they predict."""

from laoke.insights import hooks as _hooks

_hooks.install()

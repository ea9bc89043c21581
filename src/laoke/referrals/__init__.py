"""Referral programs end to end: invite codes, links, QR and posters, the public landing
page, attribution, the lead pipeline and the referrer portal.

Importing the package installs its `order.created` subscriber (a friend's first paid order
converts their lead) and its erasure hook."""

from laoke.referrals import hooks as _hooks

_hooks.install()

"""Messages that really go out: templates, the outbox and its worker, channels (SMTP,
webhook, WeCom robot, SMS gateway), consent and unsubscribe, scheduled care, event
webhooks for integrations and campaigns.

Importing the package installs its event subscriber (event webhooks) and its erasure
hook, so any process that emits domain events also records their deliveries."""

from laoke.messaging import hooks as _hooks

_hooks.install()

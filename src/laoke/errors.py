"""Domain errors. Each carries an HTTP status, a stable machine `code` and a message
id that the web layer translates into the user's language."""

from __future__ import annotations

from typing import Any, ClassVar


def N_(message: str) -> str:  # noqa: N802 - gettext convention for "translate later"
    """Mark a message id for extraction; translation happens where it is shown."""
    return message


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = N_("The request could not be processed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        **params: Any,
    ) -> None:
        self.message = message or self.default_message
        self.params = params
        self.field = field
        if code:
            self.code = code  # type: ignore[misc]
        super().__init__(self.message % params if params else self.message)


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = N_("Not found.")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = N_("You do not have permission to do this.")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = N_("Please sign in.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = N_("This conflicts with existing data.")


class Invalid(DomainError):
    status = 422
    code = "invalid"
    default_message = N_("Some values are not valid.")


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
    default_message = N_("Too many attempts. Please wait a while and try again.")

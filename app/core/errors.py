"""Domain errors, raised by services and turned into HTTP answers in one place."""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(DomainError):
    """Absent, or not yours to see: the two are answered the same way."""

    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    """You may see it but not do this to it."""

    status_code = 403
    code = "forbidden"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Throttled(DomainError):
    status_code = 429
    code = "throttled"


class ServiceBusy(DomainError):
    """The database could not serve the request in time (a lock, a full pool): retry soon."""

    status_code = 503
    code = "busy"

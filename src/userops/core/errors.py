"""Error classes shared by every domain. Entrypoints map them to HTTP codes and exit codes."""

from __future__ import annotations


class UseropsError(Exception):
    """Base class. ``code`` is stable and machine-readable; ``field`` names the bad input."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidInput(UseropsError):
    code = "invalid"
    status = 400


class NotFound(UseropsError):
    code = "not_found"
    status = 404


class Conflict(UseropsError):
    code = "conflict"
    status = 409


class Unauthorized(UseropsError):
    code = "unauthorized"
    status = 401


class Forbidden(UseropsError):
    code = "forbidden"
    status = 403

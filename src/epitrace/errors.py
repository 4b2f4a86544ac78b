"""The one exception tree of epitrace.

    EpitraceError                 status 500, exit 1
    ├── InputError                status 400, exit 1: a value given by a user is wrong
    │   ├── RuleViolation         status 400, exit 1: a value breaks a domain rule (dates, plausibility)
    │   │   └── NeedsConfirmation status 400, exit 1: allowed only when the user confirms it on purpose
    │   └── ImportRejected        status 422, exit 1: a file failed validation; nothing was written
    ├── Unauthorized              status 401, exit 1: nobody is signed in, or the credentials are wrong
    ├── Forbidden                 status 403, exit 1: signed in, but the role may not do this
    ├── NotFound                  status 404, exit 1: no such record (or not visible to the caller)
    ├── Conflict                  status 409, exit 1: the request contradicts what is stored
    │   └── StaleRecord           status 409, exit 1: the record changed since the version the writer read
    ├── PayloadTooLarge           status 413, exit 1: a request body or file is over the size limit
    ├── TooManyRequests           status 429, exit 1: too many attempts; try again later
    ├── Unavailable               status 503, exit 1: a part of the service is not set up or not reachable
    └── ConfigurationError        status 500, exit 2: the installation or a setting is wrong

One handler maps these to HTTP responses (``epitrace.service.errors``) and one to CLI exit codes
(``epitrace.cli``); messages name the value, what was expected and how to fix it. Every item in
``errors`` has one shape, :class:`ErrorItem`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ErrorItem:
    """One problem inside an error: which field (and row of a file), the value, and why."""

    field: str
    reason: str
    value: str | None = None
    row: int | None = None

    @classmethod
    def of(cls, item: Any) -> ErrorItem:
        """The one shape from a row error of an importer, a mapping, or an ErrorItem."""
        if isinstance(item, ErrorItem):
            return item
        if isinstance(item, dict):
            data = item
        else:
            data = dict(getattr(item, "__dict__", {})) or {"reason": str(item)}
        value = data.get("value")
        return cls(field=str(data.get("field", data.get("column", data.get("location", ""))) or ""),
                   reason=str(data.get("reason", data.get("message", ""))),
                   value=None if value is None or value == "" else str(value),
                   row=data.get("row"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EpitraceError(Exception):
    """Base class of every error epitrace raises on purpose."""

    status = 500
    exit_code = 1

    def __init__(self, message: str, *, errors: list[Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.headers = headers or {}

    def items(self) -> list[ErrorItem]:
        return [ErrorItem.of(e) for e in self.errors]


class InputError(EpitraceError):
    """A value supplied by the user is invalid."""

    status = 400


class RuleViolation(InputError):
    """A value breaks a rule of the domain (dates out of order, implausible values)."""


class NeedsConfirmation(RuleViolation):
    """An unusual but possible value: it is accepted only when the user confirms it on purpose."""


class ImportRejected(InputError):
    """An import file failed validation; nothing was written."""

    status = 422


class Unauthorized(EpitraceError):
    """Nobody is signed in, or the user name, password or token is wrong."""

    status = 401


class Forbidden(EpitraceError):
    """The signed-in account's role may not do this."""

    status = 403


class NotFound(EpitraceError):
    """The record does not exist, or is outside the caller's scope."""

    status = 404


class Conflict(EpitraceError):
    """The request contradicts data already stored."""

    status = 409


class StaleRecord(Conflict):
    """The record was changed since the version the writer read; nothing was written (issue 11, point 3)."""

    def __init__(self, message: str, *, record_type: str, record_id: int, expected: int, version: int,
                 changed_by: str | None, changed_at: datetime | None, current: dict[str, Any] | None = None) -> None:
        super().__init__(message, errors=[ErrorItem("version", f"the {record_type} is now version {version}", str(expected))],
                         headers={"ETag": f'"{version}"'})
        self.record_type, self.record_id, self.expected, self.version = record_type, record_id, expected, version
        self.changed_by, self.changed_at = changed_by, changed_at
        self.current = current
        """The record as it is now, as its GET shows it (set by the API, which knows that representation)."""


class PayloadTooLarge(EpitraceError):
    """A request body or uploaded file is larger than the configured limit; nothing of it was used."""

    status = 413


class TooManyRequests(EpitraceError):
    """Too many attempts in a short time; the message says when to try again."""

    status = 429


class Unavailable(EpitraceError):
    """A part of the service is not set up on this server, or not reachable now."""

    status = 503


class ConfigurationError(EpitraceError):
    """The installation or a setting is unusable."""

    exit_code = 2

"""The one exception tree of epitrace.

    EpitraceError                 status 500, exit 1
    ├── InputError                status 400, exit 1: a value given by a user is wrong
    │   └── ImportRejected        status 422, exit 1: a file failed validation; nothing was written
    ├── NotFound                  status 404, exit 1: no such record (or not visible to the caller)
    ├── Conflict                  status 409, exit 1: the request contradicts what is stored
    └── ConfigurationError        status 500, exit 2: the installation or a setting is wrong

One handler maps these to HTTP responses and one to CLI exit codes; messages name the value,
what was expected and how to fix it.
"""

from __future__ import annotations

from typing import Any


class EpitraceError(Exception):
    """Base class of every error epitrace raises on purpose."""

    status = 500
    exit_code = 1

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InputError(EpitraceError):
    """A value supplied by the user is invalid."""

    status = 400


class ImportRejected(InputError):
    """An import file failed validation; nothing was written."""

    status = 422


class NotFound(EpitraceError):
    """The record does not exist, or is outside the caller's scope."""

    status = 404


class Conflict(EpitraceError):
    """The request contradicts data already stored."""

    status = 409


class ConfigurationError(EpitraceError):
    """The installation or a setting is unusable."""

    exit_code = 2

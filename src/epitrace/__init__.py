"""epitrace: outbreak investigation and exposure notification for public-health agencies."""

from epitrace.errors import (
    ConfigurationError,
    Conflict,
    EpitraceError,
    ImportRejected,
    InputError,
    NotFound,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "Conflict",
    "EpitraceError",
    "ImportRejected",
    "InputError",
    "NotFound",
    "__version__",
]

"""The public surface is deliberate: changing it must change this test."""

from __future__ import annotations

import epitrace
from epitrace.errors import EpitraceError


def test_exported_members() -> None:
    assert epitrace.__all__ == sorted(epitrace.__all__)
    assert epitrace.__all__ == [
        "ConfigurationError", "Conflict", "EpitraceError", "ImportRejected", "InputError", "NotFound", "__version__",
    ]


def test_error_tree_has_statuses_and_docstrings() -> None:
    for name in epitrace.__all__:
        member = getattr(epitrace, name)
        if isinstance(member, type):
            assert issubclass(member, EpitraceError)
            assert member.__doc__ and isinstance(member.status, int) and member.exit_code in (1, 2)
    assert (epitrace.NotFound.status, epitrace.ImportRejected.status, epitrace.ConfigurationError.exit_code) == (404, 422, 2)

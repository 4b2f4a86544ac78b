"""The password rule, in one place: the CLI, the API and the reset page all call :func:`check_password`.

A password must be at least :data:`MIN_LENGTH` characters, not one character repeated, not only
whitespace, and not in the shipped list of common passwords (``common_passwords.txt``, lower-case,
compared case-insensitively). The list holds well-known leaked passwords and their usual stretchings
(``password1234``, ``qwertyuiop123``, ``iloveyou2026``): only entries of 12 characters or more matter,
as anything shorter is refused for its length already.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from epitrace.errors import InputError

MIN_LENGTH = 12
"""Fewest characters in a password (a passphrase of a few words is best)."""
MAX_LENGTH = 1024
"""Most characters in a password (argon2 hashes anything, but a request must stay small)."""


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-case (read once: the file is package data, not I/O at rest)."""
    text = files("epitrace.domain").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return (f"the password is too short ({len(password)} characters): use at least {MIN_LENGTH} characters "
                "(a passphrase of a few words is best)")
    if len(password) > MAX_LENGTH:
        return f"the password is {len(password):,} characters long; at most {MAX_LENGTH:,} are allowed"
    if not password.strip():
        return "the password is only whitespace: use words, letters or digits"
    if len(set(password)) == 1:
        return f"the password is one character repeated ({password[0]!r}): use a passphrase of a few words"
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        return "the password is in the list of common passwords that attackers try first: choose another"
    return None


def check_password(password: str) -> None:
    """Raise :class:`InputError` naming why ``password`` is refused; return when it is acceptable."""
    problem = password_problem(password)
    if problem is not None:
        raise InputError(problem)

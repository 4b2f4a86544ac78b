"""How long a typed value may be: one table, used by the API schemas, the pages and storage.

The limits follow the columns that store the values (``storage.models``), so nothing typed is
cut short silently; free text is bounded so one record cannot fill the database or a page.
"""

from __future__ import annotations

from epitrace.errors import InputError

NAME = 200
"""Given name, family name, place name (the columns are VARCHAR(200))."""
PHONE = 64
NATIONAL_ID = 64
ADDRESS = 500
SETTING = 32
RELATIONSHIP = 64
SYMPTOMS = 2000
"""Symptoms and other free text recorded in an interview."""
RESULT = 200
"""A task's free-text result."""
USERNAME = 64
PASSWORD = 1024


def text(label: str, value: str | None, limit: int) -> None:
    """Refuse ``value`` longer than ``limit`` characters, naming the field and both lengths."""
    if value is not None and len(value) > limit:
        raise InputError(f"{label} is {len(value):,} characters long; at most {limit:,} are allowed: shorten it")

"""What a typed value may be, and how text leaves the system: one table of rules, used by the API
schemas, the pages, the importers, storage and every writer of CSV and terminal output.

The lengths follow the columns that store the values (``storage.models``), so nothing typed is
cut short silently; free text is bounded so one record cannot fill the database or a page. Every
date lies between ``FIRST_DATE`` and ``LAST_DATE`` (``domain.plausibility`` narrows that per
field), and every id fits in 63 bits.

Characters (issue 10, point 5). Text refuses what no person means to type and what changes how
other text is shown: control characters (C0, DEL, C1; free text keeps tab and line breaks), the
bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, which reorder the
text after them: "Trojan Source"), a byte order mark inside the text and lone surrogates. Names and
other one-line values also refuse the invisible direction marks (U+061C, U+200E, U+200F): the
Unicode bidirectional algorithm already shows Arabic and Hebrew names in the right order without
them, while they let two names that look alike differ. Joiners (U+200C, U+200D) are allowed:
Indic and Persian spellings need them.

Output. A CSV or spreadsheet cell whose text starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is a formula to a spreadsheet; :func:`spreadsheet_cell` prefixes such text with ``'``
(OWASP's advice). Numbers are never changed: a number value, or text that is only a decimal number
("-5", "+15550001", "-1.5e3"), cannot run anything, and stays a number for whoever reads the file.
:func:`terminal_text` drops control and bidirectional characters from what is printed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

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
CODE = 32
"""A vocabulary value (role, jurisdiction code, kind, source) or a one-time code."""

MAX_ID = 2**31 - 1
"""Record ids are the schema's INTEGER columns: 32-bit signed on PostgreSQL (SQLite's hold 64 bits), so
no record can have a larger id, and a larger one is refused before any query (on PostgreSQL it would
fail in the driver: found by running the suite there, issue 11)."""
FIRST_DATE = date(1900, 1, 1)
"""No date epitrace stores is earlier (a date of birth is at most 120 years ago)."""
LAST_DATE = date(2100, 12, 31)
"""No date epitrace stores is later (what is recorded has happened; due dates are weeks ahead)."""
FIRST_MOMENT = datetime(FIRST_DATE.year, 1, 1, tzinfo=timezone.utc)
LAST_MOMENT = datetime(LAST_DATE.year, 12, 31, 23, 59, 59, tzinfo=timezone.utc)

CSV_ROWS = 100_000
"""Most rows in one imported file or request (a day of a large laboratory is a few thousand)."""
CSV_COLUMNS = 100
"""Most columns in an imported CSV file's header (a lab file has 14)."""
CSV_FIELD = 64 * 1024
"""Longest single value read from a CSV file; the longest stored value is 2,000 characters."""

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_BIDI_MARKS = "\u061c\u200e\u200f"
_ALWAYS = f"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}\u2028\u2029\ufeff\ud800-\udfff"
FORBIDDEN_IN_TEXT = re.compile(f"[{_ALWAYS}]")
"""Refused in free text (symptoms, results, addresses): tab, line feed and carriage return are allowed."""
FORBIDDEN_IN_LINE = re.compile(f"[{_ALWAYS}\t\n\r{_BIDI_MARKS}]")
"""Refused in one-line values: names, phone numbers, ids, places, settings."""
_UNPRINTABLE = re.compile(f"[{_ALWAYS}{_BIDI_MARKS}]")

FORMULA_START = re.compile(r"[=+\-@\t\r]")
"""How a cell a spreadsheet runs as a formula starts (OWASP, "CSV injection")."""
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""Text that is only a decimal number: a spreadsheet reads it as that number, nothing more."""


def character_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` holds a character it may not (naming the code point and position), or None."""
    bad = (FORBIDDEN_IN_TEXT if multiline else FORBIDDEN_IN_LINE).search(value)
    if bad is None:
        return None
    return (f"contains the invisible character U+{ord(bad.group()):04X} at position {bad.start() + 1}; "
            "remove it (retype the value if your editor does not show it)")


def text(label: str, value: str | None, limit: int, *, multiline: bool = False) -> None:
    """Refuse ``value`` longer than ``limit`` characters or holding a forbidden character, naming the field."""
    if value is None:
        return
    if len(value) > limit:
        raise InputError(f"{label} is {len(value):,} characters long; at most {limit:,} are allowed: shorten it")
    problem = character_problem(value, multiline=multiline)
    if problem:
        raise InputError(f"{label} {problem}")


def record_number(text: str) -> int | None:
    """``text`` as an id or version: ASCII digits without a leading zero making a whole number from 1 to
    :data:`MAX_ID`; else None (so one number has one spelling, as an ETag must)."""
    if not (text.isascii() and text.isdigit()) or text[0] == "0" or int(text) > MAX_ID:
        return None
    return int(text)


def date_problem(day: date) -> str | None:
    """Why ``day`` is outside the dates epitrace stores, or None."""
    if FIRST_DATE <= day <= LAST_DATE:
        return None
    return (f"is outside {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}, the dates epitrace stores: "
            "check the year")


def day(label: str, value: date | datetime | None) -> None:
    """Refuse a date (or the day of a time) outside ``FIRST_DATE`` to ``LAST_DATE``, naming the field."""
    if value is None:
        return
    problem = date_problem(value.date() if isinstance(value, datetime) else value)
    if problem:
        shown = value.isoformat()
        raise InputError(f"{label} {shown} {problem}")


def spreadsheet_cell(value: object) -> object:
    """``value`` as written to a CSV or XLSX cell: text a spreadsheet would run as a formula gets a
    leading ``'``; numbers, and text that is only a number, are unchanged.

    >>> [spreadsheet_cell(v) for v in ("=cmd|' /C calc'!A0", "@SUM(A1)", "-5", "+15550001", -5, "Ana", "\\tx")]
    ["'=cmd|' /C calc'!A0", "'@SUM(A1)", '-5', '+15550001', -5, 'Ana', "'\\tx"]
    """
    if isinstance(value, str) and FORMULA_START.match(value) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def terminal_text(value: str, *, lines: bool = False) -> str:
    """``value`` without control or bidirectional characters, for printing to a terminal: escape
    sequences in data cannot move the cursor, recolour or retitle the terminal, or reorder what is
    shown. Tabs and line breaks become spaces, unless ``lines`` keeps the line feeds of a message
    of several lines."""
    value = value.replace("\t", " ").replace("\r\n", "\n").replace("\r", " ")
    if not lines:
        value = value.replace("\n", " ")
    return _UNPRINTABLE.sub("", value)

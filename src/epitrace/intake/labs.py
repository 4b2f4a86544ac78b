"""Lab results CSV: read and check every row before anything is written.

Reading gives a ``LabFile``: every row as far as it could be read, and every format problem
(header, required values, dates, vocabularies, lengths, invisible characters). ``import_lab_file``
adds the problems only the database can see (``storage.labs.check_lab_records``: unknown
jurisdiction codes, jurisdictions outside the caller's scope, conflicts with stored specimens)
and rejects the file with all of them at once, row by row, so a person fixes the file once
(issue 9, point 7). Only problems with the file as a whole (not UTF-8, empty, unreadable CSV, no
rows) stop reading early.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.domain import limits
from epitrace.domain.statuses import LabResultValue, Sex
from epitrace.errors import ImportRejected
from epitrace.files import open_private
from epitrace.intake.csvfile import (
    RowError,
    cells_to_record,
    column_index,
    decode_csv_bytes,
    header_problems,
    parse_iso_date,
    read_csv_rows,
    shorten,
    text_problem,
)
from epitrace.storage.audit import Actor
from epitrace.storage.labs import LabImportReport, LabRow, check_lab_records, write_lab_rows
from epitrace.storage.scope import EVERYWHERE, Scope

__all__ = [
    "LAB_COLUMNS",
    "LabFile",
    "LabRecord",
    "LabRow",
    "RowError",
    "decode_csv_bytes",
    "import_lab_file",
    "parse_lab_csv",
    "read_lab_csv",
    "read_lab_records",
    "sort_errors",
    "validate_lab_records",
    "write_errors_csv",
]

LAB_COLUMNS = (
    "lab_id",
    "specimen_id",
    "collected_on",
    "resulted_on",
    "result",
    "test_type",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "national_id",
    "address",
    "jurisdiction_code",
)
OPTIONAL_COLUMNS = frozenset({"sex", "phone", "national_id", "address"})
DATE_COLUMNS = ("collected_on", "resulted_on", "date_of_birth")
NAME_COLUMNS = frozenset({"given_name", "family_name"})
MULTILINE_COLUMNS = frozenset({"address"})
# The storage columns' lengths (storage/models.py), so no database ever truncates or refuses a value.
MAX_LENGTH = {"lab_id": 64, "specimen_id": 128, "test_type": 64, "given_name": limits.NAME, "family_name": limits.NAME,
              "phone": limits.PHONE, "national_id": limits.NATIONAL_ID, "address": limits.ADDRESS, "jurisdiction_code": limits.CODE}
OTHER_MAX_LENGTH = 32  # dates, result, sex
RESULT_VALUES = frozenset(v.value for v in LabResultValue)
SEX_VALUES = frozenset(v.value for v in Sex)
RESULTS = ", ".join(v.value for v in LabResultValue)
SEXES = ", ".join(v.value for v in Sex)

Record = tuple[int, Mapping[str, str | None], str | None]
"""``(line, values by column, structural problem or None)``, as the importers hand rows over."""


@dataclass(frozen=True)
class LabRecord:
    """One row as far as it could be read.

    ``content`` holds the normalised text (as in ``LabRow.content``) of each column that passed
    its format checks, so reference and conflict checks can run on a row with format errors too;
    ``lab_row`` is set only when the whole row is valid.
    """

    row: int
    content: dict[str, str | None]
    lab_row: LabRow | None


@dataclass(frozen=True)
class LabFile:
    """A lab file read and format-checked: every row and every format problem."""

    source: str
    records: tuple[LabRecord, ...]
    errors: tuple[RowError, ...]
    missing_columns: tuple[str, ...] = ()

    @property
    def rows(self) -> list[LabRow]:
        """The rows without a format problem."""
        return [r.lab_row for r in self.records if r.lab_row is not None]

    def rejection(self, more: Iterable[RowError] = ()) -> ImportRejected | None:
        """The error listing this file's format problems and ``more``, or None when there are none."""
        errors = sort_errors([*self.errors, *more])
        if not errors:
            return None
        if self.missing_columns:
            others = len(errors) - len(self.missing_columns)
            message = (f"{self.source} is missing the column(s) {', '.join(self.missing_columns)}: expected the "
                       f"columns {', '.join(LAB_COLUMNS)} in the header row")
            if others:
                message += f"; {others} other problem(s) found; nothing was imported"
        else:
            message = f"{self.source}: {len(errors)} problem(s) found; nothing was imported"
        return ImportRejected(message, errors=errors)


def import_lab_file(
    session: Session, lab_file: LabFile, *, sha256: str, actor: Actor, scope: Scope = EVERYWHERE,
    source: str | None = None,
) -> LabImportReport:
    """Import a read lab file in the caller's transaction (``source``: the batch's name, default the file's).

    Raises ImportRejected (and writes nothing) listing every problem together: the file's format
    problems, unknown or out-of-scope jurisdictions, and conflicts with stored or earlier rows.
    """
    check = check_lab_records(session, [(r.row, r.content, r.lab_row) for r in lab_file.records], scope=scope,
                              actor=actor)
    rejected = lab_file.rejection(RowError(*problem) for problem in check.problems)
    if rejected is not None:
        raise rejected
    return write_lab_rows(session, check, rows=len(lab_file.rows), source=source or lab_file.source, sha256=sha256,
                          actor=actor, scope=scope)


def sort_errors(errors: Iterable[RowError]) -> list[RowError]:
    """Row by row, and within a row in the order of the columns (problems with the whole row first)."""
    order = {c: i for i, c in enumerate(LAB_COLUMNS)}
    return sorted(errors, key=lambda e: (e.row, -1 if not e.column else order.get(e.column, len(order))))


def read_lab_csv(data: bytes, *, source: str, today: date | None = None) -> LabFile:
    """Read a lab results CSV and check every row's format.

    Raises ``ImportRejected`` only for problems with the file as a whole (not UTF-8, empty,
    unreadable, no rows); every other problem is in the returned file's ``errors``.
    """
    text = decode_csv_bytes(data, source=source)
    table = read_csv_rows(text, source=source)
    expected = ", ".join(LAB_COLUMNS)
    if not table.header:
        raise ImportRejected(
            f"{source} is empty: expected a header row with the columns {expected}, then one row per result",
            errors=[RowError(1, "", "", f"file is empty; expected a header row: {expected}")],
        )
    index = column_index(table.header)
    missing = tuple(c for c in LAB_COLUMNS if c not in table.header)
    header_errors = [
        *header_problems(table.header, LAB_COLUMNS),
        *(RowError(1, column, "", f"missing column {column!r}; add it to the header row (it may be empty "
                   "in rows where it is optional)") for column in missing),
    ]
    if not table.rows:
        also = f"; the header also has {len(header_errors)} problem(s)" if header_errors else ""
        raise ImportRejected(
            f"{source} has a header but no rows: add one row per lab result{also}",
            errors=sort_errors([*header_errors, RowError(1, "", "", "header only; no result rows")]),
        )
    records = [(line, *cells_to_record(table.header, index, cells, LAB_COLUMNS)) for line, cells in table.rows]
    absent = frozenset(c for c in LAB_COLUMNS if c not in index)
    checked, errors = _check_records(records, today=today, absent=absent)
    return LabFile(source, tuple(checked), tuple(sort_errors([*header_errors, *errors])), missing)


def read_lab_records(records: Iterable[Record], *, source: str, today: date | None = None) -> LabFile:
    """Check rows given as values by column (the JSON API, the simulation) like a CSV file's rows."""
    checked, errors = _check_records(records, today=today, absent=frozenset())
    return LabFile(source, tuple(checked), tuple(sort_errors(errors)))


def parse_lab_csv(data: bytes, *, source: str, today: date | None = None) -> list[LabRow]:
    """Parse a lab results CSV; raise ImportRejected listing every format problem.

    Checks against the database (jurisdictions, stored specimens) are ``storage.labs``'s; use
    ``read_lab_csv`` and ``storage.labs.import_lab_file`` to report all problems in one pass.
    """
    lab_file = read_lab_csv(data, source=source, today=today)
    rejected = lab_file.rejection()
    if rejected is not None:
        raise rejected
    return lab_file.rows


def validate_lab_records(records: Iterable[Record], *, today: date | None = None) -> tuple[list[LabRow], list[RowError]]:
    """Validate ``(line, record, structural_problem)`` triples; return the valid rows and every format error."""
    lab_file = read_lab_records(records, source="records", today=today)
    return lab_file.rows, list(lab_file.errors)


def _check_records(
    records: Iterable[Record], *, today: date | None, absent: frozenset[str]
) -> tuple[list[LabRecord], list[RowError]]:
    latest_allowed = (today or settings.today()) + timedelta(days=1)  # labs a time zone ahead
    checked: list[LabRecord] = []
    errors: list[RowError] = []
    for line, record, problem in records:
        if problem:
            errors.append(RowError(line, "", "", problem))
            checked.append(LabRecord(line, {}, None))
            continue
        values = {c: (record.get(c) or "").strip() for c in LAB_COLUMNS if c not in absent}
        content, row_errors = _check_values(line, values, latest_allowed)
        errors.extend(row_errors)
        lab_row = None if row_errors or absent else _lab_row(line, content)
        checked.append(LabRecord(line, content, lab_row))
    return checked, errors


def _check_values(line: int, values: dict[str, str], latest_allowed: date) -> tuple[dict[str, str | None], list[RowError]]:
    """The normalised text of each valid column, and the problems of the others."""
    content: dict[str, str | None] = {}
    errors: list[RowError] = []
    for column, raw in values.items():
        if not raw:
            if column in OPTIONAL_COLUMNS:
                content[column] = None
            else:
                errors.append(RowError(line, column, "", f"{column} is required but empty; fill it in"))
            continue
        problem = text_problem(raw, limit=MAX_LENGTH.get(column, OTHER_MAX_LENGTH), name=column in NAME_COLUMNS,
                               multiline=column in MULTILINE_COLUMNS)
        if problem:
            errors.append(RowError(line, column, shorten(raw), problem))
        elif column in DATE_COLUMNS:
            day = parse_iso_date(raw)
            if day is None:
                errors.append(RowError(line, column, raw, "expected a date as YYYY-MM-DD, e.g. 2026-03-14"))
            elif problem := limits.date_problem(day):
                errors.append(RowError(line, column, raw, problem))
            else:
                content[column] = raw
        elif column == "result":
            if raw.lower() in RESULT_VALUES:
                content[column] = raw.lower()
            else:
                errors.append(RowError(line, "result", raw, f"expected one of {RESULTS}"))
        elif column == "sex":
            if raw.lower() in SEX_VALUES:
                content[column] = raw.lower()
            else:
                errors.append(RowError(line, "sex", raw, f"expected one of {SEXES}, or empty"))
        else:
            content[column] = raw
    errors.extend(_check_date_order(line, content, latest_allowed))
    return content, errors


def _lab_row(line: int, content: dict[str, str | None]) -> LabRow:
    text = {c: content[c] or "" for c in LAB_COLUMNS}
    return LabRow(
        row=line,
        lab_id=text["lab_id"],
        specimen_id=text["specimen_id"],
        collected_on=date.fromisoformat(text["collected_on"]),
        resulted_on=date.fromisoformat(text["resulted_on"]),
        result=text["result"],
        test_type=text["test_type"],
        given_name=text["given_name"],
        family_name=text["family_name"],
        date_of_birth=date.fromisoformat(text["date_of_birth"]),
        sex=content["sex"],
        phone=content["phone"],
        national_id=content["national_id"],
        address=content["address"],
        jurisdiction_code=text["jurisdiction_code"],
    )


def _check_date_order(line: int, content: dict[str, str | None], latest_allowed: date) -> list[RowError]:
    collected, resulted, born = (date.fromisoformat(content[c]) if content.get(c) else None  # type: ignore[arg-type]
                                 for c in DATE_COLUMNS)
    errors = []
    if collected and resulted and resulted < collected:
        errors.append(RowError(line, "resulted_on", resulted.isoformat(),
                               f"is before collected_on {collected.isoformat()}; a result cannot precede its specimen"))
    if resulted and resulted > latest_allowed:
        errors.append(RowError(line, "resulted_on", resulted.isoformat(),
                               f"is in the future (today is {(latest_allowed - timedelta(days=1)).isoformat()}); "
                               "check the year and month"))
    if born and collected and born > collected:
        errors.append(RowError(line, "date_of_birth", born.isoformat(),
                               f"is after collected_on {collected.isoformat()}; check the date of birth"))
    return errors


def write_errors_csv(path: str, errors: list[RowError]) -> None:
    """Write ``row, column, value, reason`` for each error; owner-only (the values can be names: issue 10)."""
    with open_private(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "value", "reason"])
        for error in errors:  # values come from the file: a formula in one is written as text
            writer.writerow([limits.spreadsheet_cell(v) for v in (error.row, error.column, error.value, error.reason)])

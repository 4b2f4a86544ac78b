"""Lab results CSV: parse and validate every row before anything is written.

File-level problems (empty, not UTF-8, missing columns) and row-level problems (bad dates,
unknown values, missing required values) are all collected, so one run reports everything.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from epitrace.domain.statuses import LabResultValue, Sex
from epitrace.errors import ImportRejected

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
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RESULTS = ", ".join(v.value for v in LabResultValue)
SEXES = ", ".join(v.value for v in Sex)


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` is the line number in the file (the header is line 1)."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        shown = f" {self.value!r}" if self.value else ""
        return f"{where}{shown}: {self.reason}"


@dataclass(frozen=True)
class LabRow:
    """One validated lab result."""

    row: int
    lab_id: str
    specimen_id: str
    collected_on: date
    resulted_on: date
    result: str
    test_type: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str | None
    phone: str | None
    national_id: str | None
    address: str | None
    jurisdiction_code: str

    def content(self) -> dict[str, str | None]:
        """Everything the laboratory said, as text, for comparison with an earlier import."""
        out = asdict(self)
        out.pop("row")
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()}


def decode_csv_bytes(data: bytes, *, source: str) -> str:
    """Decode UTF-8 (with or without BOM) or reject with the offending byte and line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1]
        raise ImportRejected(
            f"{source} is not UTF-8 text: byte 0x{bad.hex()} on line {line} (offset {exc.start}) "
            "cannot be decoded; save the file as UTF-8 (CSV UTF-8 in a spreadsheet) and import again",
            errors=[RowError(line, "", f"0x{bad.hex()}", "byte is not valid UTF-8; save the file as UTF-8")],
        ) from None


def parse_lab_csv(data: bytes, *, source: str, today: date | None = None) -> list[LabRow]:
    """Parse a lab results CSV; raise ImportRejected listing every problem."""
    text = decode_csv_bytes(data, source=source)
    if not text.strip():
        expected = ", ".join(LAB_COLUMNS)
        raise ImportRejected(
            f"{source} is empty: expected a header row with the columns {expected}, then one row per result",
            errors=[RowError(1, "", "", f"file is empty; expected a header row: {expected}")],
        )
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in LAB_COLUMNS if c not in header]
    if missing:
        errors = [
            RowError(1, column, "", f"missing column {column!r}; add it to the header row (it may be empty "
                     "in rows where it is optional)")
            for column in missing
        ]
        raise ImportRejected(
            f"{source} is missing the column(s) {', '.join(missing)}: expected the columns "
            f"{', '.join(LAB_COLUMNS)} in the header row",
            errors=errors,
        )
    records = []
    for record in reader:
        if None in record:
            extra = record.pop(None)
            records.append((reader.line_num, record, f"{len(extra)} more value(s) than header columns"))
        else:
            records.append((reader.line_num, record, None))
    if not records:
        raise ImportRejected(
            f"{source} has a header but no rows: add one row per lab result",
            errors=[RowError(1, "", "", "header only; no result rows")],
        )
    rows, errors = validate_lab_records(records, today=today)
    if errors:
        raise ImportRejected(f"{source}: {len(errors)} problem(s) found; nothing was imported", errors=errors)
    return rows


def validate_lab_records(
    records: Iterable[tuple[int, Mapping[str, str | None], str | None]],
    *,
    today: date | None = None,
) -> tuple[list[LabRow], list[RowError]]:
    """Validate ``(line, record, structural_problem)`` triples; return rows and every error."""
    latest_allowed = (today or date.today()) + timedelta(days=1)  # labs a time zone ahead
    rows: list[LabRow] = []
    errors: list[RowError] = []
    for line, record, problem in records:
        if problem:
            errors.append(RowError(line, "", "", problem + "; check quoting and commas in this row"))
            continue
        row_errors: list[RowError] = []
        values = {c: (record.get(c) or "").strip() for c in LAB_COLUMNS}
        for column in LAB_COLUMNS:
            if column not in OPTIONAL_COLUMNS and not values[column]:
                row_errors.append(RowError(line, column, "", f"{column} is required but empty; fill it in"))
        dates: dict[str, date] = {}
        for column in DATE_COLUMNS:
            raw = values[column]
            if not raw:
                continue
            parsed = _parse_date(raw)
            if parsed is None:
                row_errors.append(RowError(line, column, raw, "expected a date as YYYY-MM-DD, e.g. 2026-03-14"))
            else:
                dates[column] = parsed
        result = values["result"].lower()
        if values["result"] and result not in {v.value for v in LabResultValue}:
            row_errors.append(RowError(line, "result", values["result"], f"expected one of {RESULTS}"))
        sex = values["sex"].lower()
        if sex and sex not in {v.value for v in Sex}:
            row_errors.append(RowError(line, "sex", values["sex"], f"expected one of {SEXES}, or empty"))
        row_errors.extend(_check_date_order(line, dates, latest_allowed))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(
            LabRow(
                row=line,
                lab_id=values["lab_id"],
                specimen_id=values["specimen_id"],
                collected_on=dates["collected_on"],
                resulted_on=dates["resulted_on"],
                result=result,
                test_type=values["test_type"],
                given_name=values["given_name"],
                family_name=values["family_name"],
                date_of_birth=dates["date_of_birth"],
                sex=sex or None,
                phone=values["phone"] or None,
                national_id=values["national_id"] or None,
                address=values["address"] or None,
                jurisdiction_code=values["jurisdiction_code"],
            )
        )
    return rows, errors


def _parse_date(raw: str) -> date | None:
    if not ISO_DATE.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _check_date_order(line: int, dates: dict[str, date], latest_allowed: date) -> list[RowError]:
    errors = []
    collected, resulted, born = (dates.get(c) for c in DATE_COLUMNS)
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
    """Write ``row, column, value, reason`` for each error."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "value", "reason"])
        for error in errors:
            writer.writerow([error.row, error.column, error.value, error.reason])

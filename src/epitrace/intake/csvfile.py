"""Reading CSV files people send (lab results, venue records): bytes to rows, with clear errors.

Whatever the bytes are, reading either returns the header and the rows with their line numbers
or raises ``ImportRejected`` saying what is wrong with the file as a whole and how to fix it;
``csv.Error`` and ``UnicodeDecodeError`` never reach the caller. Problems in single values are
reported as ``RowError`` (line, column, value, reason) by the importers, all of them at once.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from epitrace.domain import limits
from epitrace.domain.identity import normalise_name
from epitrace.errors import ImportRejected

SHOWN_VALUE = 60
"""Longest value echoed back in an error; longer ones are cut with "…"."""

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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
class CsvRows:
    """A CSV file split into its header and rows; ``rows`` holds ``(line, cells)``, blank lines left out."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def shorten(value: str) -> str:
    """``value`` as echoed in an error message: at most SHOWN_VALUE characters."""
    if len(value) <= SHOWN_VALUE:
        return value
    return f"{value[: SHOWN_VALUE - 1]}…"


def decode_csv_bytes(data: bytes, *, source: str) -> str:
    """Decode UTF-8 (with or without BOM) or reject with the offending byte and line."""
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    if utf16 or b"\x00" in data:
        nul = 0 if utf16 else data.index(b"\x00")
        what = "starts with a UTF-16 byte order mark" if utf16 else f"contains NUL bytes (the first at offset {nul})"
        line = data[:nul].count(b"\n") + 1
        raise ImportRejected(
            f"{source} is not UTF-8 text: it {what}, as UTF-16 (\"Unicode text\") files do; save the file as "
            "UTF-8 (CSV UTF-8 in a spreadsheet) and import again",
            errors=[RowError(line, "", "", f"file {what}; save the file as UTF-8")],
        )
    try:
        return data.decode("utf-8").lstrip("\ufeff")  # a tool may add a BOM to a file that had one
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1]
        raise ImportRejected(
            f"{source} is not UTF-8 text: byte 0x{bad.hex()} on line {line} (offset {exc.start}) "
            "cannot be decoded; save the file as UTF-8 (CSV UTF-8 in a spreadsheet) and import again",
            errors=[RowError(line, "", f"0x{bad.hex()}", "byte is not valid UTF-8; save the file as UTF-8")],
        ) from None


def read_csv_rows(text: str, *, source: str) -> CsvRows:
    """Split decoded text into a stripped header and ``(line, cells)`` rows.

    The header is the first row that is not blank; ``line`` is where a row starts in the file (a
    quoted value may span lines). Rows whose cells are all blank are left out: spreadsheets add
    them at the end of an export. A file over the limits of ``domain.limits`` (columns, rows, the
    length of one value) is refused at the first row past one, naming the row, the column and the
    limit.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            _check_size(source, start, cells, header)
            if any(c.strip() for c in cells):
                if header is None:
                    # A byte order mark may also come after blank lines (files joined by a tool).
                    header = [c.strip().lstrip("\ufeff").strip() for c in cells]
                else:
                    if len(rows) == limits.CSV_ROWS:
                        raise ImportRejected(
                            f"{source} has more than {limits.CSV_ROWS:,} rows (row {start} is one too many): split it "
                            f"into files of at most {limits.CSV_ROWS:,} rows and import each",
                            errors=[RowError(start, "", "", f"more than {limits.CSV_ROWS:,} rows in one file")])
                    rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error:
        # The only error the default dialect raises on text: a value over csv's own field limit
        # (131,072, left as it is: the trail reader and its JavaScript twin rely on it), which
        # means a quote that is never closed. Shorter values over CSV_FIELD are named by column below.
        over = f"a value is longer than {csv.field_size_limit():,} characters; at most {limits.CSV_FIELD:,} are read"
        raise ImportRejected(
            f"{source} row {start}: {over}: a value that long usually means a quote (\") that is never closed: close "
            "it, or remove the stray quote",
            errors=[RowError(start, "", "", f"{over} (check for a quote that is never closed)")],
        ) from None
    return CsvRows(header or [], rows)


def _check_size(source: str, line: int, cells: list[str], header: list[str] | None) -> None:
    """Refuse a row with more columns, or a longer value, than ``domain.limits`` allows."""
    if len(cells) > limits.CSV_COLUMNS:
        what = "the header" if header is None else f"row {line}"
        raise ImportRejected(
            f"{source}: {what} has {len(cells):,} columns; at most {limits.CSV_COLUMNS} are read: remove the "
            "extra columns",
            errors=[RowError(line, "", "", f"{len(cells):,} columns; at most {limits.CSV_COLUMNS}")])
    for position, cell in enumerate(cells):
        if len(cell) > limits.CSV_FIELD:
            named = header is not None and position < len(header) and header[position]
            column = shorten(header[position]) if named else f"column {position + 1}"  # type: ignore[index]
            raise ImportRejected(
                f"{source} row {line}, {column}: a value of {len(cell):,} characters; at most {limits.CSV_FIELD:,} are "
                "read: a value that long usually means a quote (\") that is never closed: close it, or remove the "
                "stray quote",
                errors=[RowError(line, column, shorten(cell), f"{len(cell):,} characters; at most {limits.CSV_FIELD:,} "
                                 "are read (check for a quote that is never closed)")])


def header_problems(header: list[str], columns: tuple[str, ...]) -> list[RowError]:
    """The header's duplicate ``columns`` and its names that are not ``columns``, as errors on line 1.

    Blank names (a spreadsheet's empty trailing columns) are not names and pass.
    """
    expected = ", ".join(columns)
    unknown = [RowError(1, shorten(name), "", f"column {shorten(name)!r} is not one epitrace reads; expected only "
                        f"{expected}: remove the column or correct its name")
               for name in dict.fromkeys(c for c in header if c and c not in columns)]
    return [*duplicate_columns(header, columns), *unknown]


def duplicate_columns(header: list[str], columns: tuple[str, ...]) -> list[RowError]:
    """Which of ``columns`` the header names more than once, as errors on line 1 (their values are not read).

    Other columns are not read, so their duplicates do no harm.
    """
    errors = []
    for column in dict.fromkeys(c for c in header if c in columns):
        positions = [i + 1 for i, c in enumerate(header) if c == column]
        if len(positions) > 1:
            errors.append(RowError(1, column, "", f"column {column!r} appears {len(positions)} times in the header "
                                   f"(positions {', '.join(map(str, positions))}); keep one of them"))
    return errors


def column_index(header: list[str]) -> dict[str, int]:
    """Position of each column named exactly once in the header."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        if name:
            seen.setdefault(name, []).append(i)
    return {name: at[0] for name, at in seen.items() if len(at) == 1}


def cells_to_record(
    header: list[str], index: dict[str, int], cells: list[str], columns: tuple[str, ...]
) -> tuple[dict[str, str], str | None]:
    """The stripped values of ``columns`` in one row, and a structural problem if the row is unusable.

    Values beyond the header are accepted only when blank (trailing commas); otherwise the
    columns are probably shifted and the row's values cannot be trusted.
    """
    if any(c.strip() for c in cells[len(header):]):
        return {}, (f"{len(cells)} values but the header has {len(header)} columns; a value containing a comma "
                    "must be quoted (\"Main St, 1\")")
    return {c: (cells[index[c]].strip() if c in index and index[c] < len(cells) else "") for c in columns}, None


def text_problem(value: str, *, limit: int, name: bool = False, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text (forbidden character, too long), or None.

    The characters refused are ``domain.limits``'s, one rule for every way in; ``multiline``
    values (an address) may hold tabs and line breaks. A ``name`` must also fit once normalised
    for matching: NFKD spells some characters out (one ligature can become 18 letters).
    """
    problem = limits.character_problem(value, multiline=multiline)
    if problem:
        return problem
    if len(value) > limit:
        return (f"is {len(value):,} characters long; at most {limit:,} are expected: check for a quote that is "
                "never closed or values in the wrong column")
    if name and len(normalise_name(value)) > limit:
        return (f"is {len(normalise_name(value)):,} characters long once ligatures and accents are spelled out "
                f"(Unicode NFKD); at most {limit:,} are expected: shorten the name")
    return None


def parse_iso_date(raw: str) -> date | None:
    """A YYYY-MM-DD date in ASCII digits, or None (see ``limits.date_problem`` for its range)."""
    if not ISO_DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None

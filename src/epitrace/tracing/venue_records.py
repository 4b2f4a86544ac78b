"""Screening a venue's records against one exposure window, with the legal basis recorded.

Only visitors whose stay overlaps the window for the minimum time become contacts (with
follow-up tasks and the reason in words); every other record is discarded, never stored. The
screening itself is recorded: which window, which file (by hash), how many rows, how many matched,
who did it and under which legal basis.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.identity import Identity, is_same_person
from epitrace.engine import match
from epitrace.errors import ImportRejected, InputError, NotFound
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
from epitrace.storage.investigation import add_contact
from epitrace.storage.models import Case, ExposureWindow, Person, Place, VenueScreening

REQUIRED = ("given_name", "family_name", "phone", "check_in", "check_out")
OPTIONAL = ("date_of_birth",)
MIN_LEGAL_BASIS = 10
MAX_LENGTH = {"given_name": limits.NAME, "family_name": limits.NAME, "phone": limits.PHONE, "check_in": 64, "check_out": 64,
              "date_of_birth": 32}
UNIX_SECONDS = re.compile(r"-?[0-9]{1,20}")
FIRST_UNIX_SECOND = int(datetime(1, 1, 2, tzinfo=timezone.utc).timestamp())
LAST_UNIX_SECOND = int(datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp())
EXPECTED_MOMENT = "expected ISO-8601 with an offset, e.g. 2026-03-10T18:05:00+01:00, or Unix seconds"


@dataclass(frozen=True)
class ScreeningReport:
    """What screening one venue's records did."""

    screening_id: int
    window_id: int
    place: str
    rows: int
    matched: int
    new_contacts: int
    own_records: int = 0
    """Records of the case themself, which are not contacts."""


def screen_venue_records(
    session: Session,
    data: bytes,
    *,
    source: str,
    window_id: int,
    legal_basis: str,
    identified_on: date,
    actor: Actor,
    min_overlap_s: int = 15 * 60,
) -> ScreeningReport:
    """Turn the records of visitors who overlapped window ``window_id`` into contacts."""
    if len(legal_basis.strip()) < MIN_LEGAL_BASIS:
        raise InputError(
            f"--legal-basis {legal_basis.strip()!r} is too short: name the law or order that allows using this "
            "venue's records for this window, e.g. 'Public Health Act s.12; order 2026-031'"
        )
    window = session.get(ExposureWindow, window_id)
    if window is None:
        raise NotFound(f"no exposure window {window_id}; see a case's windows with `epitrace cases show CASE_ID`")
    place = session.get_one(Place, window.place_id)
    if place.is_residential:
        raise InputError(f"window {window_id} is at a residential place ({place.kind}); venue records apply only to venues")
    visitors = _parse(data, source=source)
    window_start = int(window.start_at.replace(tzinfo=timezone.utc).timestamp())
    window_end = int(window.end_at.replace(tzinfo=timezone.utc).timestamp())
    presences = visitors.select(pl.col("row").alias("person_id"), pl.lit("venue").alias("venue_id"), "start", "end")
    exposures = match(
        presences,
        pl.DataFrame({"window_id": [window_id], "venue_id": ["venue"], "start": [window_start], "end": [window_end]}),
        min_overlap_s=min_overlap_s,
    )
    screening = VenueScreening(
        window_id=window_id, legal_basis=legal_basis.strip(), source=source, sha256=hashlib.sha256(data).hexdigest(),
        rows_screened=visitors.height, rows_matched=exposures.height, actor=actor.name,
    )
    session.add(screening)
    session.flush()
    # In the file's row order: contacts (and persons) are made in it, and a join's order is not guaranteed.
    matched = visitors.join(exposures.rename({"person_id": "row"}), on="row").sort("row")
    case_person = session.get_one(Person, session.get_one(Case, window.case_id).person_id)
    case_identity = Identity(case_person.given_name, case_person.family_name, case_person.date_of_birth,
                             case_person.phone, case_person.national_id)
    new = own = 0
    for v in matched.iter_rows(named=True):
        identity = Identity(v["given_name"], v["family_name"], v["date_of_birth"], v["phone"])
        if is_same_person(identity, case_identity):
            own += 1  # the case's own check-in
            continue
        first = datetime.fromtimestamp(v["first_start"], timezone.utc)
        last = datetime.fromtimestamp(v["last_end"], timezone.utc)
        outcome = add_contact(
            session, window.case_id, identity,
            setting="venue", last_exposure=min(datetime.fromtimestamp(v["last_end"] - 1, timezone.utc).date(), identified_on),
            identified_on=identified_on, actor=actor, window_id=window_id, screening_id=screening.id,
            detail=(f"at {place.name} {first:%Y-%m-%d %H:%M}-{last:%H:%M} UTC, {v['overlap_s'] // 60} min "
                    f"within exposure window {window_id}"),
        )
        new += int(outcome.created)
    screening.rows_matched = exposures.height - own
    return ScreeningReport(screening.id, window_id, place.name, visitors.height, exposures.height - own, new, own)


def _parse(data: bytes, *, source: str) -> pl.DataFrame:
    """Validate every record (all or nothing); times are ISO-8601 with an offset or Unix seconds.

    Whatever the bytes, this returns the visitors or raises ImportRejected listing every problem.
    """
    text = decode_csv_bytes(data, source=source)
    table = read_csv_rows(text, source=source)
    header = table.header
    missing = [c for c in REQUIRED if c not in header]
    if not header or missing:
        raise ImportRejected(
            f"{source} is missing the column(s) {', '.join(missing or REQUIRED)}: expected {', '.join(REQUIRED)} "
            f"(and optionally {', '.join(OPTIONAL)})",
            errors=[RowError(1, c, "", f"missing column {c!r}") for c in (missing or REQUIRED)],
        )
    errors = header_problems(header, (*REQUIRED, *OPTIONAL))
    if errors:
        raise ImportRejected(f"{source}: {len(errors)} problem(s) with the header's column names (duplicate or "
                             f"unknown); expected {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})",
                             errors=errors)
    index = column_index(header)
    rows = []
    for line, cells in table.rows:
        values, problem = cells_to_record(header, index, cells, (*REQUIRED, *OPTIONAL))
        if problem:
            errors.append(RowError(line, "", "", problem))
            continue
        row_errors = _check_text(line, values)
        times = {}
        for column in ("check_in", "check_out"):
            if values[column] and not any(e.column == column for e in row_errors):
                parsed = _moment(values[column])
                if isinstance(parsed, str):
                    row_errors.append(RowError(line, column, shorten(values[column]), parsed))
                else:
                    times[column] = parsed
        born = None
        if values["date_of_birth"] and not any(e.column == "date_of_birth" for e in row_errors):
            born = parse_iso_date(values["date_of_birth"])
            if born is None:
                row_errors.append(RowError(line, "date_of_birth", shorten(values["date_of_birth"]),
                                           "expected a date as YYYY-MM-DD, e.g. 1985-06-01, or empty"))
            elif problem := limits.date_problem(born):
                row_errors.append(RowError(line, "date_of_birth", values["date_of_birth"], problem))
                born = None
        if "check_in" in times and "check_out" in times and times["check_out"] <= times["check_in"]:
            row_errors.append(RowError(line, "check_out", values["check_out"], "is not after check_in; stays are [check_in, check_out)"))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append({"row": line, "given_name": values["given_name"], "family_name": values["family_name"],
                     "phone": values["phone"], "date_of_birth": born,
                     "start": times["check_in"], "end": times["check_out"]})
    if errors:
        raise ImportRejected(f"{source}: {len(errors)} problem(s) found; nothing was screened or stored", errors=errors)
    if not rows:
        raise ImportRejected(f"{source} has no records: expected one row per visitor", errors=[RowError(1, "", "", "no rows")])
    return pl.DataFrame(rows, schema={"row": pl.Int64, "given_name": pl.String, "family_name": pl.String, "phone": pl.String,
                                      "date_of_birth": pl.Date, "start": pl.Int64, "end": pl.Int64})


def _check_text(line: int, values: dict[str, str]) -> list[RowError]:
    errors = []
    for column, value in values.items():
        if not value:
            if column in REQUIRED:
                errors.append(RowError(line, column, "", f"{column} is required but empty; fill it in"))
            continue
        problem = text_problem(value, limit=MAX_LENGTH[column], name=column in ("given_name", "family_name"))
        if problem:
            errors.append(RowError(line, column, shorten(value), problem))
    return errors


def _moment(text: str) -> int | str:
    """Unix seconds, or why ``text`` is not a usable moment."""
    if UNIX_SECONDS.fullmatch(text):
        seconds = int(text)
        if not FIRST_UNIX_SECOND <= seconds <= LAST_UNIX_SECOND:
            hint = "; it looks like milliseconds: divide by 1000" if FIRST_UNIX_SECOND <= seconds // 1000 <= LAST_UNIX_SECOND else ""
            return f"is not a time between the years 1 and 9999 as Unix seconds (e.g. 1772992800 for 2026-03-08 18:00 UTC){hint}"
        return seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return EXPECTED_MOMENT
    if moment.tzinfo is None:
        return f"has no UTC offset: add one, e.g. {shorten(text)}+01:00 or {shorten(text)}Z"
    try:
        return int(moment.timestamp())
    except (OverflowError, ValueError):  # year 1 or 9999 pushed out of range by its offset
        return f"is not a time between the years 1 and 9999 once its offset is applied; {EXPECTED_MOMENT}"

"""Screening a venue's records against one exposure window, with the legal basis recorded.

Only visitors whose stay overlaps the window for the minimum time become contacts (with
follow-up tasks and the reason in words); every other record is discarded, never stored. The
screening itself is recorded: which window, which file (by hash), how many rows, how many matched,
who did it and under which legal basis.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl
from sqlalchemy.orm import Session

from epitrace.domain.identity import Identity, is_same_person
from epitrace.engine import match
from epitrace.errors import ImportRejected, InputError, NotFound
from epitrace.intake.labs import RowError, decode_csv_bytes
from epitrace.storage.audit import Actor
from epitrace.storage.investigation import add_contact
from epitrace.storage.models import Case, ExposureWindow, Person, Place, VenueScreening

REQUIRED = ("given_name", "family_name", "phone", "check_in", "check_out")
OPTIONAL = ("date_of_birth",)
MIN_LEGAL_BASIS = 10


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
    matched = visitors.join(exposures.rename({"person_id": "row"}), on="row")
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
    """Validate every record (all or nothing); times are ISO-8601 with an offset or Unix seconds."""
    text = decode_csv_bytes(data, source=source)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if not header or missing:
        raise ImportRejected(
            f"{source} is missing the column(s) {', '.join(missing or REQUIRED)}: expected {', '.join(REQUIRED)} "
            f"(and optionally {', '.join(OPTIONAL)})",
            errors=[RowError(1, c, "", f"missing column {c!r}") for c in (missing or REQUIRED)],
        )
    rows, errors = [], []
    for record in reader:
        line = reader.line_num
        values = {c: (record.get(c) or "").strip() for c in (*REQUIRED, *OPTIONAL)}
        row_errors = [RowError(line, c, "", f"{c} is required but empty; fill it in") for c in REQUIRED if not values[c]]
        times = {}
        for column in ("check_in", "check_out"):
            if values[column]:
                parsed = _moment(values[column])
                if parsed is None:
                    row_errors.append(RowError(line, column, values[column],
                                               "expected ISO-8601 with an offset, e.g. 2026-03-10T18:05:00+01:00, or Unix seconds"))
                times[column] = parsed
        born = None
        if values["date_of_birth"]:
            try:
                born = date.fromisoformat(values["date_of_birth"])
            except ValueError:
                row_errors.append(RowError(line, "date_of_birth", values["date_of_birth"], "expected YYYY-MM-DD"))
        if times.get("check_in") is not None and times.get("check_out") is not None and times["check_out"] <= times["check_in"]:
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


def _moment(text: str) -> int | None:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())

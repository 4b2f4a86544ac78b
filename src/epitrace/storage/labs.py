"""Importing validated lab rows: all-or-nothing, idempotent, never overwriting a specimen."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from epitrace.domain.identity import Identity
from epitrace.errors import ImportRejected
from epitrace.intake.labs import LabRow, RowError
from epitrace.storage.audit import Actor
from epitrace.storage.cases import load_profile, record_test_outcome, register_positive
from epitrace.storage.models import ImportBatch, Jurisdiction, LabResult
from epitrace.storage.persons import resolve_person

LOOKUP_CHUNK = 400


@dataclass
class LabImportReport:
    """Counts of what an import did (or would do, in a dry run)."""

    rows: int = 0
    already_imported: int = 0
    new_results: Counter[str] = field(default_factory=Counter)
    new_persons: int = 0
    new_cases: int = 0
    joined_cases: int = 0
    contacts_became_cases: int = 0
    tests_closed: int = 0
    merge_candidates: int = 0

    @property
    def imported(self) -> int:
        return sum(self.new_results.values())


def import_lab_rows(
    session: Session, rows: list[LabRow], *, source: str, sha256: str, actor: Actor
) -> LabImportReport:
    """Import rows in the caller's transaction; raise ImportRejected (and write nothing) on any error."""
    jurisdictions = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
    errors = [
        RowError(r.row, "jurisdiction_code", r.jurisdiction_code,
                 f"unknown jurisdiction code; add it with `epitrace jurisdictions add {r.jurisdiction_code} NAME` "
                 "or use a code from `epitrace jurisdictions list`")
        for r in rows
        if r.jurisdiction_code not in jurisdictions
    ]
    new_rows, already, conflicts = _split_known(session, rows)
    errors.extend(conflicts)
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        raise ImportRejected(f"{source}: {len(errors)} problem(s) found; nothing was imported", errors=errors)
    report = LabImportReport(rows=len(rows), already_imported=already)
    if not new_rows:
        return report
    batch = ImportBatch(kind="labs", source=source, sha256=sha256, rows=len(rows))
    session.add(batch)
    session.flush()
    _, profile = load_profile(session)
    # Results are applied in the order they happened, so a contact's earlier negative precedes
    # a later positive whatever the row order in the file.
    for row in sorted(new_rows, key=lambda r: (r.resulted_on, r.collected_on, r.row)):
        _apply_row(session, row, jurisdictions[row.jurisdiction_code], batch.id, report, profile, actor)
    return report


def _split_known(session: Session, rows: list[LabRow]) -> tuple[list[LabRow], int, list[RowError]]:
    """Separate new rows from exact re-imports; a changed specimen is an error."""
    stored: dict[tuple[str, str], dict] = {}
    keys = list({(r.lab_id, r.specimen_id) for r in rows})
    for i in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[i : i + LOOKUP_CHUNK]
        for lab_id, specimen_id, reported in session.execute(
            select(LabResult.lab_id, LabResult.specimen_id, LabResult.reported_identity).where(
                tuple_(LabResult.lab_id, LabResult.specimen_id).in_(chunk)
            )
        ):
            stored[(lab_id, specimen_id)] = json.loads(reported)
    seen_in_file: dict[tuple[str, str], LabRow] = {}
    new_rows, already, errors = [], 0, []
    for row in rows:
        key = (row.lab_id, row.specimen_id)
        earlier = stored.get(key)
        if earlier is not None:
            changed = _differences(earlier, row.content())
            if changed:
                errors.append(_conflict_error(row, changed, "was imported before with"))
            else:
                already += 1
            continue
        first = seen_in_file.get(key)
        if first is not None:
            changed = _differences(first.content(), row.content())
            if changed:
                errors.append(_conflict_error(row, changed, f"appears earlier in this file (row {first.row}) with"))
            else:
                already += 1
            continue
        seen_in_file[key] = row
        new_rows.append(row)
    return new_rows, already, errors


def _differences(before: dict, after: dict) -> list[tuple[str, str | None, str | None]]:
    return [(k, before.get(k), after.get(k)) for k in after if before.get(k) != after.get(k)]


def _conflict_error(row: LabRow, changed: list[tuple[str, str | None, str | None]], how: str) -> RowError:
    column, old, new = changed[0]
    others = f" (and {', '.join(c for c, _, _ in changed[1:])})" if len(changed) > 1 else ""
    return RowError(
        row.row, column, new or "",
        f"specimen {row.lab_id}/{row.specimen_id} {how} {column} {old!r}{others}; a stored result is never "
        "overwritten: if the laboratory corrected it, import the correction under a new specimen_id "
        "or ask an administrator to amend the record",
    )


def _apply_row(
    session: Session, row: LabRow, jurisdiction_id: int, batch_id: int, report: LabImportReport, profile, actor: Actor
) -> None:  # type: ignore[no-untyped-def]
    identity = Identity(row.given_name, row.family_name, row.date_of_birth, row.phone, row.national_id)
    resolution = resolve_person(
        session, identity, sex=row.sex, address=row.address, jurisdiction_id=jurisdiction_id, actor=actor
    )
    person = resolution.person
    report.new_persons += int(resolution.created)
    report.merge_candidates += resolution.new_candidates
    session.add(LabResult(
        lab_id=row.lab_id,
        specimen_id=row.specimen_id,
        collected_on=row.collected_on,
        resulted_on=row.resulted_on,
        result=row.result,
        test_type=row.test_type,
        person_id=person.id,
        jurisdiction_id=jurisdiction_id,
        reported_identity=json.dumps(row.content(), sort_keys=True),
        batch_id=batch_id,
    ))
    report.new_results[row.result] += 1
    evidence = f"{row.result} {row.test_type} result from {row.lab_id} for specimen {row.specimen_id} collected {row.collected_on.isoformat()}"
    if row.result == "positive":
        outcome = register_positive(
            session,
            person_id=person.id,
            jurisdiction_id=jurisdiction_id,
            specimen_on=row.collected_on,
            result_on=row.resulted_on,
            test_type=row.test_type,
            evidence=evidence[0].upper() + evidence[1:],
            actor=actor,
        )
        report.new_cases += int(outcome.created)
        report.joined_cases += int(not outcome.created)
        report.contacts_became_cases += int(outcome.links > 0)
    else:
        report.tests_closed += record_test_outcome(
            session, person_id=person.id, collected_on=row.collected_on, result_on=row.resulted_on,
            result=row.result, evidence=evidence, profile=profile,
        )

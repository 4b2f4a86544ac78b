"""Importing lab results: every problem reported in one pass, all-or-nothing, idempotent, never overwriting.

``import_lab_file`` adds to a file's format problems those only the database can see (an
unknown jurisdiction code, a jurisdiction outside the caller's scope, a specimen stored with
other content) and rejects the file with all of them together, row by row (issue 9, point 7).
A stored specimen of a jurisdiction the caller cannot see is never compared with the row, so
nothing it holds is echoed back.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from epitrace.domain.identity import Identity
from epitrace.intake.labs import LabFile, LabRecord, LabRow, RowError
from epitrace.storage.audit import Actor
from epitrace.storage.cases import load_profile, record_test_outcome, register_positive
from epitrace.storage.models import ImportBatch, Jurisdiction, LabResult
from epitrace.storage.persons import resolve_person
from epitrace.storage.scope import EVERYWHERE, Scope

LOOKUP_CHUNK = 400
ELSEWHERE = ("this specimen was already reported; the owning jurisdiction can resolve it (if this row is "
             "a different specimen, check its lab_id and specimen_id)")


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


def import_lab_file(
    session: Session, lab_file: LabFile, *, sha256: str, actor: Actor, scope: Scope = EVERYWHERE,
    source: str | None = None,
) -> LabImportReport:
    """Import a checked lab file in the caller's transaction (``source``: the batch's name, default the file's).

    Raises ImportRejected (and writes nothing) listing every problem: the file's format problems,
    unknown or out-of-scope jurisdictions and conflicts with stored or earlier rows, together.
    """
    jurisdictions = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
    errors = _reference_errors(lab_file.records, jurisdictions, scope)
    new_rows, already, conflicts = _split_known(session, lab_file.records, scope)
    rejected = lab_file.rejection([*errors, *conflicts])
    if rejected is not None:
        raise rejected
    rows = lab_file.rows
    report = LabImportReport(rows=len(rows), already_imported=already)
    if not new_rows:
        return report
    batch = ImportBatch(kind="labs", source=source or lab_file.source, sha256=sha256, rows=len(rows))
    session.add(batch)
    session.flush()
    _, profile = load_profile(session)
    # Results are applied in the order they happened, so a contact's earlier negative precedes
    # a later positive whatever the row order in the file.
    for row in sorted(new_rows, key=lambda r: (r.resulted_on, r.collected_on, r.row)):
        _apply_row(session, row, jurisdictions[row.jurisdiction_code], batch.id, report, profile, actor)
    return report


def import_lab_rows(
    session: Session, rows: list[LabRow], *, source: str, sha256: str, actor: Actor, scope: Scope = EVERYWHERE
) -> LabImportReport:
    """Import rows that passed their format checks (see ``import_lab_file``)."""
    lab_file = LabFile(source, tuple(LabRecord(r.row, r.content(), r) for r in rows), ())
    return import_lab_file(session, lab_file, sha256=sha256, actor=actor, scope=scope)


def _reference_errors(records: tuple[LabRecord, ...], jurisdictions: dict[str, int], scope: Scope) -> list[RowError]:
    errors = []
    for record in records:
        code = record.content.get("jurisdiction_code")
        if code is None:
            continue
        if code not in jurisdictions:
            errors.append(RowError(
                record.row, "jurisdiction_code", code,
                f"unknown jurisdiction code; add it with `epitrace jurisdictions add {code} NAME` "
                "or use a code from `epitrace jurisdictions list`"))
        elif not scope.allows(jurisdictions[code]):
            errors.append(RowError(
                record.row, "jurisdiction_code", code,
                "outside your jurisdiction: you can import results only for the jurisdiction(s) you work for; "
                f"correct the code, or have the row imported by an account of {code}"))
    return errors


def _split_known(
    session: Session, records: tuple[LabRecord, ...], scope: Scope
) -> tuple[list[LabRow], int, list[RowError]]:
    """Separate new rows from exact re-imports; a changed specimen is an error.

    Every record with a lab_id and specimen_id is checked, also one with format errors: its
    valid columns are compared, so its conflicts are reported with its other problems.
    """
    keyed = [(r, (r.content["lab_id"], r.content["specimen_id"])) for r in records
             if r.content.get("lab_id") and r.content.get("specimen_id")]
    stored: dict[tuple[str, str], tuple[int, str]] = {}
    keys = list(dict.fromkeys(key for _, key in keyed))
    for i in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[i : i + LOOKUP_CHUNK]
        for lab_id, specimen_id, jurisdiction_id, reported in session.execute(
            select(LabResult.lab_id, LabResult.specimen_id, LabResult.jurisdiction_id, LabResult.reported_identity)
            .where(tuple_(LabResult.lab_id, LabResult.specimen_id).in_(chunk))
        ):
            stored[(lab_id, specimen_id)] = (jurisdiction_id, reported)
    seen_in_file: dict[tuple[str, str], LabRecord] = {}
    new_rows: list[LabRow] = []
    already = 0
    errors: list[RowError] = []
    for record, key in keyed:
        if key in stored:
            jurisdiction_id, reported = stored[key]
            # Scope first: what another jurisdiction stored is neither compared nor shown.
            if not scope.allows(jurisdiction_id):
                errors.append(RowError(record.row, "specimen_id", key[1], f"specimen {key[0]}/{key[1]}: {ELSEWHERE}"))
                continue
            changed = _differences(json.loads(reported), record.content)
            if changed:
                errors.append(_conflict_error(record, key, changed, "was imported before with"))
            else:
                already += 1
            continue
        first = seen_in_file.get(key)
        if first is not None:
            changed = _differences(first.content, record.content)
            if changed:
                errors.append(_conflict_error(record, key, changed, f"appears earlier in this file (row {first.row}) with"))
            else:
                already += 1
            continue
        seen_in_file[key] = record
        if record.lab_row is not None:
            new_rows.append(record.lab_row)
    return new_rows, already, errors


def _differences(before: dict, after: dict) -> list[tuple[str, str | None, str | None]]:
    """Columns of ``after`` (only those that passed their checks) whose value ``before`` differs."""
    return [(k, before.get(k), after.get(k)) for k in after if k in before and before.get(k) != after.get(k)]


def _conflict_error(
    record: LabRecord, key: tuple[str, str], changed: list[tuple[str, str | None, str | None]], how: str
) -> RowError:
    column, old, new = changed[0]
    others = f" (and {', '.join(c for c, _, _ in changed[1:])})" if len(changed) > 1 else ""
    return RowError(
        record.row, column, new or "",
        f"specimen {key[0]}/{key[1]} {how} {column} {old!r}{others}; a stored result is never "
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

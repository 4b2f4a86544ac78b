"""Storing lab results: all-or-nothing, idempotent, never overwriting a specimen.

``check_lab_records`` finds the problems only the database can see (an unknown jurisdiction
code, a jurisdiction outside the caller's scope, a specimen stored or earlier in the file with
other content) for every row, also rows with format problems, so the importer reports them all
in one pass (issue 9, point 7). A stored specimen of a jurisdiction the caller cannot see is never
compared with the row, so nothing it holds is echoed back. ``write_lab_rows`` then writes.
Problems are plain ``(row, column, value, reason)`` tuples: storage knows no importer's types.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from epitrace.domain.identity import Identity
from epitrace.domain.statuses import ContactStatus, TaskKind, TaskStatus
from epitrace.errors import ImportRejected
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.cases import load_profile, record_test_outcome, register_positive
from epitrace.storage.models import Case, Contact, ImportBatch, Jurisdiction, LabResult, MergeCandidate, Person, Task
from epitrace.storage.persons import resolve_person
from epitrace.storage.scope import EVERYWHERE, Scope, case_filter, person_filter, task_filter

LOOKUP_CHUNK = 400
ELSEWHERE = ("this specimen was already reported; the owning jurisdiction can resolve it (if this row is "
             "a different specimen, check its lab_id and specimen_id)")

Problem = tuple[int, str, str, str]
"""``(row, column, value, reason)``: one problem with one row, the header being line 1."""


@dataclass(frozen=True)
class LabRow:
    """One validated lab result, as storage takes it (``intake.labs`` builds these from files)."""

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


@dataclass(frozen=True)
class LabCheck:
    """What the database says about a file's rows: the new ones, how many are re-imports, and the problems."""

    new_rows: list[LabRow]
    already_imported: int
    problems: list[Problem]
    jurisdictions: dict[str, int]


Record = tuple[int, Mapping[str, str | None], LabRow | None]
"""``(row, content, lab_row)``: the normalised text of the columns that passed their format checks,
and the validated row when all of them did."""


def check_lab_records(session: Session, records: Sequence[Record], *, scope: Scope = EVERYWHERE,
                      actor: Actor | None = None) -> LabCheck:
    """Every problem only the database can see, for every record (reads only).

    With an ``actor``, each refusal for something outside the caller's scope (a jurisdiction code,
    a specimen another jurisdiction stored) is audited as ``denied`` (issue 10), also in a dry run.
    """
    # The specimens are looked up under the writers' lock, kept until the import commits: a concurrent
    # import of the same file waits, then finds them stored (already imported), never a UniqueViolation.
    audit.writers_lock(session)
    jurisdictions = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
    problems = _reference_problems(records, jurisdictions, scope)
    new_rows, already, conflicts, elsewhere = _split_known(session, records, scope)
    if actor is not None:
        outside = sorted({code for _, content, _ in records if (code := content.get("jurisdiction_code")) in jurisdictions
                          and not scope.allows(jurisdictions[code])})
        for code in outside:
            audit.deny(session, actor, record_type="jurisdiction", record_id=code, person_id=None)
        for lab_result_id, person_id in elsewhere:
            audit.deny(session, actor, record_type="lab result", record_id=lab_result_id, person_id=person_id)
    return LabCheck(new_rows, already, problems + conflicts, jurisdictions)


def write_lab_rows(
    session: Session, check: LabCheck, *, rows: int, source: str, sha256: str, actor: Actor, scope: Scope = EVERYWHERE
) -> LabImportReport:
    """Write the new rows of a check without problems, in the caller's transaction (``rows``: the file's count).

    The report counts as the caller's ``scope`` sees it (issue 10): a row resolved to a person outside
    it counts as a new person, a case joined outside it as a new case, and only merge candidates with
    both persons in scope are counted, so a dry run cannot tell who exists in another jurisdiction.
    """
    if check.problems:  # a caller's mistake, not a user's: the importer reports problems first
        raise ValueError("write_lab_rows needs a check without problems")
    report = LabImportReport(rows=rows, already_imported=check.already_imported)
    if not check.new_rows:
        return report
    batch = ImportBatch(kind="labs", source=source, sha256=sha256, rows=rows)
    session.add(batch)
    session.flush()
    _, profile = load_profile(session)
    # Results are applied in the order they happened, so a contact's earlier negative precedes
    # a later positive whatever the row order in the file.
    for row in sorted(check.new_rows, key=lambda r: (r.resulted_on, r.collected_on, r.row)):
        _apply_row(session, row, check.jurisdictions[row.jurisdiction_code], batch.id, report, profile, actor, scope)
    return report


def import_lab_rows(
    session: Session, rows: list[LabRow], *, source: str, sha256: str, actor: Actor, scope: Scope = EVERYWHERE
) -> LabImportReport:
    """Import validated rows; raise ImportRejected (and write nothing) listing every problem.

    Files go through ``intake.labs.import_lab_file``, which reports format problems with these.
    """
    check = check_lab_records(session, [(r.row, r.content(), r) for r in rows], scope=scope, actor=actor)
    if check.problems:
        errors = [dict(zip(("row", "column", "value", "reason"), p, strict=True)) for p in sorted(check.problems)]
        raise ImportRejected(f"{source}: {len(errors)} problem(s) found; nothing was imported", errors=errors)
    return write_lab_rows(session, check, rows=len(rows), source=source, sha256=sha256, actor=actor, scope=scope)


def _reference_problems(records: Sequence[Record], jurisdictions: dict[str, int], scope: Scope) -> list[Problem]:
    problems = []
    for row, content, _ in records:
        code = content.get("jurisdiction_code")
        if code is None:
            continue
        if code not in jurisdictions:
            problems.append((row, "jurisdiction_code", code,
                             f"unknown jurisdiction code; add it with `epitrace jurisdictions add {code} NAME` "
                             "or use a code from `epitrace jurisdictions list`"))
        elif not scope.allows(jurisdictions[code]):
            problems.append((row, "jurisdiction_code", code,
                             "outside your jurisdiction: you can import results only for the jurisdiction(s) you work "
                             f"for; correct the code, or have the row imported by an account of {code}"))
    return problems


def _split_known(
    session: Session, records: Sequence[Record], scope: Scope
) -> tuple[list[LabRow], int, list[Problem], list[tuple[int, int]]]:
    """Separate new rows from exact re-imports; a changed specimen is a problem.

    Every record with a lab_id and specimen_id is checked, also one with format errors: its
    valid columns are compared, so its conflicts are reported with its other problems. A specimen
    stored for a jurisdiction outside ``scope`` is refused with one message whatever the row says
    (nothing stored is compared, so probing learns nothing); those come back as the last item,
    ``(lab result id, person id)``, to be audited.
    """
    keyed = [(record, (record[1]["lab_id"], record[1]["specimen_id"])) for record in records
             if record[1].get("lab_id") and record[1].get("specimen_id")]
    stored: dict[tuple[str, str], tuple[int, int, int, str]] = {}
    keys = list(dict.fromkeys(key for _, key in keyed))
    for i in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[i : i + LOOKUP_CHUNK]
        for lab_id, specimen_id, result_id, person_id, jurisdiction_id, reported in session.execute(
            select(LabResult.lab_id, LabResult.specimen_id, LabResult.id, LabResult.person_id, LabResult.jurisdiction_id,
                   LabResult.reported_identity)
            .where(tuple_(LabResult.lab_id, LabResult.specimen_id).in_(chunk))
        ):
            stored[(lab_id, specimen_id)] = (result_id, person_id, jurisdiction_id, reported)
    seen_in_file: dict[tuple[str, str], Record] = {}
    new_rows: list[LabRow] = []
    already = 0
    problems: list[Problem] = []
    elsewhere: list[tuple[int, int]] = []
    for record, key in keyed:
        row, content, lab_row = record
        if key in stored:
            result_id, person_id, jurisdiction_id, reported = stored[key]
            # Scope first: what another jurisdiction stored is neither compared nor shown.
            if not scope.allows(jurisdiction_id):
                # Not even the specimen id comes back: row and column say which (issue 10).
                problems.append((row, "specimen_id", "", ELSEWHERE))
                elsewhere.append((result_id, person_id))
                continue
            changed = _differences(json.loads(reported), content)
            if changed:
                problems.append(_conflict(row, key, changed, "was imported before with"))
            else:
                already += 1
            continue
        first = seen_in_file.get(key)
        if first is not None:
            changed = _differences(first[1], content)
            if changed:
                problems.append(_conflict(row, key, changed, f"appears earlier in this file (row {first[0]}) with"))
            else:
                already += 1
            continue
        seen_in_file[key] = record
        if lab_row is not None:
            new_rows.append(lab_row)
    return new_rows, already, problems, elsewhere


def _differences(before: Mapping, after: Mapping) -> list[tuple[str, str | None, str | None]]:
    """Columns of ``after`` (only those that passed their checks) whose value ``before`` differs."""
    return [(k, before.get(k), after.get(k)) for k in after if k in before and before.get(k) != after.get(k)]


def _conflict(row: int, key: tuple[str, str], changed: list[tuple[str, str | None, str | None]], how: str) -> Problem:
    column, old, new = changed[0]
    others = f" (and {', '.join(c for c, _, _ in changed[1:])})" if len(changed) > 1 else ""
    return (row, column, new or "",
            f"specimen {key[0]}/{key[1]} {how} {column} {old!r}{others}; a stored result is never "
            "overwritten: if the laboratory corrected it, import the correction under a new specimen_id "
            "or ask an administrator to amend the record")


def _visible(session: Session, scope: Scope, person_id: int) -> bool:
    return scope.jurisdiction_ids is None or session.scalar(
        select(Person.id).where(Person.id == person_id, person_filter(scope))) is not None


def _candidates_in_scope(session: Session, scope: Scope, person_id: int) -> int:
    """Merge candidates just recorded for a new person whose other person is in scope."""
    others = session.scalars(select(MergeCandidate.person_a_id).where(MergeCandidate.person_b_id == person_id)).all()
    return sum(_visible(session, scope, other) for other in others)


def _apply_row(
    session: Session, row: LabRow, jurisdiction_id: int, batch_id: int, report: LabImportReport, profile, actor: Actor,
    scope: Scope = EVERYWHERE,
) -> None:  # type: ignore[no-untyped-def]
    identity = Identity(row.given_name, row.family_name, row.date_of_birth, row.phone, row.national_id)
    resolution = resolve_person(
        session, identity, sex=row.sex, address=row.address, jurisdiction_id=jurisdiction_id, actor=actor
    )
    person = resolution.person
    # Counted as the caller sees them (scope checked before the row makes the person visible).
    report.new_persons += int(resolution.created or not _visible(session, scope, person.id))
    report.merge_candidates += (resolution.new_candidates if scope.jurisdiction_ids is None or not resolution.new_candidates
                                else _candidates_in_scope(session, scope, person.id))
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
        named_in_scope = _active_contacts_in_scope(session, scope, person.id)
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
        joined_in_scope = not outcome.created and scope.allows(outcome.case.jurisdiction_id)
        report.new_cases += int(not joined_in_scope)
        report.joined_cases += int(joined_in_scope)
        # Only contacts named by cases in scope count: others would tell of an investigation elsewhere.
        report.contacts_became_cases += int(outcome.links > 0 and (named_in_scope is None or named_in_scope > 0))
    else:
        open_in_scope = _open_tests_in_scope(session, scope, person.id)
        closed = record_test_outcome(
            session, person_id=person.id, collected_on=row.collected_on, result_on=row.resulted_on,
            result=row.result, evidence=evidence, profile=profile,
        )
        report.tests_closed += closed if open_in_scope is None else sum(
            session.get_one(Task, task_id).status != TaskStatus.OPEN.value for task_id in open_in_scope)


def _active_contacts_in_scope(session: Session, scope: Scope, person_id: int) -> int | None:
    """How many active contacts of the person cases in scope named (None: no scope to apply)."""
    if scope.jurisdiction_ids is None:
        return None
    return session.scalar(select(func.count()).select_from(Contact).join(Case, Case.id == Contact.case_id).where(
        Contact.person_id == person_id, Contact.status == ContactStatus.ACTIVE.value, case_filter(scope))) or 0


def _open_tests_in_scope(session: Session, scope: Scope, person_id: int) -> list[int] | None:
    """The person's open test tasks in scope (None: no scope to apply), to count which a result closes."""
    if scope.jurisdiction_ids is None:
        return None
    return list(session.scalars(select(Task.id).where(Task.person_id == person_id, Task.kind == TaskKind.TEST.value,
                                                      Task.status == TaskStatus.OPEN.value, task_filter(scope))))

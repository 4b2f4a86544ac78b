"""What the service needs, one function per use: every one scoped and every personal read audited."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, func, select, true, union
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from epitrace.domain.identity import Identity, normalise_name, normalise_phone
from epitrace.domain.periods import infectious_period
from epitrace.domain.statuses import CaseStatus, TaskKind, TaskStatus
from epitrace.errors import InputError, NotFound
from epitrace.storage import audit, versions
from epitrace.storage.audit import Actor
from epitrace.storage.cases import profile_of, register_positive
from epitrace.storage.investigation import VisitSpec, add_contact, add_visits, update_case
from epitrace.storage.jurisdictions import codes_by_id, get_jurisdiction, list_jurisdictions, subtree_ids
from epitrace.storage.links import review_link
from epitrace.storage.models import (
    AuditEvent,
    Case,
    Contact,
    ExposureWindow,
    LabResult,
    MergeCandidate,
    Person,
    Place,
    Task,
    TransmissionLink,
    Visit,
)
from epitrace.storage.persons import merge_persons
from epitrace.storage.scope import (
    EVERYWHERE,
    Scope,
    case_filter,
    person_filter,
    scoped_case,
    scoped_link,
    scoped_person,
    scoped_task,
    task_filter,
)
from epitrace.storage.tasks import close_task, require_open

MAX_PAGE = 500


def _without_person(query, column):  # type: ignore[no-untyped-def]
    """The same filters without the join to person, for counting: the join never removes a row
    (person_id is a NOT NULL foreign key), and without it SQLite counts from an index alone."""
    stripped = select(column)
    if query.whereclause is not None:
        stripped = stripped.where(query.whereclause)
    return stripped.subquery()


class CaseSort(StrEnum):
    """Orders of the case list."""

    NEWEST = "newest"  # newest result first (the queue's default)
    OLDEST = "oldest"  # oldest result first: longest waiting
    # No name order: it sorts every case in scope (100-160 ms for a city of 30,000); find a person by
    # name with the person search instead.


class TaskSort(StrEnum):
    """Orders of the task list."""

    DUE = "due"  # soonest due first: the most overdue first (default for open tasks)
    LATEST_DUE = "latest_due"  # latest due date first
    COMPLETED = "completed"  # most recently completed first (default for done tasks)


class PersonSort(StrEnum):
    """Orders of the person search."""

    NAME = "name"  # family name, then given name (default)
    BORN = "born"  # date of birth, earliest first; unknown last
    NEWEST = "newest"  # most recently recorded first


MAX_SEARCH_WORDS = 6
MAX_OFFSET = 1_000_000_000  # far past any list; keeps offset + limit inside SQLite's 64-bit integers


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InputError(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
    return limit, offset


Choice = TypeVar("Choice", bound=StrEnum)


def _choice(vocabulary: type[Choice], value: str | None, label: str) -> Choice | None:
    """``value`` as a member of ``vocabulary``, or an error naming the value and every allowed one."""
    if value is None or value == "":
        return None
    try:
        return vocabulary(value)
    except ValueError:
        allowed = ", ".join(member.value for member in vocabulary)
        raise InputError(f"{label} {value!r} is not one of: {allowed}") from None


def _jurisdiction_ids(session: Session, scope: Scope, code: str | None, *, actor: Actor | None = None) -> list[int] | None:
    """The caller's jurisdictions at and below ``code``; a code outside the caller's scope is an error,
    not an empty list (issue 9: a list must not come back empty for a reason it does not say), and a
    refusal audited as ``denied`` (issue 10)."""
    if code is None or code == "":
        return None
    # For a caller with a scope, a code outside it is refused exactly like an unknown one (issue 10).
    def unknown() -> InputError:  # built only when refused: it lists the caller's jurisdictions
        return InputError(f"jurisdiction {code!r} is {'not one of yours' if scope.jurisdiction_ids is not None else 'not a known code'}: "
                          f"use one of {', '.join(jurisdictions_in_scope(session, scope))}")

    try:
        wanted = subtree_ids(session, code)
    except NotFound:
        raise unknown() from None
    ids = [j for j in wanted if scope.allows(j)]
    if not ids:
        if actor is not None:
            audit.deny(session, actor, record_type="jurisdiction", record_id=code, person_id=None)
        raise unknown()
    return ids


def _narrowed(session: Session, scope: Scope, ids: list[int] | None) -> Scope:
    """The scope the case list filters by: the jurisdiction filter within the caller's scope, and no
    filter at all when that covers every jurisdiction (every case has one), so a city supervisor's
    list walks the result-date index instead of sorting the whole city (issue 9)."""
    narrowed = scope if ids is None else Scope(frozenset(ids))
    if narrowed.jurisdiction_ids is not None and narrowed.jurisdiction_ids >= set(codes_by_id(session)):
        return EVERYWHERE
    return narrowed


def jurisdictions_in_scope(session: Session, scope: Scope) -> list[str]:
    """Codes the caller may filter by, in tree order (for the pages' filter forms)."""
    return [j.code for j, _ in list_jurisdictions(session) if scope.allows(j.id)]


def _prefix(column: InstrumentedAttribute[str | None], text: str) -> ColumnElement[bool]:
    """``column`` starts with ``text``, as a range an index answers (portable, unlike LIKE with an index)."""
    return and_(column >= text, column < text[:-1] + chr(ord(text[-1]) + 1))


def person_brief(p: Person) -> dict:
    return {"id": p.id, "name": f"{p.given_name} {p.family_name}", "date_of_birth": p.date_of_birth}


def list_cases(
    session: Session, scope: Scope, *, actor: Actor, today: date, status: str | None = None, jurisdiction: str | None = None,
    reported_from: date | None = None, reported_to: date | None = None, uninterviewed: bool = False,
    sort: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[dict], int]:
    """Cases in scope with the SLA clock (days since the result), one page, and how many match in all.

    Filters combine; ``sort`` is a ``CaseSort`` (default newest result first). Unknown values are errors.
    """
    limit, offset = _page(limit, offset)
    wanted_status = _choice(CaseStatus, status, "status")
    order = _choice(CaseSort, sort, "sort") or CaseSort.NEWEST
    within = _narrowed(session, scope, _jurisdiction_ids(session, scope, jurisdiction, actor=actor))
    query = select(Case, Person).join(Person, Person.id == Case.person_id).where(case_filter(within))
    if wanted_status:
        query = query.where(Case.status == wanted_status.value)
    if reported_from:
        query = query.where(Case.reported_on >= reported_from)
    if reported_to:
        query = query.where(Case.reported_on <= reported_to)
    if uninterviewed:
        query = query.where(Case.interviewed_on.is_(None))
    # Counted without the person join: every case has its person (a NOT NULL foreign key).
    total = session.scalar(select(func.count()).select_from(_without_person(query, Case.id))) or 0
    ordering = {
        CaseSort.NEWEST: (Case.reported_on.desc(), Case.id.desc()),
        CaseSort.OLDEST: (Case.reported_on, Case.id),
    }[order]
    codes = codes_by_id(session)
    rows = []
    page = session.execute(query.order_by(*ordering).limit(limit).offset(offset)).all()
    audit.record_many(session, actor, action="read", record_type="case", records=[(c.id, c.person_id) for c, _ in page])
    for case, person in page:
        rows.append({
            "id": case.id, "person": person_brief(person), "status": case.status,
            "jurisdiction": codes[case.jurisdiction_id], "reported_on": case.reported_on, "onset": case.onset_date,
            "interviewed_on": case.interviewed_on, "days_since_result": (today - case.reported_on).days,
        })
    return rows, total


def case_detail(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> dict:
    """Everything a tracer needs on one case page."""
    case = scoped_case(session, scope, case_id, actor=actor)
    person = session.get_one(Person, case.person_id)
    audit.record(session, actor, action="read", record_type="case", record_id=case.id, person_id=person.id)
    period = None
    if case.onset_date or case.specimen_date:
        p = infectious_period(profile_of(session, case), onset=case.onset_date, specimen=case.specimen_date,
                              isolation=case.isolation_date)
        period = {"first_day": p.first_day, "last_day": p.last_day, "basis": p.basis}
    # Cross-references are shown only when their other record is in scope too (issue 10).
    tasks = session.scalars(select(Task).where(Task.case_id == case.id, task_filter(scope)).order_by(Task.due_on)).all()
    links = session.scalars(_links_in_scope(scope).where(
        (TransmissionLink.infectee_case_id == case.id) | (TransmissionLink.infector_case_id == case.id))).all()
    return {
        "id": case.id, "version": case.version, "updated_by": versions.writer_label(case.updated_by) if case.updated_by else None,
        "updated_at": case.updated_at,
        "status": case.status, "person": person_brief(person), "jurisdiction": codes_by_id(session)[case.jurisdiction_id],
        "reported_on": case.reported_on, "specimen_date": case.specimen_date, "onset": case.onset_date,
        "isolation": case.isolation_date, "interviewed_on": case.interviewed_on, "symptoms": case.symptoms,
        "infectious_period": period,
        "visits": _visits(session, case),
        "contacts": _contacts(session, scope, case, actor),
        "tasks": [{"id": t.id, "version": t.version, "kind": t.kind, "due_on": t.due_on, "status": t.status,
                   "reason": t.reason} for t in tasks],
        "links": [{"id": link.id, "infector_case": link.infector_case_id, "infectee_case": link.infectee_case_id,
                   "certainty": link.certainty, "source": link.source, "evidence": link.evidence} for link in links],
    }


def case_visits(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> list[dict]:
    """The case's itinerary, each visit with its exposure window (if any)."""
    case = scoped_case(session, scope, case_id, actor=actor)
    audit.record(session, actor, action="read", record_type="visits", record_id=case.id, person_id=case.person_id)
    return _visits(session, case)


def case_contacts(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> list[dict]:
    """The contacts the case named (each a read of the contact's person too)."""
    case = scoped_case(session, scope, case_id, actor=actor)
    audit.record(session, actor, action="read", record_type="contacts", record_id=case.id, person_id=case.person_id)
    return _contacts(session, scope, case, actor)


def _visits(session: Session, case: Case) -> list[dict]:
    visits = session.execute(
        select(Visit, Place, ExposureWindow.id).join(Place, Place.id == Visit.place_id)
        .outerjoin(ExposureWindow, ExposureWindow.visit_id == Visit.id).where(Visit.case_id == case.id).order_by(Visit.start_at)
    ).all()
    return [{"id": v.id, "place": pl.name, "kind": pl.kind, "start": v.start_at, "end": v.end_at, "source": v.source,
             "window_id": w} for v, pl, w in visits]


def _contacts(session: Session, scope: Scope, case: Case, actor: Actor) -> list[dict]:
    """Contacts whose person is in scope; naming one is a read of that person (issue 10)."""
    contacts = session.execute(
        select(Contact, Person).join(Person, Person.id == Contact.person_id)
        .where(Contact.case_id == case.id, person_filter(scope)).order_by(Contact.id)
    ).all()
    audit.record_many(session, actor, action="read", record_type="contact", records=[(c.id, p.id) for c, p in contacts])
    return [{"id": c.id, "version": c.version, "person": person_brief(p), "setting": c.setting,
             "last_exposure": c.last_exposure_on, "status": c.status} for c, p in contacts]


def case_windows(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> list[dict]:
    case = scoped_case(session, scope, case_id, actor=actor)
    audit.record(session, actor, action="read", record_type="windows", record_id=case.id, person_id=case.person_id)
    rows = session.execute(
        select(ExposureWindow, Place).join(Place, Place.id == ExposureWindow.place_id)
        .where(ExposureWindow.case_id == case.id).order_by(ExposureWindow.start_at)
    ).all()
    return [{"id": w.id, "place": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon, "radius_m": p.radius_m,
             "start": w.start_at, "end": w.end_at, "basis": w.basis} for w, p in rows]


def record_interview(session: Session, scope: Scope, case_id: int, *, actor: Actor, onset: date | None,
                     isolation: date | None, interviewed_on: date | None, symptoms: str | None = None,
                     today: date | None = None, expected_version: int | None = None) -> int:
    """Record interview facts; returns the case's new version. ``expected_version``, the version the
    writer read, makes a write over a later change a ``StaleRecord`` (``versions.require_version``)."""
    case = scoped_case(session, scope, case_id, actor=actor)
    versions.require_version(session, case, expected_version)
    update_case(session, case_id, actor=actor, onset=onset, isolation=isolation, interviewed_on=interviewed_on,
                symptoms=symptoms, today=today)
    return versions.version_now(session, case)


def record_visit(session: Session, scope: Scope, case_id: int, spec: VisitSpec, *, actor: Actor,
                 confirmed: bool = False) -> int:
    scoped_case(session, scope, case_id, actor=actor)
    return add_visits(session, case_id, [spec], actor=actor, confirmed=confirmed)[0].id


def record_contact(session: Session, scope: Scope, case_id: int, identity: Identity, *, actor: Actor, setting: str,
                   last_exposure: date, identified_on: date, relationship: str | None = None,
                   confirmed: bool = False) -> dict:
    scoped_case(session, scope, case_id, actor=actor)
    outcome = add_contact(session, case_id, identity, setting=setting, last_exposure=last_exposure,
                          identified_on=identified_on, actor=actor, relationship=relationship, confirmed=confirmed)
    return {"contact_id": outcome.contact.id, "person_id": outcome.contact.person_id, "created": outcome.created,
            "tasks": outcome.tasks}


def list_tasks(
    session: Session, scope: Scope, *, actor: Actor, today: date, status: str | None = "open", kind: str | None = None,
    jurisdiction: str | None = None, overdue: bool = False, due_on: date | None = None, due_from: date | None = None,
    due_to: date | None = None, completed_from: date | None = None, completed_to: date | None = None,
    setting: str | None = None, sort: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[dict], int]:
    """Tasks in scope, one page, and how many match in all.

    Filters combine: ``overdue`` means open and due before ``today``; ``setting`` is the setting of the
    exposure that made a contact's task (household, work, ...). ``sort`` is a ``TaskSort`` (default:
    soonest due first; most recently completed first for done tasks). Unknown values are errors.
    """
    limit, offset = _page(limit, offset)
    wanted_status = _choice(TaskStatus, status, "status")
    wanted_kind = _choice(TaskKind, kind, "kind")
    order = _choice(TaskSort, sort, "sort") or (TaskSort.COMPLETED if wanted_status is TaskStatus.DONE else TaskSort.DUE)
    if overdue and wanted_status not in (None, TaskStatus.OPEN):
        raise InputError(f"overdue tasks are open ones, so status {wanted_status.value!r} and overdue contradict: "
                         "drop one of them")
    # The jurisdiction list stays even when it is the whole city: with it SQLite counts from the
    # (status, [kind,] jurisdiction, date) indexes alone.
    ids = _jurisdiction_ids(session, scope, jurisdiction, actor=actor)
    query = select(Task, Person).join(Person, Person.id == Task.person_id).where(
        task_filter(scope if ids is None else Scope(frozenset(ids))))
    if overdue:
        query = query.where(Task.status == TaskStatus.OPEN.value, Task.due_on < today)
    elif wanted_status:
        query = query.where(Task.status == wanted_status.value)
    if wanted_kind:
        query = query.where(Task.kind == wanted_kind.value)
    if due_on:
        query = query.where(Task.due_on == due_on)
    if due_from:
        query = query.where(Task.due_on >= due_from)
    if due_to:
        query = query.where(Task.due_on <= due_to)
    if completed_from:
        query = query.where(Task.completed_on >= completed_from)
    if completed_to:
        query = query.where(Task.completed_on <= completed_to)
    if setting is not None and setting.strip():
        # Settings are free text (no closed vocabulary in domain.statuses), so matched exactly; the task
        # carries its contact's setting, so no join to contact.
        query = query.where(Task.setting == setting.strip())
    total = session.scalar(select(func.count()).select_from(_without_person(query, Task.id))) or 0
    ordering = {
        TaskSort.DUE: (Task.due_on, Task.id),
        TaskSort.LATEST_DUE: (Task.due_on.desc(), Task.id.desc()),
        TaskSort.COMPLETED: (Task.completed_on.desc(), Task.id.desc()),
    }[order]
    page = session.execute(query.order_by(*ordering).limit(limit).offset(offset)).all()
    audit.record_many(session, actor, action="read", record_type="task", records=[(t.id, p.id) for t, p in page])
    return [_task_row(t, p, today) for t, p in page], total


def _task_row(task: Task, person: Person, today: date) -> dict:
    return {"id": task.id, "version": task.version, "kind": task.kind, "person": person_brief(person),
            "case_id": task.case_id, "contact_id": task.contact_id, "due_on": task.due_on, "status": task.status,
            "overdue": task.status == "open" and task.due_on < today, "reason": task.reason, "result": task.result,
            "completed_on": task.completed_on}


def task_detail(session: Session, scope: Scope, task_id: int, *, actor: Actor, today: date) -> dict:
    """One task as the task list shows it (audited)."""
    task = scoped_task(session, scope, task_id, actor=actor)
    person = session.get_one(Person, task.person_id)
    audit.record(session, actor, action="read", record_type="task", record_id=task.id, person_id=person.id)
    return _task_row(task, person, today)


def record_task_result(session: Session, scope: Scope, task_id: int, *, actor: Actor, result: str, on: date,
                       expected_version: int | None = None) -> dict:
    """Close an open task; a positive test makes the contact a case linked to its source. A task changed
    since ``expected_version`` (when given) is a ``StaleRecord``, and a closed one (done or cancelled) a
    ``Conflict`` naming its state, both checked before anything is written (issue 10; issue 11, point 3);
    a refusal after that is undone by the caller's transaction or savepoint, as for every write."""
    task = scoped_task(session, scope, task_id, actor=actor)
    versions.require_version(session, task, expected_version)
    require_open(task)
    case_id, new_case = None, False
    if task.kind == TaskKind.TEST.value and result.strip().lower() == "positive":
        outcome = register_positive(session, person_id=task.person_id, jurisdiction_id=task.jurisdiction_id,
                                    specimen_on=on, result_on=on, test_type="reported to tracer",
                                    evidence=f"Positive test recorded on task {task.id}", actor=actor)
        case_id, new_case, result = outcome.case.id, outcome.created, "positive"
    if task.status == TaskStatus.OPEN.value:  # register_positive closes the test task of a contact it converts
        close_task(session, task, result=result, on=on, actor=actor)
    return {"task_id": task.id, "version": versions.version_now(session, task), "status": task.status,
            "case_id": case_id, "new_case": new_case}


def _name_terms(text: str) -> list[ColumnElement[bool]]:
    """A name search as index ranges: the whole text as the start of the given or the family name, and
    every split of its words into given and family name, in either order, each word group a prefix
    ("Ana Silva", "Silva Ana", "An Sil"). The same normalisation as identity resolution (issue 9)."""
    words = text.split()
    if len(words) > MAX_SEARCH_WORDS:
        raise InputError(f"search has {len(words)} words; use at most {MAX_SEARCH_WORDS} (a name, a phone or an id)")
    terms = [_prefix(Person.name_key, text), _prefix(Person.family_key, text)]
    for split in range(1, len(words)):
        first, rest = " ".join(words[:split]), " ".join(words[split:])
        for given, family in ((first, rest), (rest, first)):
            terms.append(and_(_prefix(Person.family_key, family), _prefix(Person.name_key, given)))
    return terms


def search_persons(session: Session, scope: Scope, *, actor: Actor, q: str | None = None, jurisdiction: str | None = None,
                   sort: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Persons in scope found by name (given and family name in either order, each a prefix), by phone
    (normalised as identity resolution does, so any spelling), or by national id; one page and the total."""
    limit, offset = _page(limit, offset)
    order = _choice(PersonSort, sort, "sort") or PersonSort.NAME
    ids = _jurisdiction_ids(session, scope, jurisdiction, actor=actor)
    within = scope if ids is None else Scope(frozenset(ids))
    terms: list[ColumnElement[bool]] = [true()]
    if q:
        text = normalise_name(q)
        if not text:
            raise InputError(f"search {q!r} has no letters or digits to search for")
        terms = [Person.national_id == q.strip()]
        phone = normalise_phone(q)
        if phone:
            terms.append(Person.phone_key == phone)
        if any(c.isalpha() for c in text):  # digits alone are a phone or an id, not a name
            terms.extend(_name_terms(text))
    ordering = {
        PersonSort.NAME: (Person.family_key, Person.name_key, Person.id),
        PersonSort.BORN: (Person.date_of_birth.is_(None), Person.date_of_birth, Person.id),
        PersonSort.NEWEST: (Person.id.desc(),),
    }[order]
    # One query per way of matching, united: each walks its own index (an OR of them makes SQLite fetch
    # and sort every match). The page takes the first offset + limit of each in the chosen order.
    visible = and_(person_filter(within), Person.merged_into_id.is_(None))  # built once: big unions compile slowly
    arms = [select(Person.id).where(term, visible) for term in terms]
    matched = union(*arms).subquery() if len(arms) > 1 else arms[0].subquery()
    total = session.scalar(select(func.count()).select_from(matched)) or 0
    heads = [select(head.c.id) for head in (arm.order_by(*ordering).limit(offset + limit).subquery() for arm in arms)]
    candidates = union(*heads) if len(heads) > 1 else heads[0]
    page = session.scalars(select(Person).where(Person.id.in_(candidates)).order_by(*ordering).limit(limit)
                           .offset(offset)).all()
    audit.record_many(session, actor, action="read", record_type="person", records=[(p.id, p.id) for p in page])
    return [person_brief(p) for p in page], total


def person_detail(session: Session, scope: Scope, person_id: int, *, actor: Actor) -> dict:
    """A person's record and history: lab results, cases, contacts, tasks, merge candidates."""
    person = scoped_person(session, scope, person_id, actor=actor)
    audit.record(session, actor, action="read", record_type="person", record_id=person.id, person_id=person.id)
    labs = session.scalars(select(LabResult).where(LabResult.person_id == person.id, _lab_filter(scope))
                           .order_by(LabResult.resulted_on)).all()
    cases = session.scalars(select(Case).where(Case.person_id == person.id, case_filter(scope))).all()
    contacts = session.scalars(
        select(Contact).join(Case, Case.id == Contact.case_id).where(Contact.person_id == person.id, case_filter(scope))
    ).all()
    tasks = session.scalars(select(Task).where(Task.person_id == person.id, task_filter(scope)).order_by(Task.due_on)).all()
    candidates = _candidates_in_scope(session, scope, person.id)
    # The evidence names both persons: the other one's trail shows the read too (issue 10).
    audit.record_many(session, actor, action="read", record_type="merge candidate",
                      records=[(m.id, _other(m, person.id)) for m in candidates])
    return {
        **person_brief(person), "sex": person.sex, "phone": person.phone, "national_id": person.national_id,
        "address": person.address, "merged_into": person.merged_into_id,
        "lab_results": [{"lab_id": r.lab_id, "specimen_id": r.specimen_id, "collected_on": r.collected_on,
                         "resulted_on": r.resulted_on, "result": r.result, "test_type": r.test_type} for r in labs],
        "cases": [{"id": c.id, "status": c.status, "reported_on": c.reported_on} for c in cases],
        "contacts": [{"id": c.id, "case_id": c.case_id, "setting": c.setting, "last_exposure": c.last_exposure_on,
                      "status": c.status} for c in contacts],
        "tasks": [{"id": t.id, "kind": t.kind, "due_on": t.due_on, "status": t.status, "result": t.result} for t in tasks],
        "merge_candidates": [{"id": m.id, "other_person": _other(m, person.id), "evidence": m.evidence} for m in candidates],
    }


def _other(candidate: MergeCandidate, person_id: int) -> int:
    return candidate.person_b_id if candidate.person_a_id == person_id else candidate.person_a_id


def _candidates_in_scope(session: Session, scope: Scope, person_id: int) -> list[MergeCandidate]:
    """Open merge candidates of a person whose other person is in scope too (their evidence names both)."""
    candidates = session.scalars(
        select(MergeCandidate).where((MergeCandidate.person_a_id == person_id) | (MergeCandidate.person_b_id == person_id),
                                     MergeCandidate.status == "open").order_by(MergeCandidate.id)
    ).all()
    others = {_other(m, person_id) for m in candidates}
    visible = set(session.scalars(select(Person.id).where(Person.id.in_(others), person_filter(scope)))) if others else set()
    return [m for m in candidates if _other(m, person_id) in visible]


def _lab_filter(scope: Scope) -> ColumnElement[bool]:
    return true() if scope.jurisdiction_ids is None else LabResult.jurisdiction_id.in_(scope.jurisdiction_ids)


def _links_in_scope(scope: Scope):  # type: ignore[no-untyped-def]
    """Links with both cases in scope: a link names its other case and the evidence about both."""
    infector = aliased(Case)
    return (select(TransmissionLink).join(Case, Case.id == TransmissionLink.infectee_case_id)
            .join(infector, infector.id == TransmissionLink.infector_case_id)
            .where(case_filter(scope), case_filter(scope, infector)))


def merge(session: Session, scope: Scope, keep_id: int, other_id: int, *, actor: Actor) -> dict:
    scoped_person(session, scope, keep_id, actor=actor)
    scoped_person(session, scope, other_id, actor=actor)
    kept = merge_persons(session, keep_id, other_id, actor=actor)
    return {"kept": kept.id, "merged": other_id}


def list_links(session: Session, scope: Scope, *, certainty: str | None = None, source: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Links whose two cases are both in scope (case ids only: no names)."""
    limit, offset = _page(limit, offset)
    query = _links_in_scope(scope)
    if certainty:
        query = query.where(TransmissionLink.certainty == certainty)
    if source:
        query = query.where(TransmissionLink.source == source)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(TransmissionLink.id).subquery())) or 0
    page = session.scalars(query.order_by(TransmissionLink.id).limit(limit).offset(offset)).all()
    return [{"id": link.id, "infector_case": link.infector_case_id, "infectee_case": link.infectee_case_id,
             "certainty": link.certainty, "source": link.source, "evidence": link.evidence,
             "reviewed_by": link.reviewed_by} for link in page], total


def review(session: Session, scope: Scope, link_id: int, *, decision: str, actor: Actor) -> dict:
    scoped_link(session, scope, link_id, actor=actor)
    link = review_link(session, link_id, decision=decision, actor=actor)
    return {"id": link.id, "certainty": link.certainty, "reviewed_by": link.reviewed_by}


def check_jurisdictions_in_scope(session: Session, scope: Scope, codes: set[str]) -> list[str]:
    """The codes (of a lab file) outside the caller's scope."""
    outside = []
    for code in sorted(codes):
        try:
            if not scope.allows(get_jurisdiction(session, code).id):
                outside.append(code)
        except NotFound:
            continue  # unknown codes are reported by the import itself
    return outside


def audit_for_person(session: Session, scope: Scope, person_id: int, *, actor: Actor, limit: int = 500) -> list[dict]:
    """Who accessed a person's data, newest first (for privacy officers and subject access).

    A person outside the caller's scope is refused like a missing one (issue 10); the command line
    (everywhere) also reads the trail of a person id no longer stored. The reading is audited."""
    if scope.jurisdiction_ids is not None:
        scoped_person(session, scope, person_id, actor=actor)
    audit.record(session, actor, action="read", record_type="audit", record_id=person_id, person_id=person_id)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.person_id == person_id).order_by(AuditEvent.id.desc()).limit(limit))
    return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "record_type": e.record_type,
             "record_id": e.record_id, "purpose": e.purpose} for e in rows]




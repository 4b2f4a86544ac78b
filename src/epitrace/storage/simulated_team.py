"""What the demo's simulated tracing team reads and does, as queries (the pipeline holds no SQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from epitrace.domain.statuses import TaskKind, TaskStatus
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.models import (
    AuditEvent,
    Case,
    Contact,
    ExposureWindow,
    Jurisdiction,
    LabResult,
    Person,
    Place,
    Task,
    User,
)

CHUNK = 400
"""Specimen ids per IN (...) list: well under SQLite's bound-parameter limit."""


def stored_rows(session: Session) -> dict[str, int]:
    """How many jurisdictions, persons, user accounts and audit entries a database holds: the demo
    runs only on a database where all are 0."""
    tables = {"jurisdictions": Jurisdiction, "persons": Person, "user accounts": User, "audit entries": AuditEvent}
    return {name: session.scalar(select(func.count()).select_from(model)) or 0 for name, model in tables.items()}


def persons_of_specimens(session: Session, specimen_ids: list[str]) -> list[tuple[str, str, int]]:
    """(lab id, specimen id, person id) of the stored results with these specimen ids."""
    found: list[tuple[str, str, int]] = []
    for i in range(0, len(specimen_ids), CHUNK):
        found.extend(session.execute(
            select(LabResult.lab_id, LabResult.specimen_id, LabResult.person_id)
            .where(LabResult.specimen_id.in_(specimen_ids[i : i + CHUNK])).order_by(LabResult.id)).tuples())
    return found


def cases_awaiting_interview(session: Session, *, created_before: date) -> list[Case]:
    """Cases whose interview task is open and was created before ``created_before``, oldest first."""
    return list(session.scalars(
        select(Case).join(Task, Task.case_id == Case.id).where(
            Task.kind == TaskKind.INTERVIEW.value, Task.status == TaskStatus.OPEN.value, Task.created_on < created_before
        ).order_by(Case.id)).all())


def venue_windows(session: Session, case_ids: list[int]) -> list[tuple[ExposureWindow, Place]]:
    """The exposure windows at venues of these cases, with their place."""
    return list(session.execute(
        select(ExposureWindow, Place).join(Place, Place.id == ExposureWindow.place_id).where(
            ExposureWindow.case_id.in_(case_ids), Place.kind == "venue").order_by(ExposureWindow.id)).tuples())


def screened_contact_phones(session: Session, screening_id: int) -> list[tuple[int, str | None]]:
    """(person id, phone) of the contacts a venue screening made, in the order it made them (each draws a
    random number)."""
    return list(session.execute(
        select(Contact.person_id, Person.phone).join(Person, Person.id == Contact.person_id)
        .where(Contact.screening_id == screening_id).order_by(Contact.id)).tuples())


def due_follow_up(session: Session, *, today: date) -> list[Task]:
    """Open notifications and symptom checks due by ``today`` (and created by then), oldest first (each
    draws a random number)."""
    return list(session.scalars(select(Task).where(
        Task.status == TaskStatus.OPEN.value, Task.kind.in_([TaskKind.NOTIFY.value, TaskKind.SYMPTOM_CHECK.value]),
        Task.due_on <= today, Task.created_on <= today).order_by(Task.id)).all())


def complete_tasks(session: Session, done: list[tuple[Task, str]], *, on: date, actor: Actor) -> None:
    """Mark each task done with its result, audited in one chained bulk insert."""
    for task, result in done:
        task.status, task.result, task.completed_on = TaskStatus.DONE.value, result, on
    audit.record_many(session, actor, action="update", record_type="task",
                      records=[(task.id, task.person_id) for task, _ in done])

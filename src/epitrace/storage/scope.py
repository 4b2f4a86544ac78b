"""Jurisdiction scope, enforced in the queries: a record outside the caller's scope does not exist.

Out-of-scope records raise ``NotFound`` with the same message as a missing record, so the answer
never reveals that something exists elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from epitrace.errors import NotFound
from epitrace.storage.models import Case, Person, Task, TransmissionLink


@dataclass(frozen=True)
class Scope:
    """The jurisdictions a caller may see; ``None`` means all (the command line, the system)."""

    jurisdiction_ids: frozenset[int] | None

    def allows(self, jurisdiction_id: int | None) -> bool:
        return self.jurisdiction_ids is None or jurisdiction_id in self.jurisdiction_ids


EVERYWHERE = Scope(None)


def case_filter(scope: Scope) -> ColumnElement[bool]:
    return true() if scope.jurisdiction_ids is None else Case.jurisdiction_id.in_(scope.jurisdiction_ids)


def task_filter(scope: Scope) -> ColumnElement[bool]:
    return true() if scope.jurisdiction_ids is None else Task.jurisdiction_id.in_(scope.jurisdiction_ids)


def person_filter(scope: Scope) -> ColumnElement[bool]:
    """A person is visible where they live, or where they have a case or a task."""
    if scope.jurisdiction_ids is None:
        return true()
    ids = scope.jurisdiction_ids
    return or_(
        Person.jurisdiction_id.in_(ids),
        exists().where(Case.person_id == Person.id, Case.jurisdiction_id.in_(ids)),
        exists().where(Task.person_id == Person.id, Task.jurisdiction_id.in_(ids)),
    )


def scoped_case(session: Session, scope: Scope, case_id: int) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id, case_filter(scope)))
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def scoped_person(session: Session, scope: Scope, person_id: int) -> Person:
    person = session.scalar(select(Person).where(Person.id == person_id, person_filter(scope)))
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    return person


def scoped_task(session: Session, scope: Scope, task_id: int) -> Task:
    task = session.scalar(select(Task).where(Task.id == task_id, task_filter(scope)))
    if task is None:
        raise NotFound(f"no task with id {task_id}")
    return task


def scoped_link(session: Session, scope: Scope, link_id: int) -> TransmissionLink:
    """A link is visible when its infectee's case is."""
    link = session.scalar(
        select(TransmissionLink).join(Case, Case.id == TransmissionLink.infectee_case_id)
        .where(TransmissionLink.id == link_id, case_filter(scope))
    )
    if link is None:
        raise NotFound(f"no link with id {link_id}")
    return link

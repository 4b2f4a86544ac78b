"""Jurisdiction scope, enforced in the queries: a record outside the caller's scope does not exist.

Out-of-scope records raise ``NotFound`` with the same message as a missing record, so the answer
never reveals that something exists elsewhere; the refusal is audited as ``denied`` (issue 10).
A cross-reference (a link's other case, a merge candidate's other person) is shown only when both
of its records are in scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from epitrace.errors import NotFound
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.models import Case, Person, Task, TransmissionLink


@dataclass(frozen=True)
class Scope:
    """The jurisdictions a caller may see; ``None`` means all (the command line, the system)."""

    jurisdiction_ids: frozenset[int] | None

    def allows(self, jurisdiction_id: int | None) -> bool:
        return self.jurisdiction_ids is None or jurisdiction_id in self.jurisdiction_ids


EVERYWHERE = Scope(None)


def case_filter(scope: Scope, case: type[Case] = Case) -> ColumnElement[bool]:
    """Cases in scope; ``case`` may be an alias of Case (a second case of a cross-reference)."""
    return true() if scope.jurisdiction_ids is None else case.jurisdiction_id.in_(scope.jurisdiction_ids)


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


def refuse(session: Session, scope: Scope, actor: Actor, record_type: str, record_id: object,
           person_of: Select[tuple[int | None]]) -> None:
    """Audit a refusal as ``denied`` when the record exists outside ``scope`` (a missing one is not).

    ``person_of`` selects the record's person (or ``None``) and returns no row when the record does
    not exist; the person's trail then shows the attempt. The caller raises the same ``NotFound`` as
    for a missing record either way.
    """
    if scope.jurisdiction_ids is None:
        return
    found = session.execute(person_of.limit(1)).first()
    if found is not None:
        audit.deny(session, actor, record_type=record_type, record_id=record_id, person_id=found[0])


def scoped_case(session: Session, scope: Scope, case_id: int, *, actor: Actor) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id, case_filter(scope)))
    if case is None:
        refuse(session, scope, actor, "case", case_id, select(Case.person_id).where(Case.id == case_id))
        raise NotFound(f"no case with id {case_id}")
    return case


def scoped_person(session: Session, scope: Scope, person_id: int, *, actor: Actor) -> Person:
    person = session.scalar(select(Person).where(Person.id == person_id, person_filter(scope)))
    if person is None:
        refuse(session, scope, actor, "person", person_id, select(Person.id).where(Person.id == person_id))
        raise NotFound(f"no person with id {person_id}")
    return person


def scoped_task(session: Session, scope: Scope, task_id: int, *, actor: Actor) -> Task:
    task = session.scalar(select(Task).where(Task.id == task_id, task_filter(scope)))
    if task is None:
        refuse(session, scope, actor, "task", task_id, select(Task.person_id).where(Task.id == task_id))
        raise NotFound(f"no task with id {task_id}")
    return task


def scoped_link(session: Session, scope: Scope, link_id: int, *, actor: Actor) -> TransmissionLink:
    """A link is visible when both its cases are."""
    infector = aliased(Case)
    link = session.scalar(
        select(TransmissionLink).join(Case, Case.id == TransmissionLink.infectee_case_id)
        .join(infector, infector.id == TransmissionLink.infector_case_id)
        .where(TransmissionLink.id == link_id, case_filter(scope), case_filter(scope, infector))
    )
    if link is None:
        refuse(session, scope, actor, "link", link_id, select(Case.person_id).join(
            TransmissionLink, TransmissionLink.infectee_case_id == Case.id).where(TransmissionLink.id == link_id))
        raise NotFound(f"no link with id {link_id}")
    return link

"""What the demo's evaluation reads: whole-database counts and the links between cases.

Only the synthetic demo scores itself against its ground truth; nothing here is scoped because the
demo's database holds nothing but synthetic people.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from epitrace.domain.statuses import TaskStatus
from epitrace.storage.models import Case, Contact, Task, TransmissionLink, VenueScreening


def case_persons(session: Session) -> dict[int, int]:
    """Case id -> person id, for every case."""
    return dict(session.execute(select(Case.id, Case.person_id).order_by(Case.id)).tuples().all())


def links(session: Session) -> list[tuple[int, int, str, str]]:
    """Every link as (infector case, infectee case, certainty, source)."""
    return list(session.execute(select(TransmissionLink.infector_case_id, TransmissionLink.infectee_case_id,
                                       TransmissionLink.certainty, TransmissionLink.source)
                                .order_by(TransmissionLink.id)).tuples())


def days_result_to_interview(session: Session) -> list[int]:
    """For every interviewed case, days from the result to the interview."""
    return [(interviewed - reported).days for reported, interviewed in
            session.execute(select(Case.reported_on, Case.interviewed_on).where(Case.interviewed_on.is_not(None))
                            .order_by(Case.id))]


def counts(session: Session, *, today: date) -> dict[str, int]:
    """Cases, contacts, tasks (due today, overdue, done), cases that were contacts, venue screenings."""
    def count(query) -> int:  # type: ignore[no-untyped-def]
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    open_tasks = select(Task.id).where(Task.status == TaskStatus.OPEN.value)
    return {
        "cases": count(select(Case.id)),
        "contacts": count(select(Contact.id)),
        "tasks_due_today": count(open_tasks.where(Task.due_on == today)),
        "tasks_overdue": count(open_tasks.where(Task.due_on < today)),
        "tasks_done": count(select(Task.id).where(Task.status == TaskStatus.DONE.value)),
        "cases_already_contacts": count(select(TransmissionLink.infectee_case_id).distinct()),
        "venue_screenings": count(select(VenueScreening.id)),
        "venue_contacts": count(select(Contact.id).where(Contact.screening_id.is_not(None))),
    }

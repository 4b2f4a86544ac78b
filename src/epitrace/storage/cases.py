"""Cases: opening them from positive results, turning contacts into linked cases, updates."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.followup import PlannedTask, interview_task, link_is_plausible
from epitrace.domain.links import CLOSE_SETTINGS, link_certainty
from epitrace.domain.profiles import DiseaseProfile
from epitrace.domain.statuses import (
    CaseStatus,
    ContactStatus,
    LinkCertainty,
    TaskKind,
    TaskStatus,
    case_status_for_positive,
)
from epitrace.errors import NotFound
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.models import Case, Contact, DiseaseProfileRow, Task, TransmissionLink
from epitrace.storage.tasks import cancel_open_tasks, create_tasks

DEFAULT_PROFILE = "respiratory"


def load_profile(session: Session, name: str = DEFAULT_PROFILE) -> tuple[int, DiseaseProfile]:
    """The stored disease profile ``name`` as a domain object, with its row id."""
    row = session.scalar(select(DiseaseProfileRow).where(DiseaseProfileRow.name == name))
    if row is None:
        raise NotFound(f"no disease profile named {name!r}; run `epitrace init` to create the default profile")
    values = {f.name: getattr(row, f.name) for f in fields(DiseaseProfile)}
    return row.id, DiseaseProfile(**values)


def profile_of(session: Session, case: Case) -> DiseaseProfile:
    """The disease profile that governs ``case``."""
    row = session.get_one(DiseaseProfileRow, case.profile_id)
    return DiseaseProfile(**{f.name: getattr(row, f.name) for f in fields(DiseaseProfile)})


def open_case_of(session: Session, person_id: int) -> Case | None:
    """The person's open case: not discarded and not closed."""
    return session.scalar(
        select(Case)
        .where(
            Case.person_id == person_id,
            Case.status != CaseStatus.DISCARDED.value,
            Case.closed_on.is_(None),
        )
        .order_by(Case.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class PositiveOutcome:
    """What a positive result did."""

    case: Case
    created: bool
    links: int


def register_positive(
    session: Session,
    *,
    person_id: int,
    jurisdiction_id: int,
    specimen_on: date,
    result_on: date,
    test_type: str,
    evidence: str,
    actor: Actor,
) -> PositiveOutcome:
    """Open a case for a positive result, or join the person's open case.

    A new case gets an interview task in its jurisdiction's queue; if the person was someone's
    contact, the contact's follow-up closes and a transmission link to that source case is proposed.
    """
    limits.day("specimen date", specimen_on)
    limits.day("result date", result_on)
    status = case_status_for_positive(test_type)
    case = open_case_of(session, person_id)
    if case is not None:
        if case.specimen_date is None or specimen_on < case.specimen_date:
            case.specimen_date = specimen_on
        if status is CaseStatus.CONFIRMED and case.status != CaseStatus.CONFIRMED.value:
            case.status = CaseStatus.CONFIRMED.value
        audit.record(session, actor, action="update", record_type="case", record_id=case.id, person_id=person_id)
        return PositiveOutcome(case, created=False, links=0)
    profile_id, profile = load_profile(session)
    case = Case(
        person_id=person_id,
        jurisdiction_id=jurisdiction_id,
        profile_id=profile_id,
        status=status.value,
        specimen_date=specimen_on,
        reported_on=result_on,
    )
    session.add(case)
    session.flush()
    audit.record(session, actor, action="create", record_type="case", record_id=case.id, person_id=person_id)
    create_tasks(
        session,
        [interview_task(profile, result_on=result_on, evidence=evidence)],
        person_id=person_id,
        jurisdiction_id=jurisdiction_id,
        created_on=result_on,
        case_id=case.id,
    )
    links = _convert_contacts(session, case, profile, specimen_on=specimen_on, result_on=result_on, evidence=evidence)
    return PositiveOutcome(case, created=True, links=links)


def _convert_contacts(
    session: Session, case: Case, profile: DiseaseProfile, *, specimen_on: date, result_on: date, evidence: str
) -> int:
    contacts = session.scalars(
        select(Contact).where(
            Contact.person_id == case.person_id,
            Contact.status == ContactStatus.ACTIVE.value,
            Contact.case_id != case.id,
        ).order_by(Contact.id)
    ).all()
    for contact in contacts:
        contact.status = ContactStatus.BECAME_CASE.value
        test_task = session.scalar(
            select(Task).where(
                Task.contact_id == contact.id,
                Task.kind == TaskKind.TEST.value,
                Task.status == TaskStatus.OPEN.value,
            ).order_by(Task.id).limit(1)
        )
        if test_task is not None:
            test_task.status, test_task.result, test_task.completed_on = TaskStatus.DONE.value, f"positive: {evidence}", result_on
        cancel_open_tasks(session, contact_id=contact.id, why=f"contact became case {case.id}", on=result_on)
    propose_links(session, infectee=case, profile=profile, contacts=list(contacts), specimen_on=specimen_on)
    return len(contacts)


def propose_links(
    session: Session, *, infectee: Case, profile: DiseaseProfile, contacts: list[Contact], specimen_on: date
) -> None:
    """Propose a link from each source case that named the infectee.

    Certainty follows ``domain.links.link_certainty``: ``probable`` only for a single named source
    in a close setting with a specimen inside the incubation bounds. Only a person confirms.
    """
    if not contacts:
        return
    single_source = len({c.case_id for c in contacts}) == 1
    for contact in contacts:
        plausible = link_is_plausible(profile, last_exposure=contact.last_exposure_on, specimen_on=specimen_on)
        certainty = link_certainty(setting=contact.setting, single_source=single_source, plausible_timing=plausible)
        days = (specimen_on - contact.last_exposure_on).days
        why = [f"named as {contact.setting} contact by case {contact.case_id}",
               f"last exposure {contact.last_exposure_on.isoformat()}",
               f"positive specimen {days} day(s) later"]
        if not single_source:
            why.append(f"{len(contacts)} cases named this person")
        if not plausible:
            why.append(f"outside the {profile.incubation_min_days}-{profile.incubation_max_days} day incubation range")
        if contact.setting.strip().lower() not in CLOSE_SETTINGS:
            why.append(f"{contact.setting} contacts often share another source")
        existing = session.scalar(
            select(TransmissionLink).where(
                TransmissionLink.infector_case_id == contact.case_id,
                TransmissionLink.infectee_case_id == infectee.id,
            )
        )
        if existing is None:
            session.add(TransmissionLink(
                infector_case_id=contact.case_id,
                infectee_case_id=infectee.id,
                certainty=certainty.value,
                evidence="; ".join(why),
            ))
    session.flush()


def _first_sign(case: Case) -> date:
    """The earliest date the case is known to have been ill or positive."""
    dates = [d for d in (case.onset_date, case.specimen_date) if d is not None]
    return min(dates) if dates else case.reported_on


def propose_link_between_cases(
    session: Session, *, named_by: Case, named: Case, contact: Contact, profile: DiseaseProfile
) -> TransmissionLink | None:
    """A case named someone who is already a case: link them, earlier case to later, as ``possible``.

    Which one infected the other is not known from the naming alone, so the link points from the
    case who showed signs first; none is proposed when both did so on the same day.
    """
    first_a, first_b = _first_sign(named_by), _first_sign(named)
    if first_a == first_b:
        return None
    infector, infectee = (named_by, named) if first_a < first_b else (named, named_by)
    exists = session.scalar(
        select(TransmissionLink).where(
            TransmissionLink.infector_case_id.in_([named_by.id, named.id]),
            TransmissionLink.infectee_case_id.in_([named_by.id, named.id]),
        )
    )
    if exists is not None:
        return None
    gap = abs((first_b - first_a).days)
    link = TransmissionLink(
        infector_case_id=infector.id,
        infectee_case_id=infectee.id,
        certainty=LinkCertainty.POSSIBLE.value,
        evidence=(
            f"named as {contact.setting} contact by case {named_by.id} while already case {named.id}; "
            f"case {infector.id} showed signs {gap} day(s) before case {infectee.id} (first onset or "
            f"specimen), so the link points that way; direction unconfirmed"
        ),
    )
    session.add(link)
    session.flush()
    return link


def review_links_after_interview(session: Session, case: Case) -> int:
    """Downgrade probable links into ``case`` that its onset contradicts; returns how many.

    An infectee whose symptoms began before the source's first sign, or on the day of the last
    exposure or earlier, was probably infected elsewhere.
    """
    if case.onset_date is None:
        return 0
    changed = 0
    links = session.scalars(
        select(TransmissionLink).where(
            TransmissionLink.infectee_case_id == case.id,
            TransmissionLink.certainty == LinkCertainty.PROBABLE.value,
        ).order_by(TransmissionLink.id)
    ).all()
    for link in links:
        source = session.get_one(Case, link.infector_case_id)
        contact = session.scalar(
            select(Contact).where(Contact.case_id == source.id, Contact.person_id == case.person_id)
        )
        reasons = []
        if case.onset_date <= _first_sign(source):
            reasons.append(f"onset {case.onset_date.isoformat()} is not after case {source.id}'s first sign")
        if contact is not None and case.onset_date <= contact.last_exposure_on:
            reasons.append(f"onset {case.onset_date.isoformat()} is not after the last exposure")
        if reasons:
            link.certainty = LinkCertainty.POSSIBLE.value
            link.evidence += "; downgraded after interview: " + " and ".join(reasons)
            changed += 1
    return changed


def record_test_outcome(
    session: Session, *, person_id: int, collected_on: date, result_on: date, result: str, evidence: str, profile: DiseaseProfile
) -> int:
    """Close open test tasks of the person's contacts with a negative or inconclusive result.

    An inconclusive result closes the task and asks for a new test. Returns the tasks closed.
    """
    tasks = session.scalars(
        select(Task).where(
            Task.person_id == person_id,
            Task.kind == TaskKind.TEST.value,
            Task.status == TaskStatus.OPEN.value,
            Task.created_on <= collected_on,
        ).order_by(Task.id)
    ).all()
    for task in tasks:
        task.status, task.result, task.completed_on = TaskStatus.DONE.value, f"{result}: {evidence}", result_on
        if result == "inconclusive":
            due = result_on + timedelta(days=profile.test_within_days)
            create_tasks(
                session,
                [PlannedTask(TaskKind.TEST, due, f"Test again by {due.isoformat()}: the last result "
                             f"was inconclusive ({evidence})")],
                person_id=person_id,
                jurisdiction_id=task.jurisdiction_id,
                created_on=result_on,
                contact_id=task.contact_id,
                setting=task.setting,
            )
    return len(tasks)


def get_case(session: Session, case_id: int, *, actor: Actor) -> Case:
    """Read one case (audited)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}; list cases with `epitrace cases list`")
    audit.record(session, actor, action="read", record_type="case", record_id=case_id, person_id=case.person_id)
    return case

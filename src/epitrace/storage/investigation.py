"""Investigation: a case's itinerary (visits), the exposure windows it implies, named contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from epitrace import settings
from epitrace.domain import limits, plausibility
from epitrace.domain.followup import contact_tasks
from epitrace.domain.identity import Identity
from epitrace.domain.periods import clip_to_period, infectious_period
from epitrace.domain.statuses import (
    RESIDENTIAL_KINDS,
    CaseStatus,
    ContactStatus,
    PlaceKind,
    TaskKind,
    TaskStatus,
    VisitSource,
)
from epitrace.errors import InputError
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.cases import (
    get_case,
    open_case_of,
    profile_of,
    propose_link_between_cases,
    review_links_after_interview,
)
from epitrace.storage.models import Case, Contact, ExposureWindow, Person, Place, Task, Visit
from epitrace.storage.persons import resolve_person
from epitrace.storage.tasks import schedule_follow_up


@dataclass(frozen=True)
class PlaceSpec:
    """A place as a tracer names it; ``external_ref`` identifies it in another system."""

    name: str
    kind: str = PlaceKind.VENUE.value
    lat: float | None = None
    lon: float | None = None
    external_ref: str | None = None


def get_or_create_place(session: Session, spec: PlaceSpec) -> Place:
    """The stored place matching ``spec`` (by external reference, else name, kind and point)."""
    limits.text("place name", spec.name, limits.NAME)
    if spec.kind not in {k.value for k in PlaceKind}:
        raise InputError(f"place kind {spec.kind!r} is not valid: expected one of {', '.join(k.value for k in PlaceKind)}")
    if spec.lat is not None and not -90 <= spec.lat <= 90:
        raise InputError(f"latitude {spec.lat} is out of range: expected -90 to 90 degrees")
    if spec.lon is not None and not -180 <= spec.lon <= 180:
        raise InputError(f"longitude {spec.lon} is out of range: expected -180 to 180 degrees")
    query = select(Place)
    if spec.external_ref:
        query = query.where(Place.external_ref == spec.external_ref)
    else:
        query = query.where(Place.name == spec.name, Place.kind == spec.kind, Place.lat == spec.lat, Place.lon == spec.lon)
    place = session.scalar(query.order_by(Place.id).limit(1))
    if place is None:
        place = Place(
            kind=spec.kind,
            name=spec.name,
            lat=spec.lat,
            lon=spec.lon,
            is_residential=spec.kind in RESIDENTIAL_KINDS,
            external_ref=spec.external_ref,
        )
        session.add(place)
        session.flush()
    return place


def _aware(moment: datetime) -> datetime:
    """Stored times are naive UTC; a naive time given here is taken as UTC too."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class VisitSpec:
    """One itinerary visit: where, and the half-open time ``[start, end)``."""

    place: PlaceSpec
    start: datetime
    end: datetime
    source: str = VisitSource.INTERVIEW.value


def add_visits(session: Session, case_id: int, visits: list[VisitSpec], *, actor: Actor,
               now: datetime | None = None, confirmed: bool = False) -> list[Visit]:
    """Record itinerary visits; the case's exposure windows follow from its infectious period.

    Each visit is checked by ``domain.plausibility.visit_times`` (not in the future; longer than a
    day only when ``confirmed``) before anything is written.
    """
    moment = now or settings.now()
    for spec in visits:
        plausibility.visit_times(_aware(spec.start), _aware(spec.end), now=moment, confirmed=confirmed)
        if spec.source not in {s.value for s in VisitSource}:
            raise InputError(
                f"visit source {spec.source!r} is not valid: expected one of {', '.join(s.value for s in VisitSource)}"
            )
    case = get_case(session, case_id, actor=actor)
    stored = []
    for spec in visits:
        place = get_or_create_place(session, spec.place)
        stored.append(Visit(case_id=case.id, place_id=place.id, start_at=_naive_utc(spec.start),
                            end_at=_naive_utc(spec.end), source=spec.source))
    session.add_all(stored)
    session.flush()
    audit.record(session, actor, action="create", record_type="visits", record_id=case.id, person_id=case.person_id)
    derive_windows(session, case)
    return stored


def add_visit(
    session: Session,
    case_id: int,
    place: PlaceSpec,
    *,
    start: datetime,
    end: datetime,
    source: str = VisitSource.INTERVIEW.value,
    actor: Actor,
    confirmed: bool = False,
) -> Visit:
    """Record one itinerary visit (see ``add_visits``)."""
    return add_visits(session, case_id, [VisitSpec(place, start, end, source)], actor=actor, confirmed=confirmed)[0]


def update_case(
    session: Session,
    case_id: int,
    *,
    actor: Actor,
    onset: date | None = None,
    isolation: date | None = None,
    status: str | None = None,
    interviewed_on: date | None = None,
    symptoms: str | None = None,
    today: date | None = None,
) -> Case:
    """Record interview facts; the exposure windows are derived again from the new dates.

    Dates are checked by ``domain.plausibility`` before anything is written or audited.
    """
    limits.text("symptoms", symptoms, limits.SYMPTOMS, multiline=True)
    case = get_case(session, case_id, actor=actor)
    born = session.scalar(select(Person.date_of_birth).where(Person.id == case.person_id))
    plausibility.case_dates(onset=onset, isolation=isolation, interviewed_on=interviewed_on, specimen=case.specimen_date,
                            born=born, today=today or settings.today())
    if status is not None:
        allowed = {s.value for s in CaseStatus}
        if status not in allowed:
            raise InputError(f"case status {status!r} is not valid: expected one of {', '.join(sorted(allowed))}")
        case.status = status
    if onset is not None:
        case.onset_date = onset
    if isolation is not None:
        case.isolation_date = isolation
    if symptoms is not None:
        case.symptoms = symptoms.strip() or None
    if interviewed_on is not None:
        case.interviewed_on = interviewed_on
        for task in session.scalars(
            select(Task).where(Task.case_id == case.id, Task.kind == TaskKind.INTERVIEW.value, Task.status == TaskStatus.OPEN.value)
        ):
            task.status, task.result, task.completed_on = TaskStatus.DONE.value, "interviewed", interviewed_on
    audit.record(session, actor, action="update", record_type="case", record_id=case.id, person_id=case.person_id)
    derive_windows(session, case)
    review_links_after_interview(session, case)
    return case


def window_of_visit(session: Session, visit_id: int) -> ExposureWindow | None:
    """The exposure window a visit made, or None when it lies outside the infectious period."""
    return session.scalar(select(ExposureWindow).where(ExposureWindow.visit_id == visit_id))


def derive_windows(session: Session, case: Case) -> list[ExposureWindow]:
    """(Re)compute the case's exposure windows: each visit clipped to the infectious period."""
    if case.onset_date is None and case.specimen_date is None:
        return []
    period = infectious_period(
        profile_of(session, case), onset=case.onset_date, specimen=case.specimen_date, isolation=case.isolation_date
    )
    existing = {w.visit_id: w for w in session.scalars(select(ExposureWindow).where(ExposureWindow.case_id == case.id))}
    windows = []
    for visit in session.scalars(select(Visit).where(Visit.case_id == case.id, Visit.confirmed.is_(True))
                               .order_by(Visit.start_at, Visit.id)):
        clipped = clip_to_period(
            visit.start_at.replace(tzinfo=timezone.utc), visit.end_at.replace(tzinfo=timezone.utc), period
        )
        window = existing.pop(visit.id, None)
        if clipped is None:
            if window is not None:
                session.delete(window)
            continue
        start, end = (_naive_utc(t) for t in clipped)
        if window is None:
            window = ExposureWindow(case_id=case.id, visit_id=visit.id, place_id=visit.place_id, start_at=start, end_at=end, basis=period.basis)
            session.add(window)
        else:
            window.start_at, window.end_at, window.basis = start, end, period.basis
        windows.append(window)
    if existing:
        session.execute(delete(ExposureWindow).where(ExposureWindow.id.in_([w.id for w in existing.values()])))
    session.flush()
    return windows


@dataclass(frozen=True)
class ContactOutcome:
    """What naming a contact did."""

    contact: Contact
    created: bool
    tasks: int


def add_contact(
    session: Session,
    case_id: int,
    identity: Identity,
    *,
    setting: str,
    last_exposure: date,
    identified_on: date,
    actor: Actor,
    relationship: str | None = None,
    window_id: int | None = None,
    jurisdiction_id: int | None = None,
    screening_id: int | None = None,
    detail: str | None = None,
    confirmed: bool = False,
) -> ContactOutcome:
    """Record a contact named by a case and plan their follow-up tasks with reasons.

    A contact who is already a case gets no follow-up; a transmission link is proposed instead.
    Naming the same person again for the same case keeps one contact with the later exposure; a
    person already followed up for another case keeps one schedule, extended to the latest
    exposure, whose reasons name every case. ``detail`` (where and when, in words) is added to the
    reason every task carries. The dates are checked by ``domain.plausibility`` first; a last
    exposure outside the case's infectious period needs ``confirmed``.
    """
    case = get_case(session, case_id, actor=actor)
    if not setting.strip():
        raise InputError("a contact needs a setting, e.g. household, work, school or venue")
    limits.text("setting", setting, limits.SETTING)
    limits.text("relationship", relationship, limits.RELATIONSHIP)
    limits.day("identified on", identified_on)
    plausibility.birth_date(identity.date_of_birth, today=identified_on)
    profile = profile_of(session, case)
    period = None
    if case.onset_date is not None or case.specimen_date is not None:
        period = infectious_period(profile, onset=case.onset_date, specimen=case.specimen_date,
                                   isolation=case.isolation_date)
    plausibility.last_exposure(last_exposure, identified_on=identified_on, period=period, confirmed=confirmed)
    resolution = resolve_person(
        session, identity, sex=None, address=None, jurisdiction_id=jurisdiction_id or case.jurisdiction_id, actor=actor
    )
    person = resolution.person
    if person.id == case.person_id:
        raise InputError(f"case {case_id} cannot be its own contact: the contact resolved to the case's own person {person.id}")
    existing = session.scalar(select(Contact).where(Contact.case_id == case.id, Contact.person_id == person.id))
    if existing is not None:
        if last_exposure > existing.last_exposure_on:
            existing.last_exposure_on = last_exposure
        return ContactOutcome(existing, created=False, tasks=0)
    contact = Contact(
        person_id=person.id,
        case_id=case.id,
        window_id=window_id,
        screening_id=screening_id,
        setting=setting.strip(),
        relationship_=relationship,
        last_exposure_on=last_exposure,
        identified_on=identified_on,
        status=ContactStatus.ACTIVE.value,
    )
    session.add(contact)
    session.flush()
    audit.record(session, actor, action="create", record_type="contact", record_id=contact.id, person_id=person.id)
    own_case = open_case_of(session, person.id)
    if own_case is not None:
        contact.status = ContactStatus.BECAME_CASE.value
        propose_link_between_cases(session, named_by=case, named=own_case, contact=contact, profile=profile)
        return ContactOutcome(contact, created=True, tasks=0)
    exposure = f"{setting.strip()} contact of case {case.id}, last exposed {last_exposure.isoformat()}"
    if detail:
        exposure += f" ({detail})"
    plan = contact_tasks(profile, identified_on=identified_on, last_exposure=last_exposure, exposure=exposure)
    created = schedule_follow_up(
        session,
        plan,
        person_id=person.id,
        jurisdiction_id=person.jurisdiction_id or case.jurisdiction_id,
        created_on=identified_on,
        contact_id=contact.id,
        setting=contact.setting,
        exposure=exposure,
    )
    return ContactOutcome(contact, created=True, tasks=created)

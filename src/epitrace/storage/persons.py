"""Persons: resolution of incoming identities, duplicate candidates, and merges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.identity import Identity, duplicate_evidence, is_same_person, name_key, normalise_name
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.models import (
    Case,
    Contact,
    LabResult,
    MergeCandidate,
    Person,
    Task,
)


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one identity."""

    person: Person
    created: bool
    new_candidates: int


def _identity(person: Person) -> Identity:
    return Identity(
        person.given_name, person.family_name, person.date_of_birth, person.phone, person.national_id
    )


def _follow_merges(session: Session, person: Person) -> Person:
    while person.merged_into_id is not None:
        person = session.get_one(Person, person.merged_into_id)
    return person


def resolve_person(
    session: Session,
    identity: Identity,
    *,
    sex: str | None,
    address: str | None,
    jurisdiction_id: int | None,
    actor: Actor,
) -> Resolution:
    """Find the person ``identity`` names, or create them (rules in ``domain.identity``).

    A new person is compared with everyone born the same day; near-duplicates become merge
    candidates with their evidence, for a person to decide. Over-long values are refused first.
    """
    for label, value, limit in (("given name", identity.given_name, limits.NAME),
                                ("family name", identity.family_name, limits.NAME),
                                ("phone", identity.phone, limits.PHONE),
                                ("national id", identity.national_id, limits.NATIONAL_ID)):
        limits.text(label, value, limit)
    limits.text("address", address, limits.ADDRESS, multiline=True)
    limits.day("date of birth", identity.date_of_birth)
    # Under the writers' lock from the lookup to the end of the transaction: a concurrent import or
    # contact of the same identity waits, then finds the person this one creates (issue 11).
    audit.writers_lock(session)
    match = _find_same(session, identity)
    if match is not None:
        _fill_gaps(match, identity, sex=sex, address=address)
        return Resolution(match, created=False, new_candidates=0)
    person = Person(
        given_name=identity.given_name.strip(),
        family_name=identity.family_name.strip(),
        name_key=name_key(identity.given_name, identity.family_name),
        family_key=normalise_name(identity.family_name),
        date_of_birth=identity.date_of_birth,
        sex=sex,
        phone=identity.phone,
        national_id=identity.national_id,
        address=address,
        jurisdiction_id=jurisdiction_id,
    )
    if not _inserted(session, person):
        # Only a writer that skipped the lock can have taken the national id meanwhile: the person it
        # stored is the one meant, or a clear conflict, never the driver's UniqueViolation.
        match = _find_same(session, identity)
        if match is None:
            raise Conflict("another person with this national id was stored at the same time under a different "
                           "name or birth date; import the row again to see the stored person")
        _fill_gaps(match, identity, sex=sex, address=address)
        return Resolution(match, created=False, new_candidates=0)
    audit.record(session, actor, action="create", record_type="person", record_id=person.id, person_id=person.id)
    return Resolution(person, created=True, new_candidates=_record_candidates(session, person))


def _inserted(session: Session, person: Person) -> bool:
    """Insert ``person``; False (nothing inserted) when their national id is already stored. Only a
    person with a national id can collide (the only unique column), so only they cost a savepoint."""
    if not person.national_id:
        session.add(person)
        session.flush()
        return True
    try:
        with session.begin_nested():
            session.add(person)
            session.flush()
    except IntegrityError:
        return False
    return True


def _find_same(session: Session, identity: Identity) -> Person | None:
    if identity.national_id:
        by_id = session.scalar(select(Person).where(Person.national_id == identity.national_id))
        if by_id is not None:
            return _follow_merges(session, by_id)
    conditions = [
        Person.name_key == name_key(identity.given_name, identity.family_name),
        Person.merged_into_id.is_(None),
    ]
    if identity.date_of_birth is not None:
        # Also people recorded without a birth date: the same name and phone can match them.
        conditions.append(or_(Person.date_of_birth == identity.date_of_birth, Person.date_of_birth.is_(None)))
    same_name = session.scalars(select(Person).where(*conditions).order_by(Person.id))
    return next((p for p in same_name if is_same_person(_identity(p), identity)), None)


def _fill_gaps(person: Person, identity: Identity, *, sex: str | None, address: str | None) -> None:
    """Complete what was missing; never overwrite what a person record already says."""
    person.phone = person.phone or identity.phone
    person.national_id = person.national_id or identity.national_id
    person.sex = person.sex or sex
    person.address = person.address or address


def _record_candidates(session: Session, person: Person) -> int:
    if person.date_of_birth is None:
        return 0
    born_same_day = session.scalars(
        select(Person).where(
            Person.date_of_birth == person.date_of_birth,
            Person.id != person.id,
            Person.merged_into_id.is_(None),
        ).order_by(Person.id)
    )
    created = 0
    for other in born_same_day:
        evidence = duplicate_evidence(_identity(other), _identity(person))
        if evidence is not None:
            session.add(MergeCandidate(person_a_id=other.id, person_b_id=person.id, evidence=evidence))
            created += 1
    return created


def get_person(session: Session, person_id: int, *, actor: Actor) -> Person:
    """Read one person (recorded in the audit log)."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}; find ids with `epitrace persons duplicates` or `epitrace cases list`")
    audit.record(session, actor, action="read", record_type="person", record_id=person_id, person_id=person_id)
    return person


def list_duplicate_candidates(session: Session, *, actor: Actor) -> list[tuple[MergeCandidate, Person, Person]]:
    """Open merge candidates with both persons (each read recorded)."""
    rows = session.scalars(
        select(MergeCandidate).where(MergeCandidate.status == "open").order_by(MergeCandidate.id)
    ).all()
    out = []
    for candidate in rows:
        a = get_person(session, candidate.person_a_id, actor=actor)
        b = get_person(session, candidate.person_b_id, actor=actor)
        out.append((candidate, a, b))
    return out


def merge_persons(session: Session, keep_id: int, other_id: int, *, actor: Actor) -> Person:
    """Merge ``other`` into ``keep``: every record of ``other`` now belongs to ``keep``.

    Nothing is deleted: the merged person row stays, pointing at the one kept, and lab results
    keep the identity exactly as reported.
    """
    if keep_id == other_id:
        raise InputError(f"cannot merge person {keep_id} with itself; give two different person ids")
    keep = get_person(session, keep_id, actor=actor)
    other = get_person(session, other_id, actor=actor)
    for person in (keep, other):
        if person.merged_into_id is not None:
            raise Conflict(
                f"person {person.id} was already merged into person {person.merged_into_id}; "
                f"merge into {person.merged_into_id} instead"
            )
    if keep.national_id and other.national_id and keep.national_id != other.national_id:
        raise Conflict(
            f"persons {keep_id} and {other_id} have different national ids "
            f"({keep.national_id!r} vs {other.national_id!r}); the same national id is the same "
            "person, so different ones are different people: correct the id first if one is wrong"
        )
    if not keep.national_id and other.national_id:
        # The id is unique: free it on OTHER (flushed) before KEEP takes it.
        national_id, other.national_id = other.national_id, None
        session.flush()
        keep.national_id = national_id
        session.flush()
    keep.phone = keep.phone or other.phone
    keep.address = keep.address or other.address
    keep.sex = keep.sex or other.sex
    _move_contacts(session, keep_id, other_id)
    for model in (LabResult, Case, Task):
        session.execute(update(model).where(model.person_id == other_id).values(person_id=keep_id))
    other.merged_into_id = keep_id
    session.execute(
        update(MergeCandidate)
        .where(
            or_(MergeCandidate.person_a_id == other_id, MergeCandidate.person_b_id == other_id),
            MergeCandidate.status == "open",
        )
        .values(status="merged")
    )
    session.flush()
    audit.record(session, actor, action="merge", record_type="person", record_id=f"{other_id}->{keep_id}", person_id=keep_id)
    return keep


def _move_contacts(session: Session, keep_id: int, other_id: int) -> None:
    """Move contacts to the kept person; where both were named by the same case, the kept
    contact stays and the other's open tasks are cancelled as duplicates (both records stay)."""
    kept_cases = {
        case_id: contact_id
        for contact_id, case_id in session.execute(
            select(Contact.id, Contact.case_id).where(Contact.person_id == keep_id)
        )
    }
    for contact in session.scalars(select(Contact).where(Contact.person_id == other_id)).all():
        if contact.case_id in kept_cases:
            contact.status = "completed"
            session.execute(
                update(Task)
                .where(Task.contact_id == contact.id, Task.status == "open")
                .values(status="cancelled", result=f"duplicate of contact {kept_cases[contact.case_id]} after merge")
            )
        else:
            contact.person_id = keep_id
    session.flush()

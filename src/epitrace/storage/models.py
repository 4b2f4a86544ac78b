"""Tables of epitrace (SQLAlchemy 2.0 declarative). Portable SQL only: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from epitrace.domain.identity import normalise_phone

# Stable constraint names so migrations behave the same on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (stored naive-UTC on every backend)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """A record two people may edit at once: its version goes up by one with every change of the row,
    and the last writer is named (storage/versions.py keeps both, whatever the write; issue 11, point 3)."""

    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class Jurisdiction(Base):
    __tablename__ = "jurisdiction"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"))

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id])


class DiseaseProfileRow(Base):
    __tablename__ = "disease_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    infectious_days_before: Mapped[int] = mapped_column(Integer)
    infectious_days_after: Mapped[int] = mapped_column(Integer)
    interview_within_days: Mapped[int] = mapped_column(Integer)
    notify_within_days: Mapped[int] = mapped_column(Integer)
    test_within_days: Mapped[int] = mapped_column(Integer)
    symptom_check_days: Mapped[int] = mapped_column(Integer)
    incubation_min_days: Mapped[int] = mapped_column(Integer)
    incubation_max_days: Mapped[int] = mapped_column(Integer)


class Person(Base):
    __tablename__ = "person"
    # ix_person_search: person search (issue 9) counts family-name matches, with their scope and merge
    # state, from this index alone; its first page walks it in name order, or sorts it by birth date.
    __table_args__ = (Index("ix_person_dob_name", "date_of_birth", "name_key"), Index("ix_person_name_key", "name_key"),
                      Index("ix_person_search", "family_key", "name_key", "jurisdiction_id", "merged_into_id",
                            "date_of_birth"))

    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    # The search keys compare byte by byte on every backend (issue 11): workbench's prefix ranges
    # (>= 'jans' AND < 'jant') and their indexes assume it, and a PostgreSQL database created with an
    # ICU or libc language collation would otherwise order 'jan{' before 'janz'. SQLite's default is binary.
    name_key: Mapped[str] = mapped_column(String(402).with_variant(String(402, collation="C"), "postgresql"))
    family_key: Mapped[str | None] = mapped_column(String(200).with_variant(String(200, collation="C"), "postgresql"),
                                                   index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(64), index=True)
    # The phone as identity resolution compares it (domain.identity.normalise_phone), kept in step with
    # ``phone`` by the validator below, so search finds "+31 6 1234 5678" by "+31612345678" (issue 9).
    phone_key: Mapped[str | None] = mapped_column(String(64), index=True)
    national_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @validates("phone")
    def _keep_phone_key(self, _key: str, phone: str | None) -> str | None:
        self.phone_key = normalise_phone(phone)
        return phone


class MergeCandidate(Base):
    __tablename__ = "merge_candidate"
    __table_args__ = (UniqueConstraint("person_a_id", "person_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_a_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person_b_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LabResult(Base):
    __tablename__ = "lab_result"
    __table_args__ = (UniqueConstraint("lab_id", "specimen_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[str] = mapped_column(String(64))
    specimen_id: Mapped[str] = mapped_column(String(128))
    collected_on: Mapped[date] = mapped_column(Date)
    resulted_on: Mapped[date] = mapped_column(Date, index=True)
    result: Mapped[str] = mapped_column(String(16))
    test_type: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    # The identity exactly as the laboratory reported it, so a re-import can be compared and a
    # merge never loses what was said.
    reported_identity: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Case(Versioned, Base):
    __tablename__ = "case_record"
    # The scope test "does this person have a case here?" (person search for one district). The case
    # list walks one district's, one status's or the whole city's cases by result date (issue 9).
    __table_args__ = (
        Index("ix_case_person_jurisdiction", "person_id", "jurisdiction_id"),
        Index("ix_case_jurisdiction_reported", "jurisdiction_id", "reported_on"),
        Index("ix_case_jurisdiction_status_reported", "jurisdiction_id", "status", "reported_on"),
        Index("ix_case_status_reported", "status", "reported_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("disease_profile.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    onset_date: Mapped[date | None] = mapped_column(Date)
    specimen_date: Mapped[date | None] = mapped_column(Date)
    isolation_date: Mapped[date | None] = mapped_column(Date)
    symptoms: Mapped[str | None] = mapped_column(Text)
    reported_on: Mapped[date] = mapped_column(Date, index=True)
    interviewed_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Place(Base):
    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float, default=50.0)
    is_residential: Mapped[bool] = mapped_column(Boolean, default=False)
    external_ref: Mapped[str | None] = mapped_column(String(128), unique=True)


class Visit(Base):
    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16))
    # Visits a case shared from their own trail or check-ins wait for a tracer's confirmation;
    # only confirmed visits make exposure windows.
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ExposureWindow(Base):
    __tablename__ = "exposure_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), unique=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    basis: Mapped[str] = mapped_column(Text)


class Contact(Versioned, Base):
    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("case_id", "person_id"), Index("ix_contact_person_status", "person_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("exposure_window.id", ondelete="SET NULL"))
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("venue_screening.id"))
    setting: Mapped[str] = mapped_column(String(32))
    relationship_: Mapped[str | None] = mapped_column("relationship", String(64))
    last_exposure_on: Mapped[date] = mapped_column(Date)
    identified_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Task(Versioned, Base):
    __tablename__ = "task"
    # person+kind+status first: without it SQLite's planner scans every open task per person lookup.
    # Queues filter by status (+ kind) within jurisdictions and sort by due date: these indexes answer
    # their counts from the index alone (measured by benchmarks/api.py at 1.5 M tasks).
    __table_args__ = (
        Index("ix_task_status_due", "status", "due_on"),
        Index("ix_task_person_kind_status", "person_id", "kind", "status"),
        Index("ix_task_status_jurisdiction_due", "status", "jurisdiction_id", "due_on"),
        Index("ix_task_status_kind_jurisdiction_due", "status", "kind", "jurisdiction_id", "due_on"),
        Index("ix_task_person_jurisdiction", "person_id", "jurisdiction_id"),
        # The board's done list, as the due ones above: most recently completed first, of one kind or all,
        # for a district or the whole city (issue 9).
        Index("ix_task_status_jurisdiction_completed", "status", "jurisdiction_id", "completed_on"),
        Index("ix_task_status_kind_jurisdiction_completed", "status", "kind", "jurisdiction_id", "completed_on"),
        Index("ix_task_status_completed", "status", "completed_on"),
        # The board's filter by exposure setting ("household symptom checks due this week") counts from
        # this index alone; through a join to contact it read every open task's contact (issue 9).
        Index("ix_task_status_kind_setting_jurisdiction_due", "status", "kind", "setting", "jurisdiction_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    # The setting of the contact that made the task, copied when the task is made (a contact's setting
    # never changes); None for a case's own tasks.
    setting: Mapped[str | None] = mapped_column(String(32))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    team: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_on: Mapped[date] = mapped_column(Date)


class TransmissionLink(Base):
    __tablename__ = "transmission_link"
    __table_args__ = (UniqueConstraint("infector_case_id", "infectee_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    infector_case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    infectee_case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    certainty: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32), default="contact tracing", server_default="contact tracing")
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Cluster(Base):
    """Cases who were at one place at overlapping times: proposed until a tracer confirms it."""

    __tablename__ = "cluster"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), unique=True)
    first_start: Mapped[datetime] = mapped_column(DateTime)
    last_end: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    evidence: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ClusterCase(Base):
    __tablename__ = "cluster_case"
    __table_args__ = (UniqueConstraint("cluster_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)


class VenueScreening(Base):
    """One venue's records screened against one exposure window, with the legal basis for it.

    The records themselves are not kept: only the matching visitors become contacts.
    """

    __tablename__ = "venue_screening"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("exposure_window.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows_screened: Mapped[int] = mapped_column(Integer)
    rows_matched: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained record of each read and write of personal data."""

    __tablename__ = "audit_event"
    # One successor per entry: two writers that read the same head cannot both append (a fork is
    # refused by the database, not only found by `audit verify`).
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_event_prev_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A staff account, scoped to one jurisdiction and everything below it."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # An account whose role holds rights its requester lacks waits for an approver who holds them
    # (storage.accounts.request_user); until then it cannot sign in and has no password.
    pending_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    requested_by: Mapped[str | None] = mapped_column(String(128))
    approved_by: Mapped[str | None] = mapped_column(String(128))


class UserSession(Base):
    """A browser session: only the token's hash is stored; the CSRF token rides with it."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A token for machines (``Authorization: Bearer ...``); only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class PasswordReset(Base):
    """A one-time link that sets an account's password: only the token's hash is stored."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class SignInCounter(Base):
    """Sign-in attempts per account, per address and per pair of them (storage.signin), shared by every worker."""

    __tablename__ = "sign_in_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)


class PublishedWindow(Base):
    """An exposure window on its way to the public feed: proposed, reviewed, then published."""

    __tablename__ = "published_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("exposure_window.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    label: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    expires_on: Mapped[date] = mapped_column(Date)
    changes: Mapped[str] = mapped_column(Text)
    warnings: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(128))
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    batch_version: Mapped[int | None] = mapped_column(Integer)


class FeedBatch(Base):
    """One signed batch of the public feed; never changed after it is written."""

    __tablename__ = "feed_batch"

    version: Mapped[int] = mapped_column(primary_key=True)
    previous: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ShareCode(Base):
    """A one-time code a tracer gives a case so they can share their own trail or check-ins."""

    __tablename__ = "share_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    issued_by: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Consent(Base):
    """What a person agreed to share, when, and what was actually kept."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    share_code_id: Mapped[int] = mapped_column(ForeignKey("share_code.id"))
    statement: Mapped[str] = mapped_column(Text)
    shared: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

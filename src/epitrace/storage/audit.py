"""The audit log: every read and write of personal data appends a hash-chained entry.

Entry hash = SHA-256 over the previous hash and the entry's fields, so editing or deleting any
entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import String, func, literal, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin

from epitrace.storage.models import AuditEvent, User, utcnow

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
USER_ACTOR_PREFIX = "user:"
"""An account acts in the log as ``user:<username>`` (``accounts.actor_name``)."""
DENIED = "denied"
"""The action of an entry for a refused out-of-scope access (issue 10, point 1)."""
DENIALS_KEY = "epitrace.audit_denials"
MAX_DENIALS_PER_TRANSACTION = 20
"""Refusals noted one entry each per transaction; more are summed up in one further entry, so a
request that probes thousands of records cannot write thousands of entries."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, and for what purpose (recorded with every access)."""

    name: str = SYSTEM_ACTOR
    purpose: str = "outbreak investigation"


HEAD_KEY = "epitrace.audit_head"
ACTOR_KEY = "epitrace.audit_actor"
"""The actor the log last recorded in this transaction: the writer ``storage.versions`` stamps on rows."""
AUDIT_LOCK_KEY = 0x45505452  # "EPTR": the advisory lock of the audit chain on PostgreSQL


def _chain_head(session: Session) -> str:
    """Hash of the newest entry, read inside the writer's transaction.

    Writers hold the database's write lock (SQLite BEGIN IMMEDIATE; on PostgreSQL the chain's
    advisory lock, taken here), so nobody else appends meanwhile and the head can be kept in the session between appends. The kept head is dropped
    whenever a transaction or savepoint ends (see ``_forget_head``): a rolled-back savepoint takes
    its entries with it, and a head remembered from them would fork the chain.
    """
    head = session.info.get(HEAD_KEY)
    if head is None:
        with session.no_autoflush:
            writers_lock(session)
            head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    return head


def writers_lock(session: Session) -> None:
    """Hold the writers' lock to the end of the session's transaction (or of the savepoint that took it).

    PostgreSQL has no database-wide write lock: every appender to the chain takes this advisory lock, so
    no two read the same head (issue 11; the unique prev_hash makes a fork impossible even for a writer
    that skipped it), and so does person resolution before it looks for a match, so two writers cannot
    both miss a person and both create them (``storage.persons.resolve_person``). One lock for both, not
    one per identity: a writer that already appended (a read of the case is audited first) and then
    waited for an identity's lock held by one waiting for the chain would deadlock. On SQLite a writer's
    transaction already holds the database's write lock (``BEGIN IMMEDIATE``), so this does nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))


@sqlalchemy_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    # A flush runs in an internal subtransaction: its end changes nothing appended, so the head stays
    # (forgetting it there would cost a query per entry). A failed flush fails its whole transaction,
    # whose end forgets the head.
    if transaction.origin is not SessionTransactionOrigin.SUBTRANSACTION:
        session.info.pop(HEAD_KEY, None)
    if transaction.parent is None:
        session.info.pop(ACTOR_KEY, None)


def actor_of_transaction(session: Session) -> str:
    """Who acts in the session's transaction: the actor of its latest entry, or the system before any."""
    return session.info.get(ACTOR_KEY, SYSTEM_ACTOR)


def _entry_hash(prev_hash: str, event: AuditEvent) -> str:
    fields = [
        prev_hash,
        event.at.isoformat(),
        event.actor,
        event.action,
        event.record_type,
        event.record_id,
        "" if event.person_id is None else str(event.person_id),
        event.purpose,
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    record_type: str,
    record_id: object,
    person_id: int | None,
) -> None:
    """Append one entry to the chain (inside the caller's transaction)."""
    _check_record_id(record_id)
    prev = _chain_head(session)
    event = AuditEvent(
        at=utcnow(),
        actor=actor.name,
        action=action,
        record_type=record_type,
        record_id=str(record_id),
        person_id=person_id,
        purpose=actor.purpose,
        prev_hash=prev or GENESIS_HASH,
    )
    event.hash = _entry_hash(event.prev_hash, event)
    session.add(event)
    session.info[HEAD_KEY] = event.hash
    session.info[ACTOR_KEY] = actor.name


RECORD_ID_LENGTH = AuditEvent.__table__.c.record_id.type.length


def _check_record_id(record_id: object) -> None:
    # SQLite stores any length; PostgreSQL refuses the whole transaction. One rule for both (issue 11).
    if len(str(record_id)) > RECORD_ID_LENGTH:
        raise ValueError(f"audit record id {str(record_id)[:80]!r} is over {RECORD_ID_LENGTH} characters")


def verify(session: Session) -> int | None:
    """Id of the first entry whose chain is broken, or None when the whole log verifies."""
    prev = GENESIS_HASH
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(5000):
        if event.prev_hash != prev or event.hash != _entry_hash(prev, event):
            return event.id
        prev = event.hash
    return None


def entry_count(session: Session) -> int:
    """How many entries the log holds."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def record_many(
    session: Session,
    actor: Actor,
    *,
    action: str,
    record_type: str,
    records: list[tuple[object, int | None]],
) -> None:
    """Append one entry per ``(record_id, person_id)``, chained, in one bulk insert."""
    if not records:
        return
    prev = _chain_head(session)
    events = []
    for record_id, person_id in records:
        _check_record_id(record_id)  # before anything is added: a refusal leaves the chain as it was
        event = AuditEvent(
            at=utcnow(), actor=actor.name, action=action, record_type=record_type,
            record_id=str(record_id), person_id=person_id, purpose=actor.purpose, prev_hash=prev,
        )
        event.hash = prev = _entry_hash(prev, event)
        events.append(event)
    session.add_all(events)
    session.info[HEAD_KEY] = prev
    session.info[ACTOR_KEY] = actor.name


def deny(session: Session, actor: Actor, *, record_type: str, record_id: object, person_id: int | None) -> None:
    """Note a refused access to a record outside the caller's scope (once per record and transaction).

    The entry is written by ``storage.db.write_session`` when the transaction ends: in it when it
    commits, and in a transaction of its own after it is rolled back (a refused request fails, and
    its refusal must be kept all the same). A savepoint rolled back does not take it with it.
    """
    pending: dict[tuple[str, str], tuple[Actor, int | None]] = session.info.setdefault(DENIALS_KEY, {})
    key = (record_type, str(record_id))
    if key in pending:
        return
    if len(pending) >= MAX_DENIALS_PER_TRANSACTION:
        session.info[DENIALS_KEY + ".more"] = session.info.get(DENIALS_KEY + ".more", 0) + 1
        return
    pending[key] = (actor, person_id)


def has_denials(session: Session) -> bool:
    """Whether refusals are noted that are not written yet."""
    return bool(session.info.get(DENIALS_KEY))


def write_denials(session: Session) -> None:
    """Append the noted refusals to the chain (inside the caller's transaction) and forget them."""
    pending: dict[tuple[str, str], tuple[Actor, int | None]] = session.info.pop(DENIALS_KEY, None) or {}
    more = session.info.pop(DENIALS_KEY + ".more", 0)
    for (record_type, record_id), (actor, person_id) in pending.items():
        record(session, actor, action=DENIED, record_type=record_type, record_id=record_id, person_id=person_id)
    if more and pending:
        actor = next(iter(pending.values()))[0]
        record(session, actor, action=DENIED, record_type="more", record_id=f"{more} more refused", person_id=None)


def denial_window(days: int) -> tuple[date, date]:
    """The last ``days`` days, today (UTC, the audit log's clock) included."""
    until = utcnow().date()
    return until - timedelta(days=days - 1), until


def denial_counts(session: Session, jurisdiction_ids: frozenset[int] | None, *, since: date, until: date) -> list[dict]:
    """Refused out-of-scope accesses per account and day, ``since`` to ``until`` (inclusive), for accounts
    of ``jurisdiction_ids`` (None: every account, and also actors that are no account, like the system).

    Counts entries, not people: a privacy officer sees who probes, and how often (issue 10).
    """
    day = func.date(AuditEvent.at)
    start = datetime.combine(since, time.min)
    end = datetime.combine(until + timedelta(days=1), time.min)
    query = (select(AuditEvent.actor, day, func.count()).where(AuditEvent.action == DENIED, AuditEvent.at >= start,
                                                               AuditEvent.at < end)
             .group_by(AuditEvent.actor, day).order_by(day, AuditEvent.actor))
    if jurisdiction_ids is not None:
        accounts = select(literal(USER_ACTOR_PREFIX, String) + User.username).where(User.jurisdiction_id.in_(jurisdiction_ids))
        query = query.where(AuditEvent.actor.in_(accounts))
    return [{"account": actor, "day": value if isinstance(value, date) else date.fromisoformat(str(value)),
             "denials": count} for actor, value, count in session.execute(query)]

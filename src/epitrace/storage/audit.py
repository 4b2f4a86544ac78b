"""The audit log: every read and write of personal data appends a hash-chained entry.

Entry hash = SHA-256 over the previous hash and the entry's fields, so editing or deleting any
entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin

from epitrace.storage.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Actor:
    """Who is acting, and for what purpose (recorded with every access)."""

    name: str = SYSTEM_ACTOR
    purpose: str = "outbreak investigation"


HEAD_KEY = "epitrace.audit_head"


def _chain_head(session: Session) -> str:
    """Hash of the newest entry, read inside the writer's transaction.

    Writers hold the database's write lock (SQLite BEGIN IMMEDIATE), so nobody else appends
    meanwhile and the head can be kept in the session between appends. The kept head is dropped
    whenever a transaction or savepoint ends (see ``_forget_head``): a rolled-back savepoint takes
    its entries with it, and a head remembered from them would fork the chain.
    """
    head = session.info.get(HEAD_KEY)
    if head is None:
        with session.no_autoflush:
            head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    return head


@sqlalchemy_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    # A flush runs in an internal subtransaction: its end changes nothing appended, so the head stays
    # (forgetting it there would cost a query per entry). A failed flush fails its whole transaction,
    # whose end forgets the head.
    if transaction.origin is not SessionTransactionOrigin.SUBTRANSACTION:
        session.info.pop(HEAD_KEY, None)


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
        event = AuditEvent(
            at=utcnow(), actor=actor.name, action=action, record_type=record_type,
            record_id=str(record_id), person_id=person_id, purpose=actor.purpose, prev_hash=prev,
        )
        event.hash = prev = _entry_hash(prev, event)
        events.append(event)
    session.add_all(events)
    session.info[HEAD_KEY] = prev

"""Record versions: no lost updates (issue 11, point 3).

Cases, contacts and tasks (``models.Versioned``) carry ``version``, 1 when made and one more with every
change of the row, and ``updated_by`` / ``updated_at``, the last writer and when. Two session listeners
keep all three for every write, whatever its path, so no storage function has to remember them:

* ``before_flush``: a changed loaded row (``case.status = ...``, ``task.result = ...``) gets
  ``version = version + 1``, computed by the database so two writers never reuse a number, and the
  writer's stamp; a new row gets the stamp (its version is 1).
* ``do_orm_execute``: an ``UPDATE`` statement on one of their tables (a follow-up reason extended, a
  merge moving rows to the kept person, duplicate tasks cancelled) gets the same ``SET`` clauses.

The writer is the actor of the transaction: the last one the audit log recorded in it (every read and
write of personal data is audited with its actor), else ``system``.

**The precondition is one rule, here**: :func:`require_version` locks the row (PostgreSQL: the audit
chain's writer lock, which every writer takes, then ``SELECT ... FOR UPDATE``, in that order so no two
writers wait for each other crosswise; SQLite's one writer already holds the database), reads it
afresh, and refuses a write that names a version that is not the current one with
:class:`~epitrace.errors.StaleRecord`, before anything is written. Writers that name no version are accepted (older clients keep working) and wait
for the lock the same way, so they too change the row as it is now.

Why not SQLAlchemy's ``version_id_col``: it counts only ORM flushes of loaded objects, not ``UPDATE``
statements, and its guard (``UPDATE ... WHERE version = <read>``) raises ``StaleDataError`` at commit
in writers that never asked for a precondition (a lab import joining a case a tracer is saving, on
PostgreSQL): a 500 after the fact, where :func:`require_version` refuses first, with the current state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from epitrace.errors import StaleRecord
from epitrace.storage import audit
from epitrace.storage.models import Case, Contact, Task, Versioned, utcnow

VERSIONED_TABLES: dict[str, type[Versioned]] = {m.__tablename__: m for m in (Case, Contact, Task)}
RECORD_TYPES: dict[type[Versioned], str] = {Case: "case", Contact: "contact", Task: "task"}


def stamp(session: Session) -> dict[str, Any]:
    """The writer's stamp for a row written now: ``updated_by`` and ``updated_at``."""
    return {"updated_by": audit.actor_of_transaction(session), "updated_at": utcnow()}


@event.listens_for(Session, "before_flush")
def _count_changed_rows(session: Session, _context: UOWTransaction, _instances: object) -> None:
    now = stamp(session)
    for row in session.new:
        if isinstance(row, Versioned):
            row.updated_by, row.updated_at = now["updated_by"], now["updated_at"]
    for row in session.dirty:
        if isinstance(row, Versioned) and session.is_modified(row, include_collections=False):
            row.version = type(row).version + 1  # type: ignore[assignment]  # SET version = version + 1
            row.updated_by, row.updated_at = now["updated_by"], now["updated_at"]


@event.listens_for(Session, "do_orm_execute")
def _count_updated_rows(state: ORMExecuteState) -> None:
    if not state.is_update:
        return
    model = VERSIONED_TABLES.get(getattr(getattr(state.statement, "table", None), "name", ""))
    if model is not None:
        state.statement = state.statement.values(version=model.version + 1, **stamp(state.session))  # type: ignore[attr-defined]


def writer_label(name: str | None) -> str:
    """An audit actor as people say it: ``user:ana`` is ana."""
    if not name:
        return "someone"
    return name.removeprefix(audit.USER_ACTOR_PREFIX)


def require_version(session: Session, row: Versioned, expected: int | None) -> None:
    """Lock ``row`` and read it afresh; raise ``StaleRecord`` when ``expected`` is given and not its version.

    Call it before changing the row: what it read is what the write then changes. ``expected`` None is
    no precondition (the write is accepted whatever the version)."""
    audit.writers_lock(session)  # the writers' lock first, the row's second: one order for every writer
    session.refresh(row, with_for_update=True)
    if expected is None or expected == row.version:
        return
    raise stale(row, expected)


def stale(row: Versioned, expected: int) -> StaleRecord:
    """The refusal of a write that read version ``expected`` of ``row``, naming who changed it since."""
    what = f"{RECORD_TYPES[type(row)]} {row.id}"  # type: ignore[attr-defined]
    if expected > row.version:
        message = (f"{what} is at version {row.version}; version {expected} was never written: send the version "
                   f"you read ({row.version} now)")
    else:
        by = f" by {writer_label(row.updated_by)}" if row.updated_by else ""
        at = f" at {row.updated_at:%Y-%m-%d %H:%M} UTC" if row.updated_at else ""
        message = (f"{what} was changed{by}{at} since you read version {expected}; it is now version {row.version}. "
                   f"Check the current values and send your change again with version {row.version}")
    return StaleRecord(message, record_type=RECORD_TYPES[type(row)], record_id=row.id,  # type: ignore[attr-defined]
                       expected=expected, version=row.version, changed_by=writer_label(row.updated_by) if row.updated_by else None,
                       changed_at=row.updated_at)


def version_now(session: Session, row: Versioned) -> int:
    """The row's version after this transaction's changes so far (flushed first)."""
    session.flush()
    return row.version


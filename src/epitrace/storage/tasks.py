"""Follow-up tasks: creation from a plan, queues, and recording results."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.followup import OpenTask, PlannedTask, join_schedule
from epitrace.domain.statuses import TaskKind, TaskStatus
from epitrace.errors import Conflict, ErrorItem, InputError, NotFound
from epitrace.storage import audit, versions
from epitrace.storage.audit import Actor
from epitrace.storage.models import Task

INVESTIGATION_TEAM = "investigation"
FOLLOW_UP_TEAM = "contact-follow-up"


def create_tasks(
    session: Session,
    plan: list[PlannedTask],
    *,
    person_id: int,
    jurisdiction_id: int,
    created_on: date,
    case_id: int | None = None,
    contact_id: int | None = None,
    setting: str | None = None,
) -> int:
    """Insert the planned tasks for one person (one bulk insert); returns how many. ``setting`` is the
    setting of the contact the tasks follow up, if any."""
    if not plan:
        return 0
    written = versions.stamp(session)  # a bulk insert skips the flush listener that stamps new rows
    session.execute(
        insert(Task),
        [
            {
                "kind": p.kind.value,
                "person_id": person_id,
                "case_id": case_id,
                "contact_id": contact_id,
                "setting": setting,
                "jurisdiction_id": jurisdiction_id,
                "team": INVESTIGATION_TEAM if p.kind is TaskKind.INTERVIEW else FOLLOW_UP_TEAM,
                "due_on": p.due_on,
                "status": TaskStatus.OPEN.value,
                "reason": p.reason,
                "created_on": created_on,
                **written,
            }
            for p in plan
        ],
    )
    return len(plan)


FOLLOW_UP_KINDS = (TaskKind.NOTIFY.value, TaskKind.TEST.value, TaskKind.SYMPTOM_CHECK.value)


def schedule_follow_up(
    session: Session,
    plan: list[PlannedTask],
    *,
    person_id: int,
    jurisdiction_id: int,
    created_on: date,
    contact_id: int,
    setting: str,
    exposure: str,
) -> int:
    """Join ``plan`` to the person's open follow-up (``domain.followup.join_schedule``); returns tasks created."""
    open_tasks = [
        OpenTask(t.id, TaskKind(t.kind), t.due_on, t.reason)
        for t in session.scalars(select(Task).where(Task.person_id == person_id, Task.status == TaskStatus.OPEN.value,
                                                    Task.kind.in_(FOLLOW_UP_KINDS)).order_by(Task.id))
    ]
    change = join_schedule(open_tasks, plan, exposure=exposure)
    for task_id, reason in change.extend:
        session.execute(update(Task).where(Task.id == task_id).values(reason=reason))
    return create_tasks(session, change.create, person_id=person_id, jurisdiction_id=jurisdiction_id,
                        created_on=created_on, contact_id=contact_id, setting=setting)


def get_task(session: Session, task_id: int) -> Task:
    """The task with ``task_id``."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task with id {task_id}; list tasks with `epitrace tasks list`")
    return task


def require_open(task: Task) -> None:
    """Raise ``Conflict`` with the task's state when it is closed (done or cancelled): closed means closed."""
    if task.status == TaskStatus.OPEN.value:
        return
    raise Conflict(
        f"task {task.id} ({task.kind}) is already {task.status}: result {task.result!r} on {task.completed_on}. "
        "A closed task is not changed; report a later test result as a new lab result "
        "(epitrace import labs, or POST /api/labs)",
        errors=[
            ErrorItem("status", "the task is closed", task.status),
            ErrorItem("result", "the result it was closed with", task.result),
            ErrorItem("completed_on", "the day it was closed",
                      None if task.completed_on is None else task.completed_on.isoformat()),
        ],
    )


def close_task(session: Session, task: Task, *, result: str, on: date, actor: Actor) -> Task:
    """Mark an open task done with its result; a closed task is a ``Conflict`` (see ``require_open``)."""
    require_open(task)
    if not result.strip():
        raise InputError(f"a result is needed to close task {task.id}: e.g. --result negative or --result done")
    limits.text("result", result, limits.RESULT, multiline=True)
    limits.day("result date", on)
    task.status = TaskStatus.DONE.value
    task.result = result.strip()
    task.completed_on = on
    audit.record(session, actor, action="update", record_type="task", record_id=task.id, person_id=task.person_id)
    return task


def cancel_open_tasks(session: Session, *, contact_id: int, why: str, on: date) -> int:
    """Cancel every open task of a contact (e.g. the contact became a case)."""
    tasks = session.scalars(
        select(Task).where(Task.contact_id == contact_id, Task.status == TaskStatus.OPEN.value).order_by(Task.id)
    ).all()
    for task in tasks:
        task.status = TaskStatus.CANCELLED.value
        task.result = why
        task.completed_on = on
    return len(tasks)

"""`epitrace tasks`: the follow-up queue and recording results."""

from __future__ import annotations

from enum import StrEnum

import typer

from epitrace import settings
from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine, parse_date
from epitrace.cli.cases import more_than_shown
from epitrace.domain.statuses import TaskKind, TaskStatus
from epitrace.storage import workbench as wb
from epitrace.storage.db import write_session
from epitrace.storage.scope import EVERYWHERE
from epitrace.storage.tasks import get_task

tasks_app = typer.Typer(help="Follow-up tasks: interviews, notifications, tests and symptom checks.")


def _values(vocabulary: type[StrEnum]) -> str:
    return ", ".join(m.value for m in vocabulary)


@tasks_app.command("list")
def tasks_list(
    overdue: bool = typer.Option(False, "--overdue", help="Only open tasks whose due date has passed."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", "-j", help="Only this jurisdiction and those below it."),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {_values(TaskKind)}."),
    status: str = typer.Option("open", "--status", help=f"Only this status: {_values(TaskStatus)}."),
    setting: str | None = typer.Option(None, "--setting", help="Only contacts' tasks from an exposure in this setting, e.g. household."),
    due_from: str | None = typer.Option(None, "--due-from", help="Due on or after this day (YYYY-MM-DD)."),
    due_to: str | None = typer.Option(None, "--due-to", help="Due on or before this day (YYYY-MM-DD)."),
    sort: str | None = typer.Option(None, "--sort", help=f"Order: {_values(wb.TaskSort)} (default due; completed for done)."),
    today: str | None = typer.Option(None, "--today", help="Treat this date as today (YYYY-MM-DD)."),
    limit: int = typer.Option(100, "--limit", help=f"At most this many tasks (1-{wb.MAX_PAGE})."),
    offset: int = typer.Option(0, "--offset", help="Skip this many first (the next page: --offset 100)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List follow-up tasks, soonest due first; says on stderr when there are more than shown.

    Example:

    \b
        epitrace tasks list --overdue --jurisdiction D1 --kind test --format table
    """
    as_of = parse_date(today, option="--today") or settings.today()
    with write_session(engine()) as session:
        rows, total = wb.list_tasks(session, EVERYWHERE, actor=cli_actor(), today=as_of, status=status, kind=kind,
                                    jurisdiction=jurisdiction, overdue=overdue, setting=setting,
                                    due_from=parse_date(due_from, option="--due-from"),
                                    due_to=parse_date(due_to, option="--due-to"), sort=sort, limit=limit, offset=offset)
    flat = [{"id": r["id"], "kind": r["kind"], "person_id": r["person"]["id"], "person_name": r["person"]["name"],
             "due_on": r["due_on"], "status": r["status"], "overdue": r["overdue"], "reason": r["reason"],
             "result": r["result"]} for r in rows]
    emit(flat, fmt, title=f"Tasks ({len(flat)} of {total})")
    more_than_shown(len(flat), total, offset, "task(s)")


@tasks_app.command("done")
def tasks_done(
    task_id: int = typer.Argument(help="Task id."),
    result: str = typer.Option(..., "--result", help="For tests: positive, negative or inconclusive; otherwise free text."),
    on: str | None = typer.Option(None, "--on", help="Day it was done (default today)."),
) -> None:
    """Record the result of a task and close it; a positive test makes the contact a linked case.

    Example:

    \b
        epitrace tasks done 311 --result negative
    """
    done_on = parse_date(on, option="--on") or settings.today()
    with write_session(engine()) as session:
        task = get_task(session, task_id)  # (its message says how to list the tasks)
        # The same function as the API and the pages: a closed task is refused with its state (issue 10).
        recorded = wb.record_task_result(session, EVERYWHERE, task_id, actor=cli_actor(), result=result, on=done_on)
        if recorded["case_id"] is not None:
            console.print(f"Task {task_id}: positive; case {recorded['case_id']} "
                          + ("opened and linked to its source." if recorded["new_case"] else "updated."))
            return
        console.print(f"Task {task.id} ({task.kind}) done: {task.result}.")

"""`epitrace persons`: search, duplicate candidates and merges."""

from __future__ import annotations

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine
from epitrace.cli.cases import more_than_shown
from epitrace.storage import workbench as wb
from epitrace.storage.db import write_session
from epitrace.storage.persons import list_duplicate_candidates, merge_persons
from epitrace.storage.scope import EVERYWHERE

persons_app = typer.Typer(help="Persons: search, possible duplicates and merges.")


@persons_app.command("search")
def search(
    q: str = typer.Argument(help="Given and family name in either order (the start of each is enough), a phone in any "
                                 "spelling, or a national id."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", "-j", help="Only this jurisdiction and those below it."),
    sort: str | None = typer.Option(None, "--sort", help=f"Order: {', '.join(s.value for s in wb.PersonSort)} (default name)."),
    limit: int = typer.Option(100, "--limit", help=f"At most this many persons (1-{wb.MAX_PAGE})."),
    offset: int = typer.Option(0, "--offset", help="Skip this many first (the next page: --offset 100)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Find persons by name, phone or national id; says on stderr when there are more than shown.

    Example:

    \b
        epitrace persons search "Silva Ana" --format table
        epitrace persons search "+31 6 1234 5678"
    """
    # A write session: each person shown is recorded in the audit log.
    with write_session(engine()) as session:
        found, total = wb.search_persons(session, EVERYWHERE, actor=cli_actor(), q=q, jurisdiction=jurisdiction,
                                         sort=sort, limit=limit, offset=offset)
    emit(found, fmt, title=f"Persons ({len(found)} of {total})")
    more_than_shown(len(found), total, offset, "person(s)")


@persons_app.command("duplicates")
def duplicates(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List possible duplicate persons with the evidence; nothing is merged without you.

    Example:

    \b
        epitrace persons duplicates --format table
    """
    # A write session: each person shown is recorded in the audit log.
    with write_session(engine()) as session:
        rows = [
            {
                "person_a": a.id,
                "name_a": f"{a.given_name} {a.family_name}",
                "person_b": b.id,
                "name_b": f"{b.given_name} {b.family_name}",
                "date_of_birth": a.date_of_birth,
                "evidence": candidate.evidence,
            }
            for candidate, a, b in list_duplicate_candidates(session, actor=cli_actor())
        ]
    emit(rows, fmt, title="Possible duplicate persons")


@persons_app.command("merge")
def merge(
    keep: int = typer.Argument(help="Id of the person to keep."),
    other: int = typer.Argument(help="Id of the person merged into it; their records move, nothing is deleted."),
) -> None:
    """Merge person OTHER into KEEP, keeping every record.

    Example:

    \b
        epitrace persons merge 12 57
    """
    with write_session(engine()) as session:
        kept = merge_persons(session, keep, other, actor=cli_actor())
        console.print(f"Merged person {other} into person {kept.id}; their lab results, cases, contacts and tasks now belong to {kept.id}.")

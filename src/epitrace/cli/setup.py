"""Commands that set up a database: init and jurisdictions."""

from __future__ import annotations

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, console, emit, engine
from epitrace.storage.db import make_engine, read_session, write_session
from epitrace.storage.jurisdictions import add_jurisdiction, list_jurisdictions
from epitrace.storage.migrate import upgrade

jurisdictions_app = typer.Typer(help="Jurisdictions: the tree of areas (city > district) that own cases and tasks.")


def init() -> None:
    """Create the database, or migrate it to the newest schema.

    Example:

    \b
        epitrace init
        EPITRACE_DATABASE_URL=sqlite:///other.db epitrace init
    """
    db = make_engine()
    try:
        revision = upgrade(db)
    finally:
        db.dispose()
    console.print(f"Database {db.url.render_as_string(hide_password=True)} is at schema revision {revision}.")


@jurisdictions_app.command("add")
def jurisdictions_add(
    code: str = typer.Argument(help="Short unique code, e.g. D1."),
    name: str = typer.Argument(help="Name, e.g. 'North District'."),
    parent: str | None = typer.Option(None, "--parent", help="Code of the jurisdiction it belongs to."),
) -> None:
    """Add a jurisdiction.

    Example:

    \b
        epitrace jurisdictions add CITY "Synthville"
        epitrace jurisdictions add D1 "North District" --parent CITY
    """
    with write_session(engine()) as session:
        added = add_jurisdiction(session, code, name, parent_code=parent)
        console.print(f"Added jurisdiction {added.code} ({added.name})" + (f" under {parent}." if parent else "."))


@jurisdictions_app.command("list")
def jurisdictions_list(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List jurisdictions in tree order.

    Example:

    \b
        epitrace jurisdictions list --format table
    """
    with read_session(engine()) as session:
        rows = []
        by_id = {}
        for jurisdiction, depth in list_jurisdictions(session):
            by_id[jurisdiction.id] = jurisdiction.code
            rows.append({
                "code": jurisdiction.code,
                "name": ("  " * depth + jurisdiction.name) if fmt is OutputFormat.table else jurisdiction.name,
                "parent": by_id.get(jurisdiction.parent_id),
            })
    emit(rows, fmt, title="Jurisdictions")

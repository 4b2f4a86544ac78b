"""`epitrace serve`, `users` and `audit`: the service, its accounts, and the audit log."""

from __future__ import annotations

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine
from epitrace.storage import audit
from epitrace.storage.db import read_session, write_session

users_app = typer.Typer(help="Staff accounts: roles scoped to a jurisdiction and everything below it.")
audit_app = typer.Typer(help="The audit log: verify its hash chain, show who accessed a person's data, and denials.")


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Run the API (OpenAPI at /openapi.json) and the staff web app.

    Example:

    \b
        epitrace serve --port 8000
    """
    import uvicorn

    from epitrace.api import create_app

    app = create_app(engine())
    console.print(f"epitrace on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@users_app.command("add")
def users_add(
    name: str = typer.Argument(help="User name."),
    role: str = typer.Option(..., "--role", help="tracer, supervisor, epidemiologist, administrator or 'privacy officer'."),
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="Code of the jurisdiction the account is scoped to."),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="At least 12 characters (asked for when not given)."),
) -> None:
    """Create a staff account.

    Example:

    \b
        epitrace users add ana --role tracer --jurisdiction D1
    """
    from epitrace.storage.accounts import add_user

    with write_session(engine()) as session:
        user = add_user(session, name, password, role=role, jurisdiction_code=jurisdiction)
        console.print(f"Added {user.username} ({user.role}, {jurisdiction}).")


@users_app.command("token")
def users_token(
    name: str = typer.Argument(help="User name the token acts as."),
    label: str = typer.Option("api", "--label", help="What the token is for."),
) -> None:
    """Create an API token (shown once; send it as Authorization: Bearer TOKEN).

    Example:

    \b
        epitrace users token lab-feed --label "lab system upload"
    """
    from epitrace.storage.accounts import create_api_token

    with write_session(engine()) as session:
        token = create_api_token(session, name, name=label)
    print(token)


@users_app.command("list")
def users_list(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List accounts.

    Example:

    \b
        epitrace users list --format table
    """
    from epitrace.storage.accounts import list_users

    with read_session(engine()) as session:
        rows = [{"username": u.username, "role": u.role, "jurisdiction": code, "active": u.active} for u, code in list_users(session)]
    emit(rows, fmt, title="Accounts")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits 1 and names the first broken entry.

    Example:

    \b
        epitrace audit verify
    """
    with read_session(engine()) as session:
        broken = audit.verify(session)
        count = audit.entry_count(session)
    if broken is not None:
        typer.echo(f"Error: the audit log is broken at entry {broken}: it or an entry before it was changed or removed", err=True)
        raise typer.Exit(1)
    console.print(f"The audit log's {count} entries verify.")


@audit_app.command("show")
def audit_show(
    person: int = typer.Option(..., "--person", help="Person id."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Who accessed a person's data, when, how and why (newest first).

    Example:

    \b
        epitrace audit show --person 42 --format table
    """
    from epitrace.storage.scope import EVERYWHERE
    from epitrace.storage.workbench import audit_for_person

    with write_session(engine()) as session:
        rows = audit_for_person(session, EVERYWHERE, person, actor=cli_actor())
    emit(rows, fmt, title=f"Access to person {person}")


@audit_app.command("denials")
def audit_denials(
    days: int = typer.Option(30, "--days", min=1, max=366, help="How many days back, today included."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction",
                                            help="Only accounts of this jurisdiction and those below it."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Refused out-of-scope accesses per account and day (a rate of probing, for privacy officers).

    Example:

    \b
        epitrace audit denials --days 7 --jurisdiction D1 --format table
    """
    from epitrace.storage.jurisdictions import subtree_ids

    since, until = audit.denial_window(days)
    with read_session(engine()) as session:
        ids = None if jurisdiction is None else frozenset(subtree_ids(session, jurisdiction))
        rows = audit.denial_counts(session, ids, since=since, until=until)
    emit(rows, fmt, title=f"Denied accesses {since.isoformat()} to {until.isoformat()}")

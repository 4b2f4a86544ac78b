"""`epitrace serve`, `users` and `audit`: the service, its accounts, and the audit log."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine
from epitrace.storage import audit
from epitrace.storage.db import read_session, write_session

if TYPE_CHECKING:
    from epitrace.storage.accounts import Link

users_app = typer.Typer(help="Staff accounts: roles scoped to a jurisdiction and everything below it.")
audit_app = typer.Typer(help="The audit log: verify its hash chain, show who accessed a person's data, and denials.")


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes (uvicorn); each has its own connection pool of "
                                     "EPITRACE_DB_POOL_SIZE. Several suit PostgreSQL; SQLite takes one writer at a time."),
) -> None:
    """Run the API (OpenAPI at /openapi.json) and the staff web app.

    Forwarded headers (X-Forwarded-For) are trusted only from EPITRACE_TRUSTED_PROXIES. With --workers N
    each process builds the app from the settings (``epitrace.api:create_app``); sign-in and share-code
    limits, sessions and the audit chain live in the database, so the workers share them.

    Example:

    \b
        epitrace serve --port 8000
        epitrace serve --host 0.0.0.0 --workers 4
    """
    import uvicorn

    from epitrace.api import create_app
    from epitrace.service.auth import uvicorn_proxy_options

    options = uvicorn_proxy_options()
    checked = engine()  # refuses an uninitialised or unreachable database before listening
    console.print(f"epitrace on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
                  + (f", {workers} workers" if workers > 1 else ""))
    if workers == 1:
        uvicorn.run(create_app(checked), host=host, port=port, log_level="warning", **options)  # type: ignore[arg-type]
        return
    checked.dispose()  # each worker process opens its own pool
    uvicorn.run("epitrace.api:create_app", factory=True, workers=workers, host=host, port=port, log_level="warning",
                **options)  # type: ignore[arg-type]


PASSWORD_STDIN = typer.Option(False, "--password-stdin",
                              help="Read the password from the first line of standard input instead of asking.")


def _password(from_stdin: bool) -> str:
    """The password from a hidden prompt (typed twice) or stdin; never from the command line, where the
    process list would show it."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _print_link(link: Link) -> None:
    console.print(f"One-time link for {link.username}, valid until {link.expires_at:%Y-%m-%d %H:%M} UTC "
                  "(open it on the server's address):")
    print(link.path)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(help="User name."),
    role: str = typer.Option(..., "--role", help="tracer, supervisor, epidemiologist, administrator or 'privacy officer'."),
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="Code of the jurisdiction the account is scoped to."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create a staff account; asks for its password (at least 12 characters, not a common one).

    Example:

    \b
        epitrace users add ana --role tracer --jurisdiction D1
        printf '%s\\n' "$PASSPHRASE" | epitrace users add ana --role tracer --jurisdiction D1 --password-stdin
    """
    from epitrace.storage.accounts import add_user

    password = _password(password_stdin)
    with write_session(engine()) as session:
        user = add_user(session, name, password, role=role, jurisdiction_code=jurisdiction, actor=cli_actor())
        console.print(f"Added {user.username} ({user.role}, {jurisdiction}).")


@users_app.command("token")
def users_token(
    name: str = typer.Argument(help="User name the token acts as."),
    label: str = typer.Option("api", "--label", help="What the token is for."),
    days: int = typer.Option(90, "--days", help="Days until the token expires (1-366)."),
) -> None:
    """Create an API token (shown once; send it as Authorization: Bearer TOKEN).

    Example:

    \b
        epitrace users token lab-feed --label "lab system upload" --days 30
    """
    from epitrace.storage.accounts import create_api_token

    with write_session(engine()) as session:
        token = create_api_token(session, name, name=label, days=days, actor=cli_actor())
    print(token)


@users_app.command("tokens")
def users_tokens(name: str = typer.Argument(help="User name."), fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List an account's API tokens (never the tokens themselves).

    Example:

    \b
        epitrace users tokens lab-feed --format table
    """
    from epitrace.storage.accounts import list_tokens

    with read_session(engine()) as session:
        rows = [{"id": t.id, "name": t.name, "created_at": t.created_at, "expires_at": t.expires_at,
                 "revoked": t.revoked} for t in list_tokens(session, name)]
    emit(rows, fmt, title=f"Tokens of {name}")


@users_app.command("revoke-token")
def users_revoke_token(token_id: int = typer.Argument(help="Token id (from `epitrace users tokens`).")) -> None:
    """Revoke an API token: it stops working at once.

    Example:

    \b
        epitrace users revoke-token 3
    """
    from epitrace.storage.accounts import revoke_token

    with write_session(engine()) as session:
        revoke_token(session, None, token_id, actor=cli_actor())
    console.print(f"Revoked token {token_id}.")


@users_app.command("deactivate")
def users_deactivate(name: str = typer.Argument(help="User name.")) -> None:
    """Deactivate an account: its sessions, tokens and links stop working at once.

    Example:

    \b
        epitrace users deactivate ana
    """
    from epitrace.storage.accounts import deactivate_user

    with write_session(engine()) as session:
        deactivate_user(session, None, name, actor=cli_actor())
    console.print(f"Deactivated {name}.")


@users_app.command("activate")
def users_activate(name: str = typer.Argument(help="User name.")) -> None:
    """Re-activate a deactivated account (its tokens stay revoked).

    Example:

    \b
        epitrace users activate ana
    """
    from epitrace.storage.accounts import activate_user

    with write_session(engine()) as session:
        activate_user(session, name, actor=cli_actor())
    console.print(f"Activated {name}.")


@users_app.command("role")
def users_role(name: str = typer.Argument(help="User name."),
               role: str = typer.Argument(help="The new role.")) -> None:
    """Change an account's role.

    Example:

    \b
        epitrace users role ana supervisor
    """
    from epitrace.storage.accounts import set_role

    with write_session(engine()) as session:
        set_role(session, None, name, role, actor=cli_actor())
    console.print(f"{name} is now {role}.")


@users_app.command("approve")
def users_approve(name: str = typer.Argument(help="User name of a pending account.")) -> None:
    """Approve an account waiting for approval; prints its one-time first-password link.

    Example:

    \b
        epitrace users approve ana
    """
    from epitrace.storage.accounts import approve_user

    with write_session(engine()) as session:
        link = approve_user(session, None, name, actor=cli_actor())
    _print_link(link)


@users_app.command("reset-link")
def users_reset_link(name: str = typer.Argument(help="User name.")) -> None:
    """Make a one-time link (valid one hour) that sets the account's password; printed once.

    Example:

    \b
        epitrace users reset-link ana
    """
    from epitrace.storage.accounts import create_reset_link

    with write_session(engine()) as session:
        link = create_reset_link(session, None, name, actor=cli_actor())
    _print_link(link)


@users_app.command("list")
def users_list(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List accounts.

    Example:

    \b
        epitrace users list --format table
    """
    from epitrace.storage.accounts import list_users

    with read_session(engine()) as session:
        rows = [{"username": u.username, "role": u.role, "jurisdiction": code, "active": u.active,
                 "pending_approval": u.pending_approval} for u, code in list_users(session)]
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

"""`epitrace share issue` and `epitrace visits confirm`: voluntary sharing by a case."""

from __future__ import annotations

import typer

from epitrace.cli._common import cli_actor, console, engine
from epitrace.cli.cases import visits_app
from epitrace.storage.db import write_session
from epitrace.storage.scope import EVERYWHERE

share_app = typer.Typer(help="Voluntary sharing: one-time codes for a case to share their own trail or check-ins.")


@share_app.command("issue")
def issue(case_id: int = typer.Option(..., "--case", help="The case who will share.")) -> None:
    """Issue a one-time code (valid 48 hours) for a case to upload their trail or check-ins.

    Example:

    \b
        epitrace share issue --case 12
    """
    from epitrace.storage.sharing import issue_code

    with write_session(engine()) as session:
        code = issue_code(session, EVERYWHERE, case_id, actor=cli_actor())
    console.print(f"One-time code for case {case_id}: {code} (valid 48 hours, one upload). The case shares at /share.")


@visits_app.command("confirm")
def confirm(visit_id: int = typer.Argument(help="Id of a visit the case shared.")) -> None:
    """Confirm a visit a case shared; its exposure window follows.

    Example:

    \b
        epitrace visits confirm 57
    """
    from epitrace.storage.sharing import confirm_visit

    with write_session(engine()) as session:
        visit = confirm_visit(session, EVERYWHERE, visit_id, actor=cli_actor())
    console.print(f"Visit {visit.id} confirmed.")

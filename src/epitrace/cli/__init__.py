"""The epitrace command line. Every command is listed by `epitrace --help`."""

from __future__ import annotations

import sys

import typer

from epitrace.cli._common import err_console
from epitrace.cli.cases import cases_app, contacts_app, visits_app
from epitrace.cli.demo import demo
from epitrace.cli.labs import import_app
from epitrace.cli.persons import persons_app
from epitrace.cli.setup import init, jurisdictions_app
from epitrace.cli.tasks import tasks_app
from epitrace.errors import EpitraceError

app = typer.Typer(
    help="epitrace: outbreak investigation and exposure notification for public-health agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init", help="Create the database, or migrate it to the newest schema.")(init)
app.command("demo", help="Run the whole pipeline on a synthetic outbreak and write a report.")(demo)
app.add_typer(jurisdictions_app, name="jurisdictions")
app.add_typer(import_app, name="import")
app.add_typer(persons_app, name="persons")
app.add_typer(cases_app, name="cases")
app.add_typer(visits_app, name="visits")
app.add_typer(contacts_app, name="contacts")
app.add_typer(tasks_app, name="tasks")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; epitrace errors print 'Error: ...' and exit with their exit code."""
    try:
        app(args=argv, prog_name="epitrace", standalone_mode=True)
    except EpitraceError as error:
        err_console.print(f"Error: {error.message}", markup=False, highlight=False)
        sys.exit(error.exit_code)


__all__ = ["app", "main"]

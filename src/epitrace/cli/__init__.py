"""The epitrace command line. Every command is listed by `epitrace --help`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from epitrace.cli._common import close_engines, echo
from epitrace.cli.analytics import chains_command, rt_command, serial_interval_command
from epitrace.cli.cases import cases_app, contacts_app, visits_app
from epitrace.cli.check import check_command
from epitrace.cli.demo import demo
from epitrace.cli.feed import feed_app
from epitrace.cli.labs import import_app
from epitrace.cli.links import clusters_app, colocate_command, links_app
from epitrace.cli.match import match_command
from epitrace.cli.persons import persons_app
from epitrace.cli.profiles import profiles_app
from epitrace.cli.report import curve_command, kpis_command, report_command
from epitrace.cli.service import audit_app, serve_command, users_app
from epitrace.cli.setup import init, jurisdictions_app
from epitrace.cli.share import share_app
from epitrace.cli.tasks import tasks_app
from epitrace.cli.trail import trail_command
from epitrace.cli.venues import venues_app
from epitrace.errors import EpitraceError

app = typer.Typer(
    help="epitrace: outbreak investigation and exposure notification for public-health agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init", help="Create the database, or migrate it to the newest schema.")(init)
app.command("demo", help="Run the whole pipeline on a synthetic outbreak and write a report.")(demo)
app.command("serve", help="Run the API and the staff web app.")(serve_command)
app.command("match", help="Find who shared a place and time with an exposure window.")(match_command)
app.command("rt", help="Estimate the reproduction number Rt (Cori method, EpiEstim conventions).")(rt_command)
app.command("chains", help="Transmission-chain statistics from case,infector links.")(chains_command)
app.command("serial-interval", help="Serial interval from infector-infectee pairs, with a gamma fit.")(serial_interval_command)
app.command("report", help="Write the outbreak report (HTML and PDF) with small counts suppressed.")(report_command)
app.command("curve", help="The epidemic curve as data, small counts suppressed.")(curve_command)
app.command("kpis", help="Operational KPIs of the tracing teams.")(kpis_command)
app.command("trail", help="Turn your own location history into presences (stays), on this machine.")(trail_command)
app.command("check", help="Private self-check: your trail and check-ins against the public feed.")(check_command)
app.command("colocate", help="Propose links and clusters from cases who shared a place and time.")(colocate_command)
app.add_typer(jurisdictions_app, name="jurisdictions")
app.add_typer(profiles_app, name="profiles")
app.add_typer(import_app, name="import")
app.add_typer(persons_app, name="persons")
app.add_typer(cases_app, name="cases")
app.add_typer(visits_app, name="visits")
app.add_typer(contacts_app, name="contacts")
app.add_typer(tasks_app, name="tasks")
app.add_typer(links_app, name="links")
app.add_typer(clusters_app, name="clusters")
app.add_typer(feed_app, name="feed")
app.add_typer(share_app, name="share")
app.add_typer(venues_app, name="venues")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")


def _reporting_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """User errors print 'Error: ...' on stderr and exit with the error's code, not a traceback."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except EpitraceError as error:
            echo(f"Error: {error.message}", err=True)
            raise typer.Exit(error.exit_code) from None
        finally:
            close_engines()

    return run


def _wrap_commands(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.callback = _reporting_errors(info.callback)  # type: ignore[arg-type]
    for group in typer_app.registered_groups:
        _wrap_commands(group.typer_instance)  # type: ignore[arg-type]


_wrap_commands(app)


def main() -> None:
    """Entry point of the ``epitrace`` command."""
    app(prog_name="epitrace")


__all__ = ["app", "main"]

"""`epitrace report`, `curve` and `kpis`: the aggregates, through the one scoped, suppressed and audited path."""

from __future__ import annotations

from pathlib import Path

import typer

from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine, parse_date
from epitrace.errors import InputError
from epitrace.storage.db import write_session

JURISDICTION_OPTION = typer.Option(None, "--jurisdiction", "-j",
                                   help="Only this jurisdiction and those below it (default: the whole database).")


def _scope(session, code: str | None):  # type: ignore[no-untyped-def]
    """The whole database, or one jurisdiction's subtree."""
    from epitrace.storage.jurisdictions import subtree_ids
    from epitrace.storage.scope import EVERYWHERE, Scope

    return EVERYWHERE if code is None else Scope(frozenset(subtree_ids(session, code)))


def _today(value: str | None):  # type: ignore[no-untyped-def]
    from epitrace import settings

    return parse_date(value, option="--today") or settings.today()


def report_command(
    out: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf, report.json and the figures."),
    by: str = typer.Option("report", "--by", help="Date of the epidemic curve and Rt: report or onset."),
    si_mean: float = typer.Option(DEFAULT_SI_MEAN, "--si-mean", help="Mean serial interval in days, for Rt."),
    si_sd: float = typer.Option(DEFAULT_SI_SD, "--si-sd", help="Standard deviation of the serial interval in days, for Rt."),
    today: str | None = typer.Option(None, "--today", help="Report as of this date (YYYY-MM-DD; default EPITRACE_TODAY or today)."),
    jurisdiction: str | None = JURISDICTION_OPTION,
) -> None:
    """Write the outbreak report: epidemic curve, Rt with credible intervals, chains, KPIs, clusters.

    Counts below EPITRACE_SMALL_COUNT_THRESHOLD (default 5), and counts that would give one away,
    are suppressed; chains carry no identifiers; households are never named.

    Example:

    \b
        epitrace report --out reports/2026-03-31
        epitrace report --out r --by onset --si-mean 3.0 --si-sd 1.8 --jurisdiction D1
    """
    from epitrace.reports.report import ReportOptions, build_report

    if by not in ("report", "onset"):
        raise InputError(f"--by {by!r} is not known: expected report or onset")
    options = ReportOptions(today=_today(today), si_mean=si_mean, si_sd=si_sd, by=by)
    with write_session(engine()) as session:
        path = build_report(session, out, options, scope=_scope(session, jurisdiction), actor=cli_actor())
    console.print(f"Report written to {path} (and report.pdf beside it).")


def curve_command(
    by: str = typer.Option("report", "--by", help="report or onset date."),
    interval: str = typer.Option("day", "--interval", help="day or week (ISO weeks, Monday first)."),
    by_jurisdiction: bool = typer.Option(False, "--by-jurisdiction", help="One series per jurisdiction."),
    jurisdiction: str | None = JURISDICTION_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The epidemic curve as data, with small counts (and counts that would give one away) suppressed.

    Example:

    \b
        epitrace curve --interval week --by-jurisdiction --format csv
    """
    from epitrace.storage import aggregates

    if by not in ("report", "onset"):
        raise InputError(f"--by {by!r} is not known: expected report or onset")
    if interval not in ("day", "week"):
        raise InputError(f"--interval {interval!r} is not known: expected day or week")
    with write_session(engine()) as session:
        released = aggregates.curve(session, _scope(session, jurisdiction), actor=cli_actor(), by=by,  # type: ignore[arg-type]
                                    interval=interval, by_jurisdiction=by_jurisdiction)  # type: ignore[arg-type]
    emit(released.rows(), fmt, title=f"New cases by {by} date")


def kpis_command(
    today: str | None = typer.Option(None, "--today", help="As of this date (YYYY-MM-DD; default EPITRACE_TODAY or today)."),
    jurisdiction: str | None = JURISDICTION_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The operational KPIs: result to interview, contacts notified within 24 h, tested on time, known contacts.

    Example:

    \b
        epitrace kpis --format table
    """
    from epitrace.storage import aggregates

    with write_session(engine()) as session:
        released = aggregates.kpis(session, _scope(session, jurisdiction), actor=cli_actor(), today=_today(today))
    emit(released.rows, fmt, title="Operational KPIs")

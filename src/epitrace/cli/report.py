"""`epitrace report`: the aggregate outbreak report as HTML and PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine, parse_date
from epitrace.errors import InputError
from epitrace.settings import Settings
from epitrace.storage import audit
from epitrace.storage.db import write_session


def report_command(
    out: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf and the figures."),
    by: str = typer.Option("report", "--by", help="Date of the epidemic curve and Rt: report or onset."),
    si_mean: float = typer.Option(DEFAULT_SI_MEAN, "--si-mean", help="Mean serial interval in days, for Rt."),
    si_sd: float = typer.Option(DEFAULT_SI_SD, "--si-sd", help="Standard deviation of the serial interval in days, for Rt."),
    today: str | None = typer.Option(None, "--today", help="Report as of this date (YYYY-MM-DD; default today)."),
) -> None:
    """Write the outbreak report: epidemic curve, Rt with credible intervals, chains, KPIs, clusters.

    Counts below EPITRACE_SMALL_COUNT_THRESHOLD (default 5) are suppressed; chains carry no
    identifiers; households are never named.

    Example:

    \b
        epitrace report --out reports/2026-03-31
        epitrace report --out r --by onset --si-mean 3.0 --si-sd 1.8
    """
    from epitrace.reports.report import ReportOptions, build_report

    if by not in ("report", "onset"):
        raise InputError(f"--by {by!r} is not known: expected report or onset")
    options = ReportOptions(
        today=parse_date(today, option="--today") or date.today(), threshold=Settings.from_env().small_count_threshold,
        si_mean=si_mean, si_sd=si_sd, by=by,
    )
    with write_session(engine()) as session:
        path = build_report(session, out, options, actor=cli_actor())
    console.print(f"Report written to {path} (and report.pdf beside it).")


def curve_command(
    by: str = typer.Option("report", "--by", help="report or onset date."),
    interval: str = typer.Option("day", "--interval", help="day or week (ISO weeks, Monday first)."),
    by_jurisdiction: bool = typer.Option(False, "--by-jurisdiction", help="One series per jurisdiction."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The epidemic curve as data, with counts below the small-count threshold suppressed.

    Example:

    \b
        epitrace curve --interval week --by-jurisdiction --format csv
    """
    from epitrace.analytics.curves import epicurve
    from epitrace.domain.privacy import suppress_small
    from epitrace.storage.analytics import cases_frame

    if by not in ("report", "onset"):
        raise InputError(f"--by {by!r} is not known: expected report or onset")
    if interval not in ("day", "week"):
        raise InputError(f"--interval {interval!r} is not known: expected day or week")
    threshold = Settings.from_env().small_count_threshold
    with write_session(engine()) as session:
        curve = epicurve(cases_frame(session), by=by, interval=interval, by_jurisdiction=by_jurisdiction)  # type: ignore[arg-type]
        audit.record(session, cli_actor(), action="report", record_type="aggregate", record_id="curve", person_id=None)
    rows = [{**r, "cases": suppress_small(r["cases"], threshold=threshold)} for r in curve.drop("period").iter_rows(named=True)]
    emit(rows, fmt, title=f"New cases by {by} date")


def kpis_command(
    today: str | None = typer.Option(None, "--today", help="As of this date (YYYY-MM-DD; default today)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """The operational KPIs: result to interview, contacts notified within 24 h, tested on time, known contacts.

    Example:

    \b
        epitrace kpis --format table
    """
    from epitrace.analytics.curves import kpis
    from epitrace.storage.analytics import cases_frame, contact_tasks_frame

    with write_session(engine()) as session:
        table = kpis(cases_frame(session), contact_tasks_frame(session), today=parse_date(today, option="--today") or date.today())
        audit.record(session, cli_actor(), action="report", record_type="aggregate", record_id="kpis", person_id=None)
    emit(table.to_dicts(), fmt, title="Operational KPIs")

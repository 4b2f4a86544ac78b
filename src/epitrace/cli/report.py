"""`epitrace report`: the aggregate outbreak report as HTML and PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from epitrace.cli._common import cli_actor, console, engine, parse_date
from epitrace.errors import InputError
from epitrace.settings import Settings
from epitrace.storage.db import write_session


def report_command(
    out: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf and the figures."),
    by: str = typer.Option("report", "--by", help="Date of the epidemic curve and Rt: report or onset."),
    si_mean: float = typer.Option(4.7, "--si-mean", help="Mean serial interval in days, for Rt."),
    si_sd: float = typer.Option(2.9, "--si-sd", help="Standard deviation of the serial interval in days, for Rt."),
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

"""`epitrace demo`: generate a synthetic city, run the tracing pipeline day by day, report."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from epitrace.errors import Conflict, InputError
from epitrace.files import private_dir
from epitrace.pipeline.evaluation import DemoSummary, summarise
from epitrace.pipeline.report import summary_html
from epitrace.pipeline.simulation import TRACER, Simulation, TeamBehaviour
from epitrace.reports.report import ReportOptions, build_report
from epitrace.storage import simulated_team as team
from epitrace.storage.db import is_initialised, make_engine, read_session, write_session
from epitrace.storage.jurisdictions import add_jurisdiction
from epitrace.storage.migrate import upgrade
from epitrace.storage.scope import EVERYWHERE

console = Console()


def run_demo(*, people: int, days: int, seed: int, out: Path, serve: bool = False, host: str = "127.0.0.1",
             port: int = 8000, behaviour: TeamBehaviour | None = None, database_url: str | None = None) -> DemoSummary:
    """Run the demo into ``out`` (``report.html``, and a fresh ``epitrace.db`` unless ``database_url``
    names an empty database to migrate and use instead); return the summary. The same seed gives the
    same summary on SQLite and PostgreSQL (issue 11)."""
    if people < 100:
        raise InputError(f"--people must be at least 100 for a meaningful city, got {people}")
    if days < 3:
        raise InputError(f"--days must be at least 3, got {days}")
    from epitrace.synth import SynthConfig, generate  # numpy-heavy; only needed here

    started = time.perf_counter()
    private_dir(out)  # the database and the report in it are personal (synthetic here, but the same code): 0700
    if database_url is None:
        db_path = out / "epitrace.db"
        for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            stale.unlink(missing_ok=True)
        database_url = f"sqlite:///{db_path}"
    engine = make_engine(database_url)
    _refuse_unless_empty(engine)
    with console.status(f"Generating a synthetic city of {people:,} people over {days} days (seed {seed})..."):
        outbreak = generate(SynthConfig(people=people, days=days, seed=seed))
    console.print(
        f"Synthetic city: {people:,} people, {outbreak.places.height:,} places, "
        f"{outbreak.infections.height:,} infections over {days} days."
    )
    upgrade(engine)
    with write_session(engine) as session:
        for code, name, parent in outbreak.jurisdictions:
            add_jurisdiction(session, code, name, parent_code=parent)
    simulation = Simulation(outbreak, engine, behaviour=behaviour or TeamBehaviour(), seed=seed)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("Tracing day by day", total=days)
        for day in range(days):
            entry = simulation.run_day(day)
            progress.update(bar, advance=1, description=f"{entry.day}: {entry.new_cases} new cases, {entry.interviews} interviews")
    last_day = outbreak.start_date + timedelta(days=days - 1)
    with read_session(engine) as session:
        summary = summarise(session, today=last_day, infections=outbreak.infections, person_truth=simulation.person_truth)
    with write_session(engine) as session:
        report = build_report(session, out, ReportOptions(
            today=last_day, title="epitrace demo: synthetic outbreak",
            extra_html=summary_html(summary, parameters={"people": people, "days": days, "seed": seed},
                                    first_day=outbreak.start_date, last_day=last_day),
        ), scope=EVERYWHERE, actor=TRACER)
    _print_summary(summary)
    console.print(f"Report: {report}  Database: {shown_url(engine)}  ({time.perf_counter() - started:.0f} s)")
    if serve:
        _serve(engine, last_day=last_day, host=host, port=port)
    engine.dispose()
    return summary


def shown_url(engine: Engine) -> str:
    """The engine's database as the demo prints it: a SQLite file's path, else its URL without the password."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def _refuse_unless_empty(engine: Engine) -> None:
    """The demo writes a synthetic city into its database, so it only takes one without anyone's data."""
    if not is_initialised(engine):
        return
    with read_session(engine) as session:
        held = team.stored_rows(session)
    if any(held.values()):
        listed = ", ".join(f"{n:,} {table}" for table, n in held.items() if n)
        raise Conflict(
            f"the database at {engine.url.render_as_string(hide_password=True)} already holds data ({listed}); "
            "the demo needs an empty database: create a new one for it, or leave out --database-url to use "
            "a fresh SQLite file in the --out folder"
        )


DEMO_ACCOUNTS = [("tracer-d1", "tracer", "D1"), ("tracer-d2", "tracer", "D2"), ("supervisor", "supervisor", "CITY"),
                 ("epidemiologist", "epidemiologist", "CITY"), ("administrator", "administrator", "CITY"),
                 ("privacy", "privacy officer", "CITY")]


def _serve(engine, *, last_day, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    """Create an account per role (fresh random passwords), then serve the app as of the demo's last day."""
    import os
    import secrets

    import uvicorn

    from epitrace.api import create_app
    from epitrace.storage.accounts import add_user

    table = Table(title=f"Demo accounts (http://{host}:{port}/)")
    for column in ("user", "role", "jurisdiction", "password"):
        table.add_column(column)
    with write_session(engine) as session:
        for username, role, code in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            add_user(session, username, password, role=role, jurisdiction_code=code)
            table.add_row(username, role, code, password)
    os.environ["EPITRACE_TODAY"] = last_day.isoformat()  # the synthetic outbreak's "today"
    console.print(table)
    console.print(f"Serving the synthetic outbreak on http://{host}:{port}/ as of {last_day} (Ctrl+C to stop).")
    from epitrace.service.auth import uvicorn_proxy_options

    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning",
                **uvicorn_proxy_options())  # type: ignore[arg-type]


def _print_summary(summary: DemoSummary) -> None:
    table = Table(title="Demo summary", show_header=False)
    found = summary.share_of_true_links_found
    rows = [
        ("Cases", f"{summary.cases:,} (true infections: {summary.true_infections:,})"),
        ("Contacts", f"{summary.contacts:,}"),
        ("Tasks due today", f"{summary.tasks_due_today:,}"),
        ("Tasks overdue", f"{summary.tasks_overdue:,}"),
        ("Tasks done", f"{summary.tasks_done:,}"),
        ("True links found by tracing",
         "n/a" if found is None else f"{found:.0%} ({summary.links_true} of {summary.true_links_between_cases})"),
        ("Links proposed (true)", f"{summary.links_recorded} ({summary.links_true})"),
        ("  of which from co-location (true)", f"{summary.links_colocation} ({summary.links_colocation_true})"),
        ("Venue records screened: contacts", f"{summary.venue_screenings} windows: {summary.venue_contacts:,} contacts"),
        ("Median days result to interview",
         "n/a" if summary.median_days_result_to_interview is None else f"{summary.median_days_result_to_interview:g}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)

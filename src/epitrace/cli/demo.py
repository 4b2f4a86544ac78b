"""`epitrace demo`: the whole pipeline on a synthetic outbreak."""

from __future__ import annotations

import shlex
from datetime import date, timedelta
from pathlib import Path

import typer


def demo(
    people: int = typer.Option(20_000, "--people", help="People in the synthetic city."),
    days: int = typer.Option(30, "--days", help="Days to simulate."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same outbreak, on SQLite and PostgreSQL."),
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for report.html (and the default database)."),
    database_url: str | None = typer.Option(
        None, "--database-url",
        help="Run on this empty database (migrated first; one holding data is refused), e.g. "
             "postgresql+psycopg://user@host/epitrace_demo. Default: a fresh SQLite file epitrace.db in --out."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app on the outbreak afterwards."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on."),
    port: int = typer.Option(8000, "--port", help="Port to serve on."),
) -> None:
    """Run the whole pipeline day by day on a synthetic outbreak, write demo/report.html, then serve the web app.

    Example:

    \b
        epitrace demo
        epitrace demo --people 5000 --days 21 --seed 7
        epitrace demo --database-url postgresql+psycopg://epitrace@localhost/epitrace_demo --no-serve
    """
    from epitrace.pipeline.demo import _serve, run_demo  # heavy imports only when the demo runs
    from epitrace.storage.db import make_engine
    from epitrace.synth import SynthConfig

    # Without --database-url, run_demo replaces the demo's own SQLite file (a second `make demo` starts afresh).
    run_demo(people=people, days=days, seed=seed, out=out, serve=False, database_url=database_url)
    url = database_url or f"sqlite:///{(out / 'epitrace.db').resolve()}"
    # The same "today" run_demo serves as: the outbreak's last simulated day.
    last_day = SynthConfig(people=people, days=days, seed=seed).start_date + timedelta(days=days - 1)
    typer.echo(environment_lines(url, last_day))
    if serve:
        _serve(make_engine(url), last_day=last_day, host=host, port=port)


def environment_lines(url: str, today: date) -> str:
    """What to paste into a shell so `epitrace` commands use the demo's database and date; a password in
    ``url`` is never printed (issue 11): it shows as ``***`` for the reader to put back."""
    from epitrace.storage.db import without_password

    shown = without_password(url)
    export = f"export EPITRACE_DATABASE_URL={shlex.quote(shown)}"
    if shown != url:
        export += "  # put the password back in place of ***"
    return "\n".join([
        "To use the command line on this outbreak, run in your shell:",
        export,
        f"export EPITRACE_TODAY={today.isoformat()}",
    ])

"""`epitrace demo`: the whole pipeline on a synthetic outbreak."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    people: int = typer.Option(20_000, "--people", help="People in the synthetic city."),
    days: int = typer.Option(30, "--days", help="Days to simulate."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same outbreak."),
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the database and report.html."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app on the outbreak afterwards."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on."),
    port: int = typer.Option(8000, "--port", help="Port to serve on."),
) -> None:
    """Run the whole pipeline day by day on a synthetic outbreak, write demo/report.html, then serve the web app.

    Example:

    \b
        epitrace demo
        epitrace demo --people 5000 --days 21 --seed 7
    """
    from epitrace.pipeline.demo import run_demo  # heavy imports only when the demo runs

    run_demo(people=people, days=days, seed=seed, out=out, serve=serve, host=host, port=port)

"""`epitrace colocate`, `links` and `clusters`: proposed transmission and its review."""

from __future__ import annotations

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, emit, engine
from epitrace.errors import InputError
from epitrace.storage import workbench as wb
from epitrace.storage.db import read_session, write_session
from epitrace.storage.links import list_clusters, review_link
from epitrace.storage.scope import EVERYWHERE

links_app = typer.Typer(help="Transmission links: list proposed links, confirm or reject them.")
clusters_app = typer.Typer(help="Clusters: places where several cases overlapped.")


def colocate_command(
    min_overlap_minutes: float = typer.Option(15, "--min-overlap-minutes", help="Least shared time that counts."),
) -> None:
    """Match every case's exposure windows against other cases' visits; propose links and clusters.

    Example:

    \b
        epitrace colocate
        epitrace links list --source co-location --format table
    """
    from epitrace.tracing.colocation import colocate_cases

    if min_overlap_minutes < 0:
        raise InputError(f"--min-overlap-minutes must be >= 0, got {min_overlap_minutes:g}")
    with write_session(engine()) as session:
        report = colocate_cases(session, min_overlap_s=int(round(min_overlap_minutes * 60)))
    console.print(
        f"{report.pairs} case pair(s) shared a place and time; {report.links_proposed} new link(s) proposed; "
        f"{report.clusters_touched} cluster(s) updated with {report.cases_added_to_clusters} new case(s). "
        "Review them with `epitrace links list` and `epitrace clusters list`."
    )


@links_app.command("list")
def links_list(
    source: str | None = typer.Option(None, "--source", help="contact tracing or co-location."),
    certainty: str | None = typer.Option(None, "--certainty", help="possible, probable, confirmed or rejected."),
    limit: int = typer.Option(200, "--limit", help="At most this many links."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List transmission links with their evidence.

    Example:

    \b
        epitrace links list --certainty probable --format table
    """
    with read_session(engine()) as session:
        links, _ = wb.list_links(session, EVERYWHERE, source=source, certainty=certainty, limit=limit)
    rows = [{"link": l["id"], **{k: v for k, v in l.items() if k != "id"}} for l in links]
    emit(rows, fmt, title="Transmission links")


def _review(link_id: int, decision: str) -> None:
    with write_session(engine()) as session:
        link = review_link(session, link_id, decision=decision, actor=cli_actor())
        console.print(f"Link {link.id} (case {link.infector_case_id} -> case {link.infectee_case_id}) is now {link.certainty}.")


@links_app.command("confirm")
def links_confirm(link_id: int = typer.Argument(help="Link id.")) -> None:
    """Accept a proposed link as confirmed (recorded with your name).

    Example:

    \b
        epitrace links confirm 17
    """
    _review(link_id, "confirm")


@links_app.command("reject")
def links_reject(link_id: int = typer.Argument(help="Link id.")) -> None:
    """Reject a proposed link (kept, marked rejected, with your name).

    Example:

    \b
        epitrace links reject 17
    """
    _review(link_id, "reject")


@clusters_app.command("list")
def clusters_list(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List clusters, largest first, with place, time span and evidence.

    Example:

    \b
        epitrace clusters list --format table
    """
    with read_session(engine()) as session:
        rows = [{"cluster": c.id, "place": name, "cases": n, "first_start": c.first_start, "last_end": c.last_end,
                 "status": c.status, "evidence": c.evidence} for c, name, n in list_clusters(session)]
    emit(rows, fmt, title="Clusters")

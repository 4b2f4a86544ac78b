"""`epitrace cases`, `visits`, `contacts`: investigation from the command line."""

from __future__ import annotations

import typer
from rich.text import Text

from epitrace import settings
from epitrace.cli._common import (
    FORMAT_OPTION,
    OutputFormat,
    cli_actor,
    console,
    emit,
    engine,
    parse_date,
    parse_datetime,
)
from epitrace.domain import limits
from epitrace.domain.identity import Identity
from epitrace.domain.statuses import CaseStatus
from epitrace.storage import workbench as wb
from epitrace.storage.db import write_session
from epitrace.storage.investigation import PlaceSpec, add_contact, add_visit, update_case, window_of_visit
from epitrace.storage.jurisdictions import get_jurisdiction
from epitrace.storage.scope import EVERYWHERE

cases_app = typer.Typer(help="Cases: list, show and record interview facts.")
visits_app = typer.Typer(help="Itinerary visits of a case (exposure windows follow).")
contacts_app = typer.Typer(help="Contacts named by a case (follow-up tasks follow).")


def more_than_shown(shown: int, total: int, offset: int, noun: str) -> None:
    """On stderr, when a list stops before the end: how many there are and how to see the rest (issue 9)."""
    if offset + shown < total:
        typer.echo(f"Showing {offset + 1}-{offset + shown} of {total} {noun}; the next page: --offset {offset + shown}",
                   err=True)


@cases_app.command("list")
def cases_list(
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", "-j", help="Only this jurisdiction and those below it."),
    status: str | None = typer.Option(None, "--status", help=f"Only this status: {', '.join(s.value for s in CaseStatus)}."),
    reported_from: str | None = typer.Option(None, "--reported-from", help="Results reported on or after this day (YYYY-MM-DD)."),
    reported_to: str | None = typer.Option(None, "--reported-to", help="Results reported on or before this day (YYYY-MM-DD)."),
    uninterviewed: bool = typer.Option(False, "--uninterviewed", help="Only cases not interviewed yet."),
    sort: str | None = typer.Option(None, "--sort", help=f"Order: {', '.join(s.value for s in wb.CaseSort)} (default newest)."),
    limit: int = typer.Option(100, "--limit", help=f"At most this many cases (1-{wb.MAX_PAGE})."),
    offset: int = typer.Option(0, "--offset", help="Skip this many first (the next page: --offset 100)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List cases, newest result first; says on stderr when there are more than shown.

    Example:

    \b
        epitrace cases list --jurisdiction D1 --status confirmed --uninterviewed --format table
    """
    with write_session(engine()) as session:
        found, total = wb.list_cases(session, EVERYWHERE, actor=cli_actor(), today=settings.today(), status=status,
                                     jurisdiction=jurisdiction, reported_from=parse_date(reported_from, option="--reported-from"),
                                     reported_to=parse_date(reported_to, option="--reported-to"),
                                     uninterviewed=uninterviewed, sort=sort, limit=limit, offset=offset)
    rows = [{"case_id": c["id"], "person_id": c["person"]["id"], "name": c["person"]["name"], "status": c["status"],
             "jurisdiction": c["jurisdiction"], "reported_on": c["reported_on"], "onset": c["onset"],
             "interviewed_on": c["interviewed_on"]} for c in found]
    emit(rows, fmt, title=f"Cases ({len(rows)} of {total})")
    more_than_shown(len(rows), total, offset, "case(s)")


@cases_app.command("show")
def cases_show(case_id: int = typer.Argument(help="Case id.")) -> None:
    """Show a case: infectious period, visits and windows, contacts, open tasks.

    Example:

    \b
        epitrace cases show 12
    """
    with write_session(engine()) as session:
        case = wb.case_detail(session, EVERYWHERE, case_id, actor=cli_actor())
    person = case["person"]
    console.print(Text.assemble((f"Case {case['id']}", "bold"),
                                f" {limits.terminal_text(person['name'])} (person {person['id']}, born "
                                f"{person['date_of_birth']}) — {case['status']}"))
    console.print(f"Reported {case['reported_on']}; specimen {case['specimen_date']}; onset {case['onset']}; "
                  f"isolation {case['isolation']}; interviewed {case['interviewed_on']}")
    if case["infectious_period"]:
        period = case["infectious_period"]
        console.print(f"Infectious {period['first_day']} to {period['last_day']} ({period['basis']})")
    emit([{"visit": v["id"], "place": v["place"], "kind": v["kind"], "start": v["start"], "end": v["end"],
           "window": v["window_id"]} for v in case["visits"]], OutputFormat.table, title="Visits and exposure windows")
    emit([{"contact": c["id"], "person": c["person"]["id"], "name": c["person"]["name"], "setting": c["setting"],
           "last_exposure": c["last_exposure"], "status": c["status"]} for c in case["contacts"]],
         OutputFormat.table, title="Contacts")
    emit([{"task": t["id"], "kind": t["kind"], "due": t["due_on"], "status": t["status"], "reason": t["reason"]}
          for t in case["tasks"]], OutputFormat.table, title="Case tasks")


@cases_app.command("update")
def cases_update(
    case_id: int = typer.Argument(help="Case id."),
    onset: str | None = typer.Option(None, "--onset", help="Symptom onset date, YYYY-MM-DD."),
    isolation: str | None = typer.Option(None, "--isolation", help="Date the case isolated, YYYY-MM-DD."),
    status: str | None = typer.Option(None, "--status", help="suspected, probable, confirmed or discarded."),
    interviewed: str | None = typer.Option(None, "--interviewed", help="Date of the interview; closes the interview task."),
) -> None:
    """Record interview facts for a case; exposure windows are derived again.

    Example:

    \b
        epitrace cases update 12 --onset 2026-03-09 --isolation 2026-03-12 --interviewed 2026-03-13
    """
    with write_session(engine()) as session:
        case = update_case(
            session, case_id, actor=cli_actor(),
            onset=parse_date(onset, option="--onset"), isolation=parse_date(isolation, option="--isolation"),
            status=status, interviewed_on=parse_date(interviewed, option="--interviewed"), today=settings.today(),
        )
        console.print(f"Updated case {case.id}.")


@visits_app.command("add")
def visits_add(
    case_id: int = typer.Argument(help="Case id."),
    place: str = typer.Option(..., "--place", help="Place name, e.g. 'Blue Door Café'."),
    kind: str = typer.Option("venue", "--kind", help="home, work, school, venue or other."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude in degrees."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude in degrees."),
    start: str = typer.Option(..., "--start", help="Arrival, ISO-8601 with offset."),
    end: str = typer.Option(..., "--end", help="Departure, ISO-8601 with offset."),
    source: str = typer.Option("interview", "--source", help="interview, check-in or trail."),
    confirm: bool = typer.Option(False, "--confirm", help="Record an unusual visit (longer than 24 hours) anyway."),
) -> None:
    """Add a visit to a case's itinerary.

    Example:

    \b
        epitrace visits add 12 --place "Blue Door Café" --lat 52.37 --lon 4.89 \\
            --start 2026-03-10T18:00+01:00 --end 2026-03-10T20:00+01:00
    """
    with write_session(engine()) as session:
        visit = add_visit(
            session, case_id, PlaceSpec(name=place, kind=kind, lat=lat, lon=lon),
            start=parse_datetime(start, option="--start"), end=parse_datetime(end, option="--end"),
            source=source, actor=cli_actor(), confirmed=confirm,
        )
        window = window_of_visit(session, visit.id)
        note = (f"exposure window {window.id}: {window.start_at} to {window.end_at} UTC" if window
                else "outside the infectious period, so no exposure window")
        console.print(f"Added visit {visit.id} to case {case_id}; {note}.")


@contacts_app.command("add")
def contacts_add(
    case_id: int = typer.Argument(help="Id of the case who named the contact."),
    given_name: str = typer.Option(..., "--given-name", help="Contact's given name."),
    family_name: str = typer.Option(..., "--family-name", help="Contact's family name."),
    dob: str | None = typer.Option(None, "--dob", help="Date of birth, YYYY-MM-DD, if known."),
    phone: str | None = typer.Option(None, "--phone", help="Phone number, if known."),
    national_id: str | None = typer.Option(None, "--national-id", help="National id, if known."),
    setting: str = typer.Option(..., "--setting", help="household, work, school, venue, ..."),
    relationship: str | None = typer.Option(None, "--relationship", help="e.g. partner, colleague."),
    last_exposure: str = typer.Option(..., "--last-exposure", help="Last day of contact, YYYY-MM-DD."),
    identified_on: str | None = typer.Option(None, "--on", help="Day the contact was identified (default today)."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="Contact's jurisdiction (default the case's)."),
    confirm: bool = typer.Option(False, "--confirm", help="Record a last exposure outside the case's infectious period anyway."),
) -> None:
    """Record a contact named by a case; follow-up tasks are created with due dates and reasons.

    Example:

    \b
        epitrace contacts add 12 --given-name Ana --family-name Silva --dob 1990-04-02 \\
            --setting household --last-exposure 2026-03-11
    """
    with write_session(engine()) as session:
        jurisdiction_id = get_jurisdiction(session, jurisdiction).id if jurisdiction else None
        outcome = add_contact(
            session, case_id,
            Identity(given_name, family_name, parse_date(dob, option="--dob"), phone, national_id),
            setting=setting, relationship=relationship,
            last_exposure=parse_date(last_exposure, option="--last-exposure"),  # type: ignore[arg-type]
            identified_on=parse_date(identified_on, option="--on") or settings.today(),
            actor=cli_actor(), jurisdiction_id=jurisdiction_id, confirmed=confirm,
        )
        c = outcome.contact
        if not outcome.created:
            console.print(f"Person {c.person_id} is already contact {c.id} of case {case_id}; last exposure now {c.last_exposure_on}.")
        elif c.status == "became_case":
            console.print(f"Recorded contact {c.id} (person {c.person_id}), who is already a case: a transmission link was proposed.")
        elif outcome.tasks == 0:
            console.print(f"Recorded contact {c.id} (person {c.person_id}), already followed up for another case: "
                          "their schedule now names this exposure too.")
        else:
            console.print(f"Recorded contact {c.id} (person {c.person_id}) with {outcome.tasks} follow-up task(s).")

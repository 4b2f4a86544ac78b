"""`epitrace import labs`: lab results from CSV, all or nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from epitrace import settings
from epitrace.cli._common import cli_actor, echo, engine
from epitrace.errors import ImportRejected, InputError
from epitrace.intake.labs import LabFile, import_lab_file, read_lab_csv, write_errors_csv
from epitrace.storage.db import savepoint, write_session
from epitrace.storage.labs import LabImportReport

import_app = typer.Typer(help="Import data files (lab results).")
MAX_ERRORS_SHOWN = 20


@import_app.command("labs")
def import_labs(
    file: Path = typer.Argument(help="CSV file of lab results (UTF-8, one row per result)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report what would change; write nothing."),
) -> None:
    """Import lab results from CSV; if any row is invalid nothing is written.

    Columns: lab_id, specimen_id, collected_on, resulted_on, result, test_type, given_name,
    family_name, date_of_birth, sex, phone, national_id, address, jurisdiction_code.
    Errors go to FILE.errors.csv (row, column, value, reason) and the command exits 1.

    Example:

    \b
        epitrace import labs results-2026-03-14.csv --dry-run
        epitrace import labs results-2026-03-14.csv
    """
    if not file.is_file():
        raise InputError(f"lab file {str(file)!r} does not exist or is not a file; check the path")
    data = file.read_bytes()
    errors_path = Path(f"{file}.errors.csv")
    try:
        lab_file = read_lab_csv(data, source=file.name)
        report = _import(lab_file, source=str(file), sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    except ImportRejected as rejected:
        _reject(rejected, errors_path, again="import the file again", dry_run=dry_run)
    echo(describe_report(report, source=file.name, dry_run=dry_run))
    if errors_path.exists():
        if dry_run:  # a dry run writes nothing, and deletes nothing either
            echo(f"{errors_path} is from an earlier attempt; it is removed when the file is imported.", err=True)
        else:
            errors_path.unlink()  # stale list from an earlier failed attempt


def _reject(rejected: ImportRejected, errors_path: Path, *, again: str, dry_run: bool = False) -> None:
    """Print the problems and exit 1; all of them go to FILE.errors.csv, or (dry run) all to stderr."""
    echo(f"Error: {rejected.message}", err=True)
    if dry_run:
        for error in rejected.errors:
            echo(f"  {error}", err=True)
        echo(f"Dry run: nothing was written; without --dry-run these problems would also be written to "
                   f"{errors_path}. Fix them and {again}.", err=True)
        raise typer.Exit(1)
    for error in rejected.errors[:MAX_ERRORS_SHOWN]:
        echo(f"  {error}", err=True)
    try:
        write_errors_csv(str(errors_path), rejected.errors)
    except OSError as exc:
        for error in rejected.errors[MAX_ERRORS_SHOWN:]:
            echo(f"  {error}", err=True)
        echo(f"Could not write the list of problems to {errors_path} ({exc.strerror or exc}); all are listed "
                   f"above. Fix them and {again}.", err=True)
        raise typer.Exit(1) from None
    if len(rejected.errors) > MAX_ERRORS_SHOWN:
        echo(f"  ... and {len(rejected.errors) - MAX_ERRORS_SHOWN} more", err=True)
    echo(f"All problems are listed in {errors_path}; fix them and {again}.", err=True)
    raise typer.Exit(1)


def _import(lab_file: LabFile, *, source: str, sha256: str, dry_run: bool) -> LabImportReport:
    db = engine()
    try:
        with write_session(db) as session, savepoint(session, keep=not dry_run):
            return import_lab_file(session, lab_file, sha256=sha256, actor=cli_actor(), source=source)
    finally:
        db.dispose()  # the last connection closing lets SQLite remove its -wal and -shm files


def describe_report(report: LabImportReport, *, source: str, dry_run: bool) -> str:
    """The summary line(s) a person reads after an import."""
    if report.imported == 0:
        return (
            f"Nothing to import from {source}: all {report.rows} row(s) were imported before "
            "(same lab_id and specimen_id, same content). The database is unchanged."
        )
    verb = "Would import" if dry_run else "Imported"
    results = ", ".join(f"{n} {kind}" for kind, n in sorted(report.new_results.items()))
    lines = [f"{verb} {report.imported} result(s) from {source} ({results})."]
    if report.already_imported:
        lines.append(f"{report.already_imported} row(s) were already imported and are unchanged.")
    lines.append(
        f"New persons: {report.new_persons}. New cases: {report.new_cases}; positives joining an open case: "
        f"{report.joined_cases}; contacts who became cases: {report.contacts_became_cases}; "
        f"contact tests closed: {report.tests_closed}."
    )
    if report.merge_candidates:
        lines.append(
            f"{report.merge_candidates} possible duplicate person(s) found: review them with "
            "`epitrace persons duplicates`."
        )
    if dry_run:
        lines.append("Dry run: nothing was written.")
    return "\n".join(lines)


@import_app.command("venue-records")
def import_venue_records(
    file: Path = typer.Argument(help="The venue's check-in records, CSV: given_name, family_name, phone, check_in, check_out."),
    window: int = typer.Option(..., "--window", help="Id of the exposure window to screen against."),
    legal_basis: str = typer.Option(..., "--legal-basis", help="The law or order allowing use of these records."),
    min_overlap_minutes: float = typer.Option(15, "--min-overlap-minutes", help="Least time within the window that counts."),
    on: str | None = typer.Option(None, "--on", help="Day the contacts are identified (default today)."),
) -> None:
    """Screen a venue's records against one exposure window; matching visitors become contacts.

    Only visitors overlapping the window become contacts, with follow-up tasks and the reason;
    all other records are discarded, not stored. The legal basis, the file's hash and the counts
    are recorded. If any row is invalid nothing is written (errors in FILE.errors.csv).

    Example:

    \b
        epitrace import venue-records blue-door-checkins.csv --window 12 \\
            --legal-basis "Public Health Act s.12; order 2026-031"
    """

    from epitrace.cli._common import parse_date
    from epitrace.tracing.venue_records import screen_venue_records

    if not file.is_file():
        raise InputError(f"venue records file {str(file)!r} does not exist or is not a file; check the path")
    if min_overlap_minutes < 0:
        raise InputError(f"--min-overlap-minutes must be >= 0, got {min_overlap_minutes:g}")
    identified_on = parse_date(on, option="--on") or settings.today()
    errors_path = Path(f"{file}.errors.csv")
    try:
        with write_session(engine()) as session:
            report = screen_venue_records(
                session, file.read_bytes(), source=file.name, window_id=window, legal_basis=legal_basis,
                identified_on=identified_on, actor=cli_actor(), min_overlap_s=int(round(min_overlap_minutes * 60)),
            )
    except ImportRejected as rejected:
        _reject(rejected, errors_path, again="screen the file again")
    echo(
        f"Screened {report.rows} record(s) from {file.name} against window {report.window_id} ({report.place}): "
        f"{report.matched} overlapped it and became contacts ({report.new_contacts} new); the other "
        f"{report.rows - report.matched - report.own_records} were discarded, not stored"
        + (", as was the case's own record" if report.own_records else "")
        + f". Screening {report.screening_id} records the legal basis."
    )

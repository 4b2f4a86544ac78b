"""`epitrace profiles`: the rules of each disease (infectious period, follow-up)."""

from __future__ import annotations

from dataclasses import asdict

import typer

from epitrace.cli._common import FORMAT_OPTION, OutputFormat, console, emit, engine
from epitrace.storage.db import read_session, write_session
from epitrace.storage.profiles import add_profile, list_profiles, set_profile_rules

profiles_app = typer.Typer(help="Disease profiles: infectious-period and follow-up rules per disease.")


def _rules(**values: int | None) -> dict[str, int]:
    return {k: v for k, v in values.items() if v is not None}


RULE_OPTIONS = {
    "infectious_days_before": "Infectious period starts this many days before onset (or specimen date).",
    "infectious_days_after": "...and ends at the latest this many days after it (inclusive).",
    "interview_within_days": "Interview a new case within this many days of the result.",
    "notify_within_days": "Tell a contact within this many days of being identified.",
    "test_within_days": "Test a contact within this many days of being identified.",
    "symptom_check_days": "Daily symptom checks until this many days after the last exposure.",
    "incubation_min_days": "Shortest exposure-to-specimen time for a plausible link.",
    "incubation_max_days": "Longest exposure-to-specimen time for a plausible link.",
}


@profiles_app.command("list")
def profiles_list(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List disease profiles and their rules.

    Example:

    \b
        epitrace profiles list --format table
    """
    with read_session(engine()) as session:
        rows = [asdict(p) for p in list_profiles(session)]
    emit(rows, fmt, title="Disease profiles")


@profiles_app.command("set")
def profiles_set(
    name: str = typer.Argument(help="Profile name, e.g. respiratory."),
    infectious_days_before: int | None = typer.Option(None, help=RULE_OPTIONS["infectious_days_before"]),
    infectious_days_after: int | None = typer.Option(None, help=RULE_OPTIONS["infectious_days_after"]),
    interview_within_days: int | None = typer.Option(None, help=RULE_OPTIONS["interview_within_days"]),
    notify_within_days: int | None = typer.Option(None, help=RULE_OPTIONS["notify_within_days"]),
    test_within_days: int | None = typer.Option(None, help=RULE_OPTIONS["test_within_days"]),
    symptom_check_days: int | None = typer.Option(None, help=RULE_OPTIONS["symptom_check_days"]),
    incubation_min_days: int | None = typer.Option(None, help=RULE_OPTIONS["incubation_min_days"]),
    incubation_max_days: int | None = typer.Option(None, help=RULE_OPTIONS["incubation_max_days"]),
    create: bool = typer.Option(False, "--create", help="Add a new profile; rules not given take the respiratory defaults."),
) -> None:
    """Change the rules of a profile (or add one with --create); planned tasks stay as they are.

    Example:

    \b
        epitrace profiles set respiratory --test-within-days 2
        epitrace profiles set measles --create --infectious-days-before 4 --infectious-days-after 4
    """
    rules = _rules(**{k: v for k, v in locals().items() if k not in ("name", "create")})
    with write_session(engine()) as session:
        if create:
            add_profile(session, name, **rules)
            console.print(f"Added profile {name}.")
            return
        profile = set_profile_rules(session, name, **rules)
    console.print(f"Profile {name}: " + ", ".join(f"{k}={getattr(profile, k)}" for k in rules) + ".")

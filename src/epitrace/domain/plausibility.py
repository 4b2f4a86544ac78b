"""Plausibility of the dates a tracer types: one place for every rule, each message naming the value.

Impossible values (a date in the future, a symptom before birth) are refused with
:class:`~epitrace.errors.RuleViolation`. Unusual but possible ones (a last exposure outside the
case's infectious period, a visit longer than a day) raise
:class:`~epitrace.errors.NeedsConfirmation` unless the caller says the tracer confirmed them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from epitrace.domain import limits
from epitrace.domain.periods import InfectiousPeriod
from epitrace.errors import NeedsConfirmation, RuleViolation

OLDEST_AGE_YEARS = 120
"""A date of birth further back than this is a typing mistake."""
ONSET_BEFORE_SPECIMEN_DAYS = 30
"""Symptoms that began longer than this before the specimen belong to another illness."""
ONSET_AFTER_SPECIMEN_DAYS = 30
"""Symptoms that began longer than this after the specimen are not this infection's."""
LONGEST_VISIT = timedelta(hours=24)
"""An itinerary visit longer than this is usually a mistyped date."""
CONFIRM_HINT = ("if that is right, confirm it (tick \"This is correct\" on the form, `--confirm` on the command "
                "line, or \"confirm\": true in the API)")


def _iso(day: date) -> str:
    return day.isoformat()


def not_in_future(label: str, day: date | None, *, today: date) -> None:
    """Refuse a date after ``today``: what is recorded has already happened (and one outside the
    dates epitrace stores, ``limits.FIRST_DATE`` to ``LAST_DATE``)."""
    limits.day(label, day)
    if day is not None and day > today:
        raise RuleViolation(f"{label} {_iso(day)} is in the future (today is {_iso(today)}): "
                            "record the date it happened")


def birth_date(day: date | None, *, today: date) -> None:
    """A date of birth is not in the future and not more than 120 years ago."""
    not_in_future("date of birth", day, today=today)
    if day is not None and day < today.replace(year=today.year - OLDEST_AGE_YEARS):
        raise RuleViolation(f"date of birth {_iso(day)} is more than {OLDEST_AGE_YEARS} years ago: check the year")


def case_dates(*, onset: date | None, isolation: date | None, interviewed_on: date | None, specimen: date | None,
               born: date | None, today: date) -> None:
    """The interview facts of a case: none in the future, none before birth, onset near the specimen.

    Examples
    --------
    >>> case_dates(onset=date(2026, 3, 9), isolation=None, interviewed_on=None, specimen=date(2026, 3, 10),
    ...            born=None, today=date(2026, 3, 14))
    >>> case_dates(onset=date(1900, 1, 1), isolation=None, interviewed_on=None, specimen=date(2026, 3, 10),
    ...            born=None, today=date(2026, 3, 14))
    Traceback (most recent call last):
    ...
    epitrace.errors.RuleViolation: onset 1900-01-01 is 46089 days before the specimen date 2026-03-10; symptoms that began more than 30 days before the test are not this infection's: check the year and month
    """
    for label, day in (("onset", onset), ("isolation date", isolation), ("interview date", interviewed_on)):
        not_in_future(label, day, today=today)
        if day is not None and born is not None and day < born:
            raise RuleViolation(f"{label} {_iso(day)} is before the person was born ({_iso(born)}): check the year")
    if onset is not None and specimen is not None:
        if onset < specimen - timedelta(days=ONSET_BEFORE_SPECIMEN_DAYS):
            raise RuleViolation(
                f"onset {_iso(onset)} is {(specimen - onset).days} days before the specimen date {_iso(specimen)}; "
                f"symptoms that began more than {ONSET_BEFORE_SPECIMEN_DAYS} days before the test are not this "
                "infection's: check the year and month")
        if onset > specimen + timedelta(days=ONSET_AFTER_SPECIMEN_DAYS):
            raise RuleViolation(
                f"onset {_iso(onset)} is more than {ONSET_AFTER_SPECIMEN_DAYS} days after the specimen date "
                f"{_iso(specimen)}; check the year and month")
    if interviewed_on is not None and specimen is not None and interviewed_on < specimen:
        raise RuleViolation(f"interview date {_iso(interviewed_on)} is before the specimen was taken "
                            f"({_iso(specimen)}): a case is interviewed after the test")


def last_exposure(day: date, *, identified_on: date, period: InfectiousPeriod | None, confirmed: bool = False) -> None:
    """A contact's last exposure is not after the day they were identified, and within the infectious period."""
    limits.day("last exposure", day)
    limits.day("identified on", identified_on)
    if day > identified_on:
        raise RuleViolation(f"last exposure {_iso(day)} is after the contact was identified ({_iso(identified_on)}): "
                            "give the last day they were together, which has already happened")
    if period is not None and not confirmed and not period.first_day <= day <= period.last_day:
        raise NeedsConfirmation(
            f"last exposure {_iso(day)} is outside the case's infectious period "
            f"({_iso(period.first_day)} to {_iso(period.last_day)}), so it may not be an exposure; {CONFIRM_HINT}")


def visit_times(start: datetime, end: datetime, *, now: datetime, confirmed: bool = False) -> None:
    """An itinerary visit ends after it starts, not in the future, and lasts at most a day unless confirmed."""
    limits.day("visit start", start)
    limits.day("visit end", end)
    if end <= start:
        raise RuleViolation(f"visit end {end.isoformat()} is not after its start {start.isoformat()}: "
                            "visits are [start, end) with end later than start")
    if end > now:
        raise RuleViolation(f"visit end {end.isoformat()} is in the future (now is {now.isoformat(timespec='minutes')}): "
                            "record visits that have happened")
    if end - start > LONGEST_VISIT and not confirmed:
        hours = (end - start).total_seconds() / 3600
        raise NeedsConfirmation(f"the visit from {start.isoformat()} to {end.isoformat()} lasts {hours:.0f} hours, "
                                f"more than {LONGEST_VISIT.total_seconds() / 3600:.0f}; {CONFIRM_HINT}")

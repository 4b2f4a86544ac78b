"""The infectious-period rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from epitrace.domain.profiles import DiseaseProfile
from epitrace.errors import RuleViolation


@dataclass(frozen=True)
class InfectiousPeriod:
    """Whole days ``[first_day, last_day]``; as instants, ``[start, end)`` in UTC."""

    first_day: date
    last_day: date
    basis: str
    """Why these dates, in words (shown to tracers and kept with every window)."""

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=timezone.utc)


def infectious_period(
    profile: DiseaseProfile,
    *,
    onset: date | None,
    specimen: date | None,
    isolation: date | None = None,
) -> InfectiousPeriod:
    """Infectious period of a case under ``profile``.

    Starts ``infectious_days_before`` days before the earlier of symptom onset and the specimen
    date (a case tested before their symptoms began was already infectious on the specimen day),
    or before the specimen date when there is no onset (asymptomatic). Ends on the isolation date
    or ``infectious_days_after`` days after onset (specimen date when there is none), whichever is
    earlier; the last day is included because a case isolating on a day may have met people
    earlier that day.

    Examples
    --------
    >>> from epitrace.domain.profiles import RESPIRATORY
    >>> p = infectious_period(RESPIRATORY, onset=date(2026, 3, 10), specimen=date(2026, 3, 12))
    >>> p.first_day, p.last_day
    (datetime.date(2026, 3, 8), datetime.date(2026, 3, 20))
    >>> p = infectious_period(RESPIRATORY, onset=date(2026, 3, 12), specimen=date(2026, 3, 10))
    >>> p.first_day, p.last_day
    (datetime.date(2026, 3, 8), datetime.date(2026, 3, 22))
    """
    if onset is not None:
        anchor, anchor_name = onset, f"symptom onset {onset.isoformat()}"
    elif specimen is not None:
        anchor, anchor_name = specimen, f"specimen date {specimen.isoformat()} (no onset recorded)"
    else:
        raise RuleViolation("an infectious period needs an onset date or a specimen date, got neither")
    start_from, start_name = anchor, anchor_name
    if onset is not None and specimen is not None and specimen < onset:
        start_from, start_name = specimen, f"specimen date {specimen.isoformat()}, which came before symptom onset"
    first_day = start_from - timedelta(days=profile.infectious_days_before)
    last_day = anchor + timedelta(days=profile.infectious_days_after)
    end_reason = f"{profile.infectious_days_after} days after " + ("it" if start_from == anchor else anchor_name)
    if isolation is not None and isolation < last_day:
        if isolation < first_day:
            raise RuleViolation(
                f"isolation date {isolation.isoformat()} is before the infectious period starts "
                f"({first_day.isoformat()}); check the onset, specimen and isolation dates"
            )
        last_day, end_reason = isolation, f"isolation on {isolation.isoformat()}"
    basis = f"{profile.name} profile: from {profile.infectious_days_before} days before {start_name} until {end_reason}"
    return InfectiousPeriod(first_day=first_day, last_day=last_day, basis=basis)


def clip_to_period(
    start: datetime, end: datetime, period: InfectiousPeriod
) -> tuple[datetime, datetime] | None:
    """The part of ``[start, end)`` inside the period, or None when they do not overlap."""
    lo, hi = max(start, period.start), min(end, period.end)
    return (lo, hi) if lo < hi else None

"""The tracing team's days on a synthetic outbreak: every step goes through the real code paths.

Results arrive and are imported as lab files would be; tracers interview new cases (what the case
remembers comes from the synthetic city); contacts are notified, tested and checked for symptoms
with realistic compliance; their results come back through intake and close the loop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from epitrace.domain.identity import Identity
from epitrace.domain.periods import infectious_period
from epitrace.domain.statuses import TaskKind
from epitrace.intake.labs import LAB_COLUMNS, validate_lab_records
from epitrace.storage import simulated_team as team
from epitrace.storage.audit import Actor
from epitrace.storage.cases import profile_of
from epitrace.storage.db import write_session
from epitrace.storage.investigation import PlaceSpec, VisitSpec, add_contact, add_visits, update_case
from epitrace.storage.labs import LabImportReport, import_lab_rows
from epitrace.storage.models import Case
from epitrace.tracing.colocation import colocate_cases
from epitrace.tracing.venue_records import screen_venue_records

TRACER = Actor(name="demo:tracer", purpose="outbreak investigation (synthetic demo)")


@dataclass(frozen=True)
class TeamBehaviour:
    """How the simulated tracing team and the public behave (probabilities per day)."""

    interview_per_day: float = 0.7
    """Chance an uninterviewed case is reached on a given day."""
    notify_per_day: float = 0.85
    contact_tests: float = 0.8
    """Share of contacts who get tested."""
    test_within_days: int = 3
    symptom_check_answered: float = 0.85
    venue_records: float = 0.3
    """Share of a case's venue windows for which the venue's check-in records are obtained."""


@dataclass
class DayLog:
    """What happened on one simulated day."""

    day: date
    imported: int = 0
    new_cases: int = 0
    interviews: int = 0
    new_contacts: int = 0
    venue_contacts: int = 0
    colocation_links: int = 0


@dataclass
class Simulation:
    """State of a demo run: the outbreak, the database, and the synthetic-to-stored id map."""

    outbreak: Any
    engine: Engine
    behaviour: TeamBehaviour = field(default_factory=TeamBehaviour)
    seed: int = 1
    person_truth: dict[int, int] = field(default_factory=dict)
    """Stored person id -> synthetic person id (ground truth; never used for decisions)."""
    pending_results: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    log: list[DayLog] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed + 7919)
        people = self.outbreak.people
        self.phone_owner = dict(zip(people["phone"].to_list(), people["person_id"].to_list(), strict=True))
        reports = self.outbreak.lab_reports
        self.reports_by_day: dict[int, list[dict]] = defaultdict(list)
        for record in reports.iter_rows(named=True):
            self.reports_by_day[int(record["day"])].append(record)

    def date_of(self, day: int) -> date:
        return self.outbreak.start_date + timedelta(days=day)

    def run_day(self, day: int) -> DayLog:
        """Simulate one day: results in, interviews, contact follow-up."""
        entry = DayLog(self.date_of(day))
        records = self.reports_by_day.get(day, []) + self.pending_results.pop(day, [])
        with write_session(self.engine) as session:
            if records:
                report = self._import(session, records, day)
                entry.imported, entry.new_cases = report.imported, report.new_cases
            interviewed = self._interview(session, day)
            entry.interviews = len(interviewed)
            entry.new_contacts = sum(n for _, n in interviewed)
            entry.venue_contacts = self._screen_venues(session, [case for case, _ in interviewed], day)
            entry.colocation_links = colocate_cases(session).links_proposed
            self._follow_up(session, day)
        self.log.append(entry)
        return entry

    def _import(self, session: Session, records: list[dict], day: int) -> LabImportReport:
        texts = [
            (i + 2, {c: ("" if r[c] is None else str(r[c])) for c in LAB_COLUMNS}, None)
            for i, r in enumerate(records)
        ]
        rows, errors = validate_lab_records(texts, today=self.date_of(day))
        if errors:  # the synthetic labs only write valid rows; anything else is a bug here
            raise RuntimeError(f"synthetic lab rows failed validation: {errors[:3]}")
        report = import_lab_rows(session, rows, source=f"synthetic-labs-day-{day}", sha256="synthetic", actor=TRACER)
        truth = {(r["lab_id"], r["specimen_id"]): int(r["person_id"]) for r in records}
        for lab_id, specimen_id, person_id in team.persons_of_specimens(session, [k[1] for k in truth]):
            if (lab_id, specimen_id) in truth:
                self.person_truth[person_id] = truth[(lab_id, specimen_id)]
        return report

    def _interview(self, session: Session, day: int) -> list[tuple[Case, int]]:
        today = self.date_of(day)
        waiting = team.cases_awaiting_interview(session, created_before=today)
        done = []
        for case in waiting:
            if self.rng.random() > self.behaviour.interview_per_day:
                continue
            synthetic_id = self.person_truth.get(case.person_id)
            if synthetic_id is None:
                continue
            done.append((case, self._interview_case(session, case, synthetic_id, day)))
        return done

    def _screen_venues(self, session: Session, cases: list[Case], day: int) -> int:
        """For some venue windows of today's interviews, the venue's own records are screened."""
        today = self.date_of(day)
        windows = team.venue_windows(session, [c.id for c in cases])
        found = 0
        for window, place in windows:
            if self.rng.random() > self.behaviour.venue_records or not (place.external_ref or "").startswith("synth-place-"):
                continue
            start = int(window.start_at.replace(tzinfo=timezone.utc).timestamp())
            end = int(window.end_at.replace(tzinfo=timezone.utc).timestamp())
            records = self.outbreak.venue_checkins(int(place.external_ref.removeprefix("synth-place-")), since=start, until=end)
            if records.is_empty():
                continue
            report = screen_venue_records(
                session, _records_csv(records), source=f"synthetic check-ins of {place.name}", window_id=window.id,
                legal_basis="Synthetic demo: fictional public health order 2026-001", identified_on=today, actor=TRACER,
            )
            for person_id, phone in team.screened_contact_phones(session, report.screening_id):
                synthetic_id = self.phone_owner.get(phone or "")
                if synthetic_id is not None:
                    self.person_truth.setdefault(person_id, synthetic_id)
                    self._schedule_test(synthetic_id, day)
            found += report.new_contacts
        return found

    def _interview_case(self, session: Session, case: Case, synthetic_id: int, day: int) -> int:
        today = self.date_of(day)
        onset = self.outbreak.symptom_onset(synthetic_id)
        if onset is not None and onset > today:
            onset = None  # not yet ill on the day of the interview
        anchor = onset or case.specimen_date
        profile = profile_of(session, case)
        first_day = anchor - timedelta(days=profile.infectious_days_before)
        isolation = case.reported_on if case.reported_on >= first_day else None
        update_case(session, case.id, actor=TRACER, onset=onset, isolation=isolation, interviewed_on=today, today=today)
        period = infectious_period(profile, onset=onset, specimen=case.specimen_date, isolation=isolation)
        until = min(period.end, datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc))
        story = self.outbreak.interview(
            synthetic_id, since=int(period.start.timestamp()), until=int(until.timestamp())
        )
        visits = [
            VisitSpec(
                PlaceSpec(name=v.place_name, kind=v.kind, lat=float(v.lat), lon=float(v.lon), external_ref=f"synth-place-{v.place_id}"),
                datetime.fromtimestamp(int(v.start), timezone.utc),
                datetime.fromtimestamp(int(v.end), timezone.utc),
            )
            for v in story.visits
        ]
        if visits:
            add_visits(session, case.id, visits, actor=TRACER, now=until, confirmed=True)
        named = 0
        for c in story.contacts:
            last_exposure = min(c.last_exposure, today)
            outcome = add_contact(
                session, case.id,
                Identity(c.given_name, c.family_name, c.date_of_birth, c.phone),
                setting=c.setting, last_exposure=last_exposure, identified_on=today, actor=TRACER, confirmed=True,
            )
            self.person_truth.setdefault(outcome.contact.person_id, int(c.person_id))
            if outcome.created and outcome.tasks:
                named += 1
                self._schedule_test(int(c.person_id), day)
        return named

    def _schedule_test(self, synthetic_id: int, day: int) -> None:
        if self.rng.random() > self.behaviour.contact_tests:
            return
        collected = day + int(self.rng.integers(0, self.behaviour.test_within_days + 1))
        resulted = collected + 1
        if resulted >= self.outbreak.config.days:
            return
        result = self.outbreak.test_result(synthetic_id, collected_day=collected)
        row = self.outbreak.lab_row(synthetic_id, collected_day=collected, resulted_day=resulted, result=result)
        self.pending_results[resulted].append(row)

    def _follow_up(self, session: Session, day: int) -> None:
        """Notifications and symptom checks due today are done (or missed) by the team."""
        today = self.date_of(day)
        done = []
        for task in team.due_follow_up(session, today=today):
            if task.kind == TaskKind.NOTIFY.value:
                if self.rng.random() < self.behaviour.notify_per_day:
                    done.append((task, "told by phone"))
            elif task.due_on == today and self.rng.random() < self.behaviour.symptom_check_answered:
                synthetic_id = self.person_truth.get(task.person_id)
                onset = self.outbreak.symptom_onset(synthetic_id) if synthetic_id is not None else None
                done.append((task, "symptoms reported" if onset is not None and onset <= today else "no symptoms"))
        team.complete_tasks(session, done, on=today, actor=TRACER)


def _records_csv(records) -> bytes:  # type: ignore[no-untyped-def]
    """A venue's check-in list as the CSV it would send (times as ISO-8601 UTC)."""
    as_text = records.select(
        "given_name", "family_name", "phone", pl.col("date_of_birth").cast(pl.String),
        pl.from_epoch("check_in", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("check_in"),
        pl.from_epoch("check_out", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("check_out"),
    )
    return as_text.write_csv().encode()

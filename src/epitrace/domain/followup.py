"""Follow-up rules: which tasks a new case or contact gets, when they are due, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from epitrace.domain.profiles import DiseaseProfile
from epitrace.domain.statuses import TaskKind
from epitrace.errors import RuleViolation


@dataclass(frozen=True)
class PlannedTask:
    """A task to create: what, by when, and the reason given to the person and the tracer."""

    kind: TaskKind
    due_on: date
    reason: str


def interview_task(profile: DiseaseProfile, *, result_on: date, evidence: str) -> PlannedTask:
    """The investigation task a new case gets in its jurisdiction's queue."""
    due = result_on + timedelta(days=profile.interview_within_days)
    return PlannedTask(
        TaskKind.INTERVIEW,
        due,
        f"{evidence}; interview within {profile.interview_within_days} day(s) of the result "
        f"(by {due.isoformat()})",
    )


def contact_tasks(
    profile: DiseaseProfile,
    *,
    identified_on: date,
    last_exposure: date,
    exposure: str,
) -> list[PlannedTask]:
    """Tasks for a newly identified contact.

    One notification (due within ``notify_within_days``), one test (due within
    ``test_within_days`` of being identified) and a daily symptom check from the day after
    identification until ``symptom_check_days`` after the last exposure. ``exposure`` says in
    words where and when the contact was exposed; every reason repeats it so the person can learn
    why they are asked.

    Examples
    --------
    >>> from epitrace.domain.profiles import RESPIRATORY
    >>> plan = contact_tasks(RESPIRATORY, identified_on=date(2026, 3, 10),
    ...                      last_exposure=date(2026, 3, 8), exposure="household contact of case 7")
    >>> [(t.kind.value, t.due_on.isoformat()) for t in plan[:2]]
    [('notify', '2026-03-11'), ('test', '2026-03-13')]
    >>> len(plan) - 2  # symptom checks 11 March .. 22 March
    12
    """
    if last_exposure > identified_on:
        raise RuleViolation(
            f"last exposure {last_exposure.isoformat()} is after the contact was identified "
            f"({identified_on.isoformat()}); a contact cannot be identified before the exposure"
        )
    notify_due = identified_on + timedelta(days=profile.notify_within_days)
    test_due = identified_on + timedelta(days=profile.test_within_days)
    checks_until = last_exposure + timedelta(days=profile.symptom_check_days)
    plan = [
        PlannedTask(TaskKind.NOTIFY, notify_due, f"Tell the contact they were exposed: {exposure}"),
        PlannedTask(
            TaskKind.TEST,
            test_due,
            f"Test within {profile.test_within_days} days of being identified "
            f"(by {test_due.isoformat()}) because of exposure: {exposure}",
        ),
    ]
    day = identified_on + timedelta(days=1)
    while day <= checks_until:
        plan.append(
            PlannedTask(
                TaskKind.SYMPTOM_CHECK,
                day,
                f"Daily symptom check until {checks_until.isoformat()} "
                f"({profile.symptom_check_days} days after last exposure {last_exposure.isoformat()}): "
                f"{exposure}",
            )
        )
        day += timedelta(days=1)
    return plan


@dataclass(frozen=True)
class OpenTask:
    """A follow-up task a person already has open."""

    id: int
    kind: TaskKind
    due_on: date
    reason: str


@dataclass(frozen=True)
class ScheduleChange:
    """How a new plan joins a person's open follow-up: reasons to extend, tasks to create."""

    extend: list[tuple[int, str]]
    """(task id, new reason) for open tasks that now also cover the new exposure."""
    create: list[PlannedTask]


def join_schedule(open_tasks: list[OpenTask], plan: list[PlannedTask], *, exposure: str) -> ScheduleChange:
    """One follow-up schedule per person: a new exposure extends the open one instead of repeating it.

    An open notification or test covers the new exposure too (its reason names it); a daily
    symptom check already open for a day covers that day; days past the open schedule's end are
    added, so the checks run until the latest exposure's end.

    Examples
    --------
    >>> from epitrace.domain.profiles import RESPIRATORY
    >>> first = contact_tasks(RESPIRATORY, identified_on=date(2026, 3, 10), last_exposure=date(2026, 3, 8),
    ...                       exposure="household contact of case 7")
    >>> open_ = [OpenTask(i, t.kind, t.due_on, t.reason) for i, t in enumerate(first)]
    >>> second = contact_tasks(RESPIRATORY, identified_on=date(2026, 3, 11), last_exposure=date(2026, 3, 10),
    ...                        exposure="work contact of case 9")
    >>> change = join_schedule(open_, second, exposure="work contact of case 9")
    >>> len(change.extend), [(t.kind.value, t.due_on.isoformat()) for t in change.create]
    (13, [('symptom_check', '2026-03-23'), ('symptom_check', '2026-03-24')])
    """
    also = f"; also: {exposure}"
    single = {t.kind: t for t in open_tasks if t.kind in (TaskKind.NOTIFY, TaskKind.TEST)}
    checks = {t.due_on: t for t in open_tasks if t.kind is TaskKind.SYMPTOM_CHECK}
    extend: list[tuple[int, str]] = []
    create: list[PlannedTask] = []
    for task in plan:
        existing = checks.get(task.due_on) if task.kind is TaskKind.SYMPTOM_CHECK else single.get(task.kind)
        if existing is None:
            create.append(task)
        elif exposure not in existing.reason:
            extend.append((existing.id, existing.reason + also))
    return ScheduleChange(extend=extend, create=create)


def link_is_plausible(
    profile: DiseaseProfile, *, last_exposure: date, specimen_on: date
) -> bool:
    """Whether a positive specimen fits an exposure under the profile's incubation bounds."""
    days = (specimen_on - last_exposure).days
    return profile.incubation_min_days <= days <= profile.incubation_max_days

"""What the pipeline achieved, measured against the synthetic ground truth."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from epitrace.domain.statuses import LinkCertainty
from epitrace.storage import evaluation


@dataclass(frozen=True)
class DemoSummary:
    """The figures the demo prints and the report shows."""

    cases: int
    true_infections: int
    contacts: int
    tasks_due_today: int
    tasks_overdue: int
    tasks_done: int
    links_recorded: int
    links_true: int
    true_links_between_cases: int
    links_probable: int
    links_probable_true: int
    median_days_result_to_interview: float | None
    cases_already_contacts: int
    links_colocation: int = 0
    links_colocation_true: int = 0
    venue_screenings: int = 0
    venue_contacts: int = 0

    @property
    def share_of_true_links_found(self) -> float | None:
        if not self.true_links_between_cases:
            return None
        return self.links_true / self.true_links_between_cases


def true_links(infections, person_truth: dict[int, int], case_person: dict[int, int]) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Ground-truth infector->infectee pairs (synthetic ids) where both became cases here."""
    case_synthetic = {person_truth[p] for p in case_person.values() if p in person_truth}
    pairs = set()
    for infectee, infector in infections.select("person_id", "infector_id").iter_rows():
        if infector >= 0 and infectee in case_synthetic and infector in case_synthetic:
            pairs.add((int(infector), int(infectee)))
    return pairs


def summarise(session: Session, *, today: date, infections, person_truth: dict[int, int]) -> DemoSummary:  # type: ignore[no-untyped-def]
    """Count what the pipeline did and score its links against the ground truth."""
    case_person = evaluation.case_persons(session)
    truth = true_links(infections, person_truth, case_person)
    links = evaluation.links(session)
    links_true = probable = probable_true = colocation = colocation_true = 0
    for infector_case, infectee_case, certainty, source in links:
        pair = (person_truth.get(case_person[infector_case]), person_truth.get(case_person[infectee_case]))
        is_true = pair in truth
        links_true += is_true
        if source == "co-location":
            colocation += 1
            colocation_true += is_true
        if certainty == LinkCertainty.PROBABLE.value:
            probable += 1
            probable_true += is_true
    delays = evaluation.days_result_to_interview(session)
    return DemoSummary(
        **evaluation.counts(session, today=today),
        true_infections=infections.height,
        links_recorded=len(links),
        links_true=links_true,
        true_links_between_cases=len(truth),
        links_probable=probable,
        links_probable_true=probable_true,
        median_days_result_to_interview=statistics.median(delays) if delays else None,
        links_colocation=colocation,
        links_colocation_true=colocation_true,
    )

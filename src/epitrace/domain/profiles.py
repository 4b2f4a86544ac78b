"""Disease profiles: the infectious-period rule and the follow-up rules of one disease."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiseaseProfile:
    """Rules a health department sets per disease.

    Days are whole calendar days; see ``domain.periods`` and ``domain.followup`` for how each
    number is applied.
    """

    name: str
    infectious_days_before: int = 2
    """Infectious period starts this many days before onset (or the specimen date)."""
    infectious_days_after: int = 10
    """...and ends, at the latest, this many days after it (inclusive)."""
    interview_within_days: int = 1
    """A new case should be interviewed within this many days of the result."""
    notify_within_days: int = 1
    """A contact should be told within this many days of being identified."""
    test_within_days: int = 3
    """A contact should be tested within this many days of being identified."""
    symptom_check_days: int = 14
    """Daily symptom checks run until this many days after the last exposure."""
    incubation_min_days: int = 1
    """Shortest plausible time from exposure to a positive specimen, for linking."""
    incubation_max_days: int = 14
    """Longest plausible time from exposure to a positive specimen, for linking."""

    def __post_init__(self) -> None:
        for name in (
            "infectious_days_before",
            "infectious_days_after",
            "interview_within_days",
            "notify_within_days",
            "test_within_days",
            "symptom_check_days",
            "incubation_min_days",
            "incubation_max_days",
        ):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.incubation_max_days < self.incubation_min_days:
            raise ValueError(
                f"incubation_max_days must be >= incubation_min_days, got "
                f"{self.incubation_max_days} < {self.incubation_min_days}"
            )


RESPIRATORY = DiseaseProfile(name="respiratory")

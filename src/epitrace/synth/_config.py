"""The knobs of a synthetic city and its outbreak, validated once at construction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from epitrace.errors import InputError

# Phone numbers are "+1555" plus seven digits and must be unique per person.
MAX_PEOPLE = 10_000_000


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """Parameters of a seeded synthetic city and the outbreak that runs through it.

    Every field is keyword-only and has a default; the defaults give a city of
    20,000 people in which ten imported infections grow, over 30 days, into an
    outbreak of several hundred to about 1,500 infections (effective reproduction
    number around 2) without burning through the city.

    Examples
    --------
    >>> from epitrace.synth import SynthConfig
    >>> SynthConfig(people=2_000, days=14).districts
    4
    """

    # Residents of the city; each gets a household, a daily routine and a lab identity.
    people: int = 20_000
    # Simulated days; day d runs from start_date + d at 00:00 UTC for 86,400 seconds.
    days: int = 30
    # Root of every random draw: the same config always produces the same outbreak.
    seed: int = 1
    # Calendar date of day 0 (a Monday by default, so day 5 and 6 are the first weekend).
    start_date: date = date(2026, 3, 2)
    # Districts of the city: spatial cells of a grid over the city, coded "D1".."Dn".
    districts: int = 4
    # Imported infections, acquired in the five days before start_date (infector -1).
    initial_infections: int = 10

    # Per-minute hazards of transmission from one infectious person to one co-present
    # susceptible person: P(infection) = 1 - exp(-hazard * minutes together). Calibrated
    # on the defaults (seeds 1-5: 470-830 infections, R about 2.1-2.5), with households
    # carrying about 40% of transmission and work, school and venues the rest.
    # Hazard per minute at home, between members of a household.
    hazard_household: float = 8.0e-5
    # Hazard per minute between colleagues at the same workplace.
    hazard_work: float = 2.0e-5
    # Hazard per minute between pupils of the same class.
    hazard_school: float = 2.6e-5
    # Hazard per minute between strangers at a café, shop, gym or other venue.
    hazard_venue: float = 3.5e-5

    # Incubation period (infection to symptom onset) is lognormal with this median...
    incubation_median_days: float = 5.0
    # ...and this standard deviation of its logarithm (0.45 puts 90% within 2.4-10.5 days).
    incubation_sigma: float = 0.45
    # Share of infected people who never develop symptoms (and so never seek a test).
    share_asymptomatic: float = 0.3
    # Share of symptomatic people who seek a test on their own.
    share_symptomatic_tested: float = 0.7
    # Relative weights of a delay of 0, 1, 2, ... days from onset to specimen collection
    # (mean about 2 days).
    onset_to_test_weights: tuple[float, ...] = (0.10, 0.30, 0.25, 0.17, 0.10, 0.08)
    # Relative weights of a delay of 0, 1, 2, ... days from collection to result.
    specimen_to_result_weights: tuple[float, ...] = (0.25, 0.55, 0.20)
    # Probability that a test of an infected person in the detectable period (2 to 20
    # days after infection) comes back positive.
    test_sensitivity: float = 0.9
    # Share of spontaneous and background lab results reported as "inconclusive".
    share_inconclusive: float = 0.01
    # Share of spontaneous and background tests that are antigen tests rather than PCR.
    share_antigen: float = 0.15
    # Negative tests of uninfected people with other illnesses, per 1,000 people per day;
    # they are the noise a real line list carries.
    background_tests_per_1000: float = 2.0

    # Probability that an interviewed case recalls each non-home visit (home always is).
    recall_visits: float = 0.6
    # Probability that a case names each of their close contacts.
    recall_contacts: float = 0.7
    # Share of lab rows that carry the person's national_id.
    share_with_national_id: float = 0.7
    # Share of lab rows that carry the person's phone number.
    share_with_phone: float = 0.9
    # Share of lab rows with a one-letter typo in the family name or given and family
    # names swapped, to exercise duplicate detection.
    typo_rate: float = 0.02

    def __post_init__(self) -> None:
        _check_int("people", self.people, low=1, high=MAX_PEOPLE)
        _check_int("days", self.days, low=1, high=3_650)
        _check_int("seed", self.seed, low=0, high=2**63 - 1)
        _check_int("districts", self.districts, low=1, high=400)
        _check_int("initial_infections", self.initial_infections, low=0, high=self.people)
        if not isinstance(self.start_date, date):
            raise InputError(
                f"`start_date` must be a datetime.date, got {self.start_date!r}; "
                "pass e.g. datetime.date(2026, 3, 2)"
            )
        for name in ("hazard_household", "hazard_work", "hazard_school", "hazard_venue"):
            _check_float(name, getattr(self, name), low=0.0, high=1.0)
        _check_float("incubation_median_days", self.incubation_median_days, low=0.1, high=60.0)
        _check_float("incubation_sigma", self.incubation_sigma, low=0.0, high=3.0)
        _check_float(
            "background_tests_per_1000", self.background_tests_per_1000, low=0.0, high=1000.0
        )
        for name in _PROBABILITIES:
            _check_float(name, getattr(self, name), low=0.0, high=1.0)
        _check_weights("onset_to_test_weights", self.onset_to_test_weights)
        _check_weights("specimen_to_result_weights", self.specimen_to_result_weights)


_PROBABILITIES = (
    "share_asymptomatic",
    "share_symptomatic_tested",
    "test_sensitivity",
    "share_inconclusive",
    "share_antigen",
    "recall_visits",
    "recall_contacts",
    "share_with_national_id",
    "share_with_phone",
    "typo_rate",
)


def _check_int(name: str, value: object, *, low: int, high: int) -> None:
    """Reject non-integers and integers outside [low, high], naming the fix."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"`{name}` must be an int, got {value!r}")
    if not low <= value <= high:
        raise InputError(f"`{name}` must be between {low:,} and {high:,}, got {value:,}")


def _check_float(name: str, value: object, *, low: float, high: float) -> None:
    """Reject non-numbers, NaN and numbers outside [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"`{name}` must be a number, got {value!r}")
    if math.isnan(value) or not low <= value <= high:
        raise InputError(f"`{name}` must be between {low} and {high}, got {value!r}")


def _check_weights(name: str, value: object) -> None:
    """Delay weights must be a non-empty tuple of non-negative numbers with a positive sum."""
    if not isinstance(value, tuple) or not value:
        raise InputError(f"`{name}` must be a non-empty tuple of weights, got {value!r}")
    for weight in value:
        _check_float(f"{name}[...]", weight, low=0.0, high=math.inf)
    if sum(value) <= 0:
        raise InputError(f"`{name}` must have a positive sum, got {value!r}")

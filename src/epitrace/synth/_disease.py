"""Natural history of each infection, and what a test taken during it shows.

All times are int64 seconds relative to the outbreak's epoch (start_date 00:00 UTC);
days are whole-day indices from that epoch, negative before it.
"""

from __future__ import annotations

import numpy as np

from epitrace.synth._config import SynthConfig
from epitrace.synth._keyed_random import Stream, keyed_uniform

DAY_SECONDS = 86_400
NOT_INFECTED = np.iinfo(np.int64).max
NEVER = np.iinfo(np.int32).max
NO_PERSON = -1

# Nobody is infectious within a day of being infected, however short the incubation;
# this also means that infections made on day d never seed more infections on day d,
# which is what lets transmission be computed one day at a time.
MIN_LATENT_SECONDS = 1 * DAY_SECONDS
# Symptomatic people shed from two days before onset; asymptomatic ones from day 3.
PRESYMPTOMATIC_SECONDS = 2 * DAY_SECONDS
ASYMPTOMATIC_LATENT_SECONDS = 3 * DAY_SECONDS
# Shedding stops about eight days after (possibly unnoticed) onset.
INFECTIOUS_AFTER_ONSET_SECONDS = 8 * DAY_SECONDS
# A test can detect the virus from 2 to 20 days after infection.
DETECTABLE_FROM_SECONDS = 2 * DAY_SECONDS
DETECTABLE_UNTIL_SECONDS = 20 * DAY_SECONDS
# Specimens are taken at noon of the collection day.
COLLECTION_SECONDS_INTO_DAY = DAY_SECONDS // 2
# People with a positive result stay home from the result day for this many days.
ISOLATION_DAYS = 10

RESULT_NAMES = ("negative", "positive", "inconclusive")
NEGATIVE, POSITIVE, INCONCLUSIVE = range(3)
TEST_TYPE_NAMES = ("PCR", "antigen")
PCR, ANTIGEN = range(2)


def positive_tests(
    *,
    seed: int,
    sensitivity: float,
    person: np.ndarray,
    collected_day: np.ndarray,
    infected_at: np.ndarray,
) -> np.ndarray:
    """Whether each test is positive: infected, detectable at collection, and detected.

    The detection draw is keyed on (seed, person, collected_day), so asking twice
    gives the same answer and the simulation's own tests agree with later queries.
    """
    collected_at = (
        np.asarray(collected_day, dtype=np.int64) * DAY_SECONDS + COLLECTION_SECONDS_INTO_DAY
    )
    # Subtracting (not adding to NOT_INFECTED) cannot overflow: the never-infected get
    # a hugely negative age of infection and fail the window test.
    age_of_infection = collected_at - np.asarray(infected_at, dtype=np.int64)
    detectable = (age_of_infection >= DETECTABLE_FROM_SECONDS) & (
        age_of_infection < DETECTABLE_UNTIL_SECONDS
    )
    detected = keyed_uniform(seed, Stream.TEST_SENSITIVITY, person, collected_day) < sensitivity
    return detectable & detected


def reported_results(
    config: SynthConfig, *, person: np.ndarray, collected_day: np.ndarray, infected_at: np.ndarray
) -> np.ndarray:
    """Result codes a lab reports for tests people sought themselves (some inconclusive)."""
    positive = positive_tests(
        seed=config.seed,
        sensitivity=config.test_sensitivity,
        person=person,
        collected_day=collected_day,
        infected_at=infected_at,
    )
    inconclusive = (
        keyed_uniform(config.seed, Stream.TEST_INCONCLUSIVE, person, collected_day)
        < config.share_inconclusive
    )
    return np.where(inconclusive, INCONCLUSIVE, np.where(positive, POSITIVE, NEGATIVE)).astype(
        np.int8
    )


def spontaneous_test_types(
    config: SynthConfig, *, person: np.ndarray, collected_day: np.ndarray
) -> np.ndarray:
    """Test type codes (PCR or antigen) of tests people sought themselves."""
    antigen = (
        keyed_uniform(config.seed, Stream.TEST_TYPE, person, collected_day) < config.share_antigen
    )
    return np.where(antigen, ANTIGEN, PCR).astype(np.int8)


def _delay_days(weights: tuple[float, ...], size: int, rng: np.random.Generator) -> np.ndarray:
    """Integer delays 0, 1, 2, ... drawn with the given relative weights."""
    probabilities = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(probabilities), size=size, p=probabilities / probabilities.sum())


class DiseaseLedger:
    """Per-person ground truth of the epidemic, filled in as infections happen.

    Arrays are indexed by person id. For people never infected, ``infected_at``,
    ``infectious_from`` and ``infectious_until`` hold NOT_INFECTED, which makes
    every "was infectious during [a, b)" test false without special cases.
    """

    def __init__(self, n_people: int, config: SynthConfig) -> None:
        self.config = config
        self.infected_at = np.full(n_people, NOT_INFECTED, dtype=np.int64)
        self.infector = np.full(n_people, NO_PERSON, dtype=np.int32)
        self.place = np.full(n_people, NO_PERSON, dtype=np.int32)
        self.onset_at = np.full(n_people, NOT_INFECTED, dtype=np.int64)
        self.symptomatic = np.zeros(n_people, dtype=bool)
        self.seeks_test = np.zeros(n_people, dtype=bool)
        self.infectious_from = np.full(n_people, NOT_INFECTED, dtype=np.int64)
        self.infectious_until = np.full(n_people, NOT_INFECTED, dtype=np.int64)
        self.collected_day = np.full(n_people, NEVER, dtype=np.int32)
        self.resulted_day = np.full(n_people, NEVER, dtype=np.int32)
        self.result = np.full(n_people, NEGATIVE, dtype=np.int8)
        self.test_type = np.full(n_people, PCR, dtype=np.int8)
        self.isolated_from = np.full(n_people, NEVER, dtype=np.int32)
        self.isolated_until = np.full(n_people, NEVER, dtype=np.int32)

    @property
    def susceptible(self) -> np.ndarray:
        """Boolean mask of people never infected so far (there is no reinfection)."""
        return self.infected_at == NOT_INFECTED

    def isolated_on(self, day: int) -> np.ndarray:
        """Boolean mask of people staying home on the given day."""
        return (self.isolated_from <= day) & (day < self.isolated_until)

    def infected_people(self) -> np.ndarray:
        """Ids of everyone infected, ordered by infection time then id."""
        infected = np.flatnonzero(self.infected_at != NOT_INFECTED)
        return infected[np.lexsort((infected, self.infected_at[infected]))]

    def infect(
        self,
        person: np.ndarray,
        *,
        infected_at: np.ndarray,
        infector: np.ndarray,
        place: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Record new infections and draw the course each will take.

        The course fixes symptoms, infectious period, whether and when the person
        gets tested, the result, and so the days they will spend isolating.
        """
        config = self.config
        n = len(person)
        if n == 0:
            return
        infected_at = np.asarray(infected_at, dtype=np.int64)
        incubation = np.exp(
            rng.normal(
                np.log(config.incubation_median_days * DAY_SECONDS), config.incubation_sigma, n
            )
        )
        onset_at = infected_at + incubation.astype(np.int64)
        symptomatic = rng.random(n) >= config.share_asymptomatic
        seeks_test = symptomatic & (rng.random(n) < config.share_symptomatic_tested)
        infectious_from = np.where(
            symptomatic,
            np.maximum(onset_at - PRESYMPTOMATIC_SECONDS, infected_at + MIN_LATENT_SECONDS),
            infected_at + ASYMPTOMATIC_LATENT_SECONDS,
        )
        onset_day = np.floor_divide(onset_at, DAY_SECONDS)
        collected_day = onset_day + _delay_days(config.onset_to_test_weights, n, rng)
        resulted_day = collected_day + _delay_days(config.specimen_to_result_weights, n, rng)
        result = reported_results(
            config, person=person, collected_day=collected_day, infected_at=infected_at
        )
        isolates = seeks_test & (result == POSITIVE)

        self.infected_at[person] = infected_at
        self.infector[person] = infector
        self.place[person] = place
        self.onset_at[person] = onset_at
        self.symptomatic[person] = symptomatic
        self.seeks_test[person] = seeks_test
        self.infectious_from[person] = infectious_from
        self.infectious_until[person] = onset_at + INFECTIOUS_AFTER_ONSET_SECONDS
        self.collected_day[person] = np.where(seeks_test, collected_day, NEVER)
        self.resulted_day[person] = np.where(seeks_test, resulted_day, NEVER)
        self.result[person] = np.where(seeks_test, result, NEGATIVE)
        self.test_type[person] = spontaneous_test_types(
            config, person=person, collected_day=collected_day
        )
        self.isolated_from[person] = np.where(isolates, resulted_day, NEVER)
        self.isolated_until[person] = np.where(isolates, resulted_day + ISOLATION_DAYS, NEVER)

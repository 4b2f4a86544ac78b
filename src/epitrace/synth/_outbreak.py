"""The generated world and the one function that builds it."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from epitrace.errors import InputError
from epitrace.synth._city import (
    HOME,
    KIND_NAMES,
    SCHOOL,
    VENUE,
    WORK,
    build_city,
    jurisdictions,
    plan_districts,
)
from epitrace.synth._config import SynthConfig
from epitrace.synth._disease import (
    DAY_SECONDS,
    RESULT_NAMES,
    TEST_TYPE_NAMES,
    DiseaseLedger,
    positive_tests,
)
from epitrace.synth._interview import Interview, Interviewer, PresenceIndex
from epitrace.synth._lab import (
    LAB_COLUMNS,
    Origin,
    background_reports,
    lab_frame,
    spontaneous_reports,
)
from epitrace.synth._mobility import (
    EXPECTED_ROWS_PER_PERSON_DAY,
    PresenceArrays,
    PresenceWriter,
    draw_routines,
    presences_for_day,
)
from epitrace.synth._people import build_population
from epitrace.synth._transmission import transmit

# Imported infections were acquired up to this long before start_date, so that some
# seeds are already infectious on day 0 and the outbreak does not idle for days.
SEED_INFECTIONS_LOOKBACK_SECONDS = 5 * DAY_SECONDS
SETTING_OF_KIND = ("household", "work", "school", "venue")


class _RandomStream(IntEnum):
    """Labels of the independent generators the build draws from (their spawn keys)."""

    PEOPLE = 1
    CITY = 2
    ROUTINES = 3
    SEEDS = 4
    MOBILITY = 5
    TRANSMISSION = 6
    COURSE = 7
    BACKGROUND_TESTS = 8


def _rng(config: SynthConfig, stream: int, *more: int) -> np.random.Generator:
    """A generator for one stream (and, e.g., one day) that no other draw disturbs."""
    return np.random.default_rng([config.seed, stream, *more])


@dataclass(frozen=True, eq=False, repr=False)
class Outbreak:
    """A synthetic city, everyone's movements and an outbreak, with full ground truth.

    Build one with :func:`generate`. Frames are polars DataFrames; times are Unix
    seconds (int64) and day indices count from ``start_date`` (day d starts at
    ``epoch + d * 86400``).

    Attributes
    ----------
    config
        The configuration the outbreak was generated from.
    start_date, epoch
        Day 0, and its 00:00 UTC in Unix seconds.
    jurisdictions
        ``(code, name, parent_code)`` of the city ("CITY") and districts "D1".."Dn".
    people, places
        Residents and places (homes, workplaces, school classes, venues).
    infections
        One row per infection: ``person_id, infected_at, infector_id, place_id,
        setting, onset_date, seeks_test`` plus ``infectious_from`` and
        ``infectious_until`` (Unix seconds, half-open) for checking transmission.
    lab_reports
        Results of self-sought tests and background negatives, in LAB_COLUMNS order.
    """

    config: SynthConfig
    start_date: date
    epoch: int
    jurisdictions: list[tuple[str, str, str | None]]
    people: pl.DataFrame
    places: pl.DataFrame
    infections: pl.DataFrame
    lab_reports: pl.DataFrame
    _presence_arrays: PresenceArrays = field(repr=False)
    _ledger: DiseaseLedger = field(repr=False)
    _place_kind: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Outbreak(people={self.people.height:,}, days={self.config.days}, "
            f"presences={len(self._presence_arrays):,}, infections={self.infections.height:,}, "
            f"lab_reports={self.lab_reports.height:,}, seed={self.config.seed})"
        )

    @cached_property
    def presences(self) -> pl.DataFrame:
        """Every presence: ``person_id, place_id`` (int32), ``start, end`` (int64 Unix s).

        Intervals are half-open ``[start, end)`` and never cross midnight UTC. The
        frame is built on first access from :meth:`presence_arrays` and cached; for
        very large cities prefer the arrays, which take a third of the memory.
        """
        return self._presence_arrays.to_frame()

    def presence_arrays(self) -> PresenceArrays:
        """The presences as compact numpy columns (int32 offsets from ``epoch``)."""
        return self._presence_arrays

    @cached_property
    def _interviewer(self) -> Interviewer:
        # Built on the first interview: indexing a million-person city takes seconds.
        index = PresenceIndex(
            self._presence_arrays, n_people=self.people.height, n_places=self.places.height
        )
        return Interviewer(
            self.config,
            presences=self._presence_arrays,
            index=index,
            people=self.people,
            places=self.places,
            place_kind=self._place_kind,
        )

    def _check_person(self, person_id: int) -> int:
        person = int(person_id)
        if not 0 <= person < self.people.height:
            raise InputError(
                f"`person_id` must be between 0 and {self.people.height - 1}, got {person_id!r}"
            )
        return person

    def interview(self, person_id: int, *, since: int, until: int) -> Interview:
        """What the person tells a contact tracer about the period ``[since, until)``.

        Parameters
        ----------
        person_id
            The interviewed person.
        since, until
            Unix seconds bounding the period asked about.

        Returns
        -------
        Interview
            Every presence overlapping the period, clipped to it, is recalled with
            probability ``config.recall_visits`` (home always); each household member
            and work or class mate together with the person for at least 15 minutes
            on some day (at most 25 per setting, most time together first) is named
            with probability ``config.recall_contacts``. Deterministic.

        Examples
        --------
        >>> from epitrace.synth import SynthConfig, generate
        >>> outbreak = generate(SynthConfig(people=300, days=3))
        >>> day_1 = outbreak.epoch + 86_400
        >>> visits = outbreak.interview(0, since=day_1, until=day_1 + 86_400).visits
        >>> visits[0].kind
        'home'
        """
        person = self._check_person(person_id)
        if until < since:
            raise InputError(f"`until` must be >= `since`, got since={since} and until={until}")
        return self._interviewer.interview(person, since=int(since), until=int(until))

    def venue_checkins(self, place_id: int, *, since: int, until: int) -> pl.DataFrame:
        """A venue's own check-in list: everyone present at ``place_id`` during ``[since, until)``.

        Columns ``person_id`` (ground truth), ``given_name, family_name, phone, date_of_birth``
        (as the venue would hold them) and ``check_in, check_out`` (Unix seconds, whole stay,
        not clipped to the period). Sorted by check-in.
        """
        index = self._interviewer._index  # noqa: SLF001 - the same index interviews use
        rows = index.rows_of_place(int(place_id))
        arrays = self._presence_arrays
        start = arrays.start_offset[rows].astype(np.int64) + self.epoch
        end = arrays.end_offset[rows].astype(np.int64) + self.epoch
        keep = (start < until) & (end > since)
        rows, start, end = rows[keep], start[keep], end[keep]
        people = self.people[arrays.person_id[rows].astype(np.int64)]
        return pl.DataFrame({
            "person_id": people["person_id"],
            "given_name": people["given_name"],
            "family_name": people["family_name"],
            "phone": people["phone"],
            "date_of_birth": people["date_of_birth"],
            "check_in": start,
            "check_out": end,
        }).sort("check_in")

    def test_result(self, person_id: int, *, collected_day: int) -> str:
        """The truthful result, "positive" or "negative", of a specimen taken on a day.

        Positive only for people infected 2 to 20 days before noon of
        ``collected_day``, with probability ``config.test_sensitivity`` drawn
        deterministically from the seed, person and day, so repeated calls agree
        with each other and with ``lab_reports``.

        Parameters
        ----------
        person_id
            The person tested.
        collected_day
            Day index (from ``start_date``) the specimen was taken; may lie outside
            the simulated days.

        Examples
        --------
        >>> from epitrace.synth import SynthConfig, generate
        >>> outbreak = generate(SynthConfig(people=300, days=3, initial_infections=0))
        >>> outbreak.test_result(0, collected_day=2)
        'negative'
        """
        person = self._check_person(person_id)
        positive = positive_tests(
            seed=self.config.seed,
            sensitivity=self.config.test_sensitivity,
            person=np.array([person]),
            collected_day=np.array([int(collected_day)]),
            infected_at=self._ledger.infected_at[[person]],
        )
        return "positive" if bool(positive[0]) else "negative"

    def lab_row(
        self,
        person_id: int,
        *,
        collected_day: int,
        resulted_day: int,
        result: str,
        test_type: str = "PCR",
    ) -> dict[str, Any]:
        """One lab report row (same keys as ``lab_reports``) for a test of this person.

        Which identifiers the row carries and any name typo are drawn
        deterministically from the seed and the arguments, with the same shares
        as the generated reports. The result is taken as given: combine with
        :meth:`test_result` for a truthful one.

        Parameters
        ----------
        person_id
            The person tested (ground truth, also returned as ``person_id``).
        collected_day, resulted_day
            Day indices (from ``start_date``) of collection and result; ``day`` is
            ``resulted_day``.
        result
            "positive", "negative" or "inconclusive".
        test_type
            "PCR" or "antigen".

        Examples
        --------
        >>> from epitrace.synth import SynthConfig, generate
        >>> outbreak = generate(SynthConfig(people=300, days=3))
        >>> row = outbreak.lab_row(5, collected_day=1, resulted_day=2, result="negative")
        >>> row["day"], row["result"], row["person_id"]
        (2, 'negative', 5)
        """
        person = self._check_person(person_id)
        if result not in RESULT_NAMES:
            choices = ", ".join(map(repr, RESULT_NAMES))
            raise InputError(f"`result` must be one of {choices}, got {result!r}")
        if test_type not in TEST_TYPE_NAMES:
            choices = ", ".join(map(repr, TEST_TYPE_NAMES))
            raise InputError(f"`test_type` must be one of {choices}, got {test_type!r}")
        if resulted_day < collected_day:
            raise InputError(
                f"`resulted_day` must be >= `collected_day`, got collected_day={collected_day} "
                f"and resulted_day={resulted_day}"
            )
        frame = lab_frame(
            self.config,
            people=self.people,
            person=np.array([person]),
            collected_day=np.array([int(collected_day)]),
            resulted_day=np.array([int(resulted_day)]),
            result=np.array([RESULT_NAMES.index(result)]),
            test_type=np.array([TEST_TYPE_NAMES.index(test_type)]),
            origin=Origin.REQUESTED,
        )
        return frame.row(0, named=True)

    def symptom_onset(self, person_id: int) -> date | None:
        """Date symptoms began, or None for the never infected and the asymptomatic.

        Parameters
        ----------
        person_id
            The person asked about.
        """
        person = self._check_person(person_id)
        if not self._ledger.symptomatic[person]:
            return None
        onset_day = int(self._ledger.onset_at[person]) // DAY_SECONDS
        return self.start_date + timedelta(days=onset_day)


def generate(config: SynthConfig | None = None) -> Outbreak:
    """Generate a synthetic city and outbreak, reproducibly from ``config.seed``.

    Parameters
    ----------
    config
        Size, seed and epidemiology; ``SynthConfig()`` when omitted.

    Returns
    -------
    Outbreak
        People, places, presences, ground-truth infections and lab reports.

    Examples
    --------
    >>> from epitrace.synth import SynthConfig, generate
    >>> outbreak = generate(SynthConfig(people=500, days=7, seed=3))
    >>> outbreak.people.height, outbreak.jurisdictions[0]
    (500, ('CITY', 'Synthville', None))
    """
    config = SynthConfig() if config is None else config
    epoch = calendar.timegm(config.start_date.timetuple())
    grid = plan_districts(config.districts)
    population = build_population(
        config.people,
        start_date=config.start_date,
        district_codes=grid.codes,
        district_names=grid.names,
        rng=_rng(config, _RandomStream.PEOPLE),
    )
    city = build_city(population, grid=grid, rng=_rng(config, _RandomStream.CITY))
    routines = draw_routines(
        city,
        home_place=population.household_id,
        district=population.district,
        rng=_rng(config, _RandomStream.ROUTINES),
    )
    hazard_per_minute = np.zeros(len(KIND_NAMES))
    hazard_per_minute[[HOME, WORK, SCHOOL, VENUE]] = [
        config.hazard_household,
        config.hazard_work,
        config.hazard_school,
        config.hazard_venue,
    ]
    hazard_per_second = hazard_per_minute[city.place_kind] / 60.0

    ledger = DiseaseLedger(config.people, config)
    seeds_rng = _rng(config, _RandomStream.SEEDS)
    seeds = np.sort(seeds_rng.choice(config.people, size=config.initial_infections, replace=False))
    ledger.infect(
        seeds,
        infected_at=seeds_rng.integers(-SEED_INFECTIONS_LOOKBACK_SECONDS, 0, len(seeds)),
        infector=np.full(len(seeds), -1),
        place=np.full(len(seeds), -1),
        rng=_rng(config, _RandomStream.COURSE, 0),
    )

    writer = PresenceWriter(config.people * config.days * EXPECTED_ROWS_PER_PERSON_DAY, epoch=epoch)
    for day in range(config.days):
        today = presences_for_day(
            day,
            routines=routines,
            venues=city.venues,
            weekend=(config.start_date + timedelta(days=day)).weekday() >= 5,
            isolated=ledger.isolated_on(day),
            rng=_rng(config, _RandomStream.MOBILITY, day),
        )
        writer.append(today)
        new = transmit(
            today,
            infectious_from=ledger.infectious_from,
            infectious_until=ledger.infectious_until,
            susceptible=ledger.susceptible,
            hazard_per_second=hazard_per_second,
            rng=_rng(config, _RandomStream.TRANSMISSION, day),
        )
        ledger.infect(
            new.person,
            infected_at=new.infected_at,
            infector=new.infector,
            place=new.place,
            rng=_rng(config, _RandomStream.COURSE, day + 1),
        )

    lab_reports = pl.concat(
        [
            spontaneous_reports(config, ledger, people=population.frame),
            background_reports(
                config,
                ledger,
                people=population.frame,
                rng=_rng(config, _RandomStream.BACKGROUND_TESTS),
            ),
        ]
    ).sort("day", "specimen_id")
    return Outbreak(
        config=config,
        start_date=config.start_date,
        epoch=epoch,
        jurisdictions=jurisdictions(grid),
        people=population.frame,
        places=city.places,
        infections=_infections_frame(
            ledger, city.place_kind, epoch=epoch, start_date=config.start_date
        ),
        lab_reports=lab_reports.select(LAB_COLUMNS),
        _presence_arrays=writer.finish(),
        _ledger=ledger,
        _place_kind=city.place_kind,
    )


def _infections_frame(
    ledger: DiseaseLedger, place_kind: np.ndarray, *, epoch: int, start_date: date
) -> pl.DataFrame:
    """Ground truth, one row per infection in order of infection time."""
    person = ledger.infected_people()
    place = ledger.place[person]
    imported = place < 0
    setting = np.where(imported, len(SETTING_OF_KIND), place_kind[np.maximum(place, 0)])
    start_days = (start_date - date(1970, 1, 1)).days
    onset_day = np.floor_divide(ledger.onset_at[person], DAY_SECONDS) + start_days
    return (
        pl.DataFrame(
            {
                "person_id": pl.Series(person, dtype=pl.Int32),
                "infected_at": pl.Series(ledger.infected_at[person] + epoch, dtype=pl.Int64),
                "infector_id": pl.Series(ledger.infector[person], dtype=pl.Int32),
                "place_id": pl.Series(place, dtype=pl.Int32),
                "setting": pl.Series((*SETTING_OF_KIND, "seed")).gather(setting.astype(np.int64)),
                "onset_date": pl.Series(onset_day, dtype=pl.Int32).cast(pl.Date),
                "seeks_test": pl.Series(ledger.seeks_test[person], dtype=pl.Boolean),
                "infectious_from": pl.Series(
                    ledger.infectious_from[person] + epoch, dtype=pl.Int64
                ),
                "infectious_until": pl.Series(
                    ledger.infectious_until[person] + epoch, dtype=pl.Int64
                ),
                "_symptomatic": pl.Series(ledger.symptomatic[person], dtype=pl.Boolean),
            }
        )
        .with_columns(
            # Asymptomatic infections have no onset date.
            onset_date=pl.when(pl.col("_symptomatic")).then(pl.col("onset_date"))
        )
        .drop("_symptomatic")
    )

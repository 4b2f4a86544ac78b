"""Where everyone is, minute by minute: daily routines turned into presence rows.

A person's day is at most six slots in time order: home in the morning, work or
class, up to three venue visits, home in the evening. Slots are drawn for all
people at once as (people x 6) arrays and flattened, so the rows of a day come out
sorted by person and then by time, and no one is ever in two places at once.
Every day is cut at midnight, which keeps each presence inside one day and lets
transmission be computed one day at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from epitrace.synth._city import NO_PLACE, SCHOOL, WORK, City, VenueCatalogue

DAY_SECONDS = 86_400
MINUTE = 60
HOUR = 3_600
SLOTS = 6  # home, work or class, three venues, home
# Rows per person and day to reserve room for; the defaults average about 3.3.
EXPECTED_ROWS_PER_PERSON_DAY = 4
MAX_VENUE_VISITS = 3

# Workplaces have a shared core start (so colleagues overlap) and people vary around it.
WORK_START_MEAN, WORK_START_SD = 8.5 * HOUR, 40 * MINUTE
WORK_PERSONAL_SD = 30 * MINUTE
WORK_HOURS_MEAN, WORK_HOURS_SD = 8 * HOUR, 1 * HOUR
# Classes start between 8:15 and 8:45 and last 6-7 hours; all pupils follow the class.
SCHOOL_START_EARLIEST, SCHOOL_START_SPREAD = 8.25 * HOUR, 30 * MINUTE
SCHOOL_HOURS_MIN, SCHOOL_HOURS_SPREAD = 6 * HOUR, 1 * HOUR
# Day-to-day variation in arrival and departure.
WORK_JITTER, SCHOOL_JITTER = 15 * MINUTE, 5 * MINUTE
# Share of working days someone stays away (illness, leave, working from home).
SHARE_ABSENT = {WORK: 0.08, SCHOOL: 0.04}
# Probability of 0, 1, 2, 3 venue visits on a weekday and on a weekend day.
VISITS_WEEKDAY = np.array([0.40, 0.35, 0.18, 0.07])
VISITS_WEEKEND = np.array([0.25, 0.35, 0.25, 0.15])
# People without work or class that day head out between 9:00 and 15:00.
FREE_DAY_FIRST_OUTING, FREE_DAY_SPREAD = 9 * HOUR, 6 * HOUR
# Venue stays: lognormal around the venue kind's median, clipped to 20 min - 3 h.
VISIT_SIGMA = 0.4
VISIT_MIN, VISIT_MAX = 20 * MINUTE, 3 * HOUR
# Visits that would end after 23:00 are dropped; the evening is spent at home.
LAST_VISIT_END = 23 * HOUR
# Travel between places, during which a person is nowhere in the data.
TRAVEL_MIN, TRAVEL_MAX = 5 * MINUTE, 30 * MINUTE
AFTER_WORK_MIN, AFTER_WORK_MAX = 10 * MINUTE, 60 * MINUTE


@dataclass(frozen=True, eq=False)
class Routines:
    """Each person's fixed weekday routine: home, activity place and usual hours."""

    home_place: np.ndarray  # int32
    activity_place: np.ndarray  # int32, NO_PLACE when none
    activity_kind: np.ndarray  # int8 WORK / SCHOOL / NO_PLACE
    usual_start: np.ndarray  # int32 seconds after midnight
    usual_duration: np.ndarray  # int32 seconds
    district: np.ndarray  # int64 district index, for choosing local venues


@dataclass(frozen=True, eq=False)
class DayPresences:
    """One day's presence rows, sorted by person then start; times are epoch offsets."""

    person: np.ndarray  # int32
    place: np.ndarray  # int32
    start: np.ndarray  # int32 seconds since the outbreak's epoch
    end: np.ndarray  # int32, exclusive


@dataclass(frozen=True, eq=False)
class PresenceArrays:
    """Every presence of the simulation as four compact numpy columns.

    Row r says person ``person_id[r]`` was at place ``place_id[r]`` during the
    half-open interval ``[epoch + start_offset[r], epoch + end_offset[r])`` in Unix
    seconds. Offsets are int32 (16 bytes per row in all) so that a million people
    over 30 days (about 100 million rows) fit in 1.6 GB. Rows are ordered by day,
    then person, then time; no row crosses midnight UTC.
    """

    person_id: np.ndarray
    place_id: np.ndarray
    start_offset: np.ndarray
    end_offset: np.ndarray
    epoch: int

    def __len__(self) -> int:
        return len(self.person_id)

    def to_frame(self) -> pl.DataFrame:
        """The rows as a frame with int64 Unix-second ``start`` and ``end`` columns."""
        return pl.DataFrame(
            {
                "person_id": pl.Series(self.person_id, dtype=pl.Int32),
                "place_id": pl.Series(self.place_id, dtype=pl.Int32),
                "start": pl.Series(self.start_offset.astype(np.int64) + self.epoch),
                "end": pl.Series(self.end_offset.astype(np.int64) + self.epoch),
            }
        )


class PresenceWriter:
    """Collects the days' rows into four preallocated int32 columns.

    Writing into one large buffer per column, instead of keeping every day's arrays
    and concatenating at the end, avoids holding the table twice and avoids the heap
    fragmentation that thousands of mid-sized arrays cause (a third of peak memory at
    a million people). Pages beyond the rows written are never touched, so a generous
    first estimate costs address space, not memory.
    """

    _COLUMNS = ("person", "place", "start", "end")

    def __init__(self, expected_rows: int, *, epoch: int) -> None:
        self._epoch = epoch
        self._rows = 0
        self._columns = {
            name: np.empty(max(expected_rows, 1), dtype=np.int32) for name in self._COLUMNS
        }

    def append(self, day: DayPresences) -> None:
        """Add one day's rows after those already written."""
        rows = len(day.person)
        needed = self._rows + rows
        if needed > len(self._columns["person"]):
            # Rare: the estimate was low. Grow by a quarter beyond what is needed now.
            for name, column in self._columns.items():
                grown = np.empty(needed + needed // 4, dtype=np.int32)
                grown[: self._rows] = column[: self._rows]
                self._columns[name] = grown
        for name in self._COLUMNS:
            self._columns[name][self._rows : needed] = getattr(day, name)
        self._rows = needed

    def finish(self) -> PresenceArrays:
        """The rows written so far, as views on the buffers (no copy)."""
        person, place, start, end = (self._columns[name][: self._rows] for name in self._COLUMNS)
        return PresenceArrays(person, place, start, end, self._epoch)


def draw_routines(
    city: City, *, home_place: np.ndarray, district: np.ndarray, rng: np.random.Generator
) -> Routines:
    """Usual hours per person: shared per workplace or class, plus personal variation."""
    n_places = len(city.place_kind)
    n_people = len(home_place)
    place_start = np.where(
        city.place_kind == SCHOOL,
        SCHOOL_START_EARLIEST + rng.random(n_places) * SCHOOL_START_SPREAD,
        rng.normal(WORK_START_MEAN, WORK_START_SD, n_places),
    )
    class_hours = SCHOOL_HOURS_MIN + rng.random(n_places) * SCHOOL_HOURS_SPREAD
    personal_start = rng.normal(0.0, WORK_PERSONAL_SD, n_people)
    work_hours = np.clip(rng.normal(WORK_HOURS_MEAN, WORK_HOURS_SD, n_people), 4 * HOUR, 10 * HOUR)

    place = np.maximum(city.activity_place, 0)  # -1 would index the last place; masked below
    is_work = city.activity_kind == WORK
    start = np.where(is_work, place_start[place] + personal_start, place_start[place])
    start = np.clip(start, 6 * HOUR, 11 * HOUR)
    duration = np.where(is_work, work_hours, class_hours[place])
    has_activity = city.activity_place != NO_PLACE
    return Routines(
        home_place=home_place.astype(np.int32),
        activity_place=city.activity_place,
        activity_kind=city.activity_kind,
        usual_start=np.where(has_activity, start, 0).astype(np.int32),
        usual_duration=np.where(has_activity, duration, 0).astype(np.int32),
        district=district.astype(np.int64),
    )


def presences_for_day(
    day: int,
    *,
    routines: Routines,
    venues: VenueCatalogue,
    weekend: bool,
    isolated: np.ndarray,
    rng: np.random.Generator,
) -> DayPresences:
    """Everyone's presences on one day; isolated people stay home all day.

    Every draw is made for every person whether or not it is used, so one person's
    isolation never shifts the random numbers, and so the routine, of anyone else.
    """
    n = len(routines.home_place)
    kind = routines.activity_kind
    absent_share = np.where(kind == SCHOOL, SHARE_ABSENT[SCHOOL], SHARE_ABSENT[WORK])
    attends = (routines.activity_place != NO_PLACE) & (rng.random(n) >= absent_share)
    attends &= ~isolated & (not weekend)
    jitter = np.where(kind == SCHOOL, SCHOOL_JITTER, WORK_JITTER)
    activity_start = routines.usual_start + (rng.uniform(-1, 1, n) * jitter).astype(np.int32)
    activity_end = (
        activity_start + routines.usual_duration + (rng.uniform(-1, 1, n) * jitter).astype(np.int32)
    )

    visit_weights = VISITS_WEEKEND if weekend else VISITS_WEEKDAY
    n_visits = np.searchsorted(
        np.cumsum(visit_weights) / visit_weights.sum(), rng.random(n), side="right"
    )
    n_visits[isolated] = 0
    clock = np.where(
        attends,
        activity_end + rng.integers(AFTER_WORK_MIN, AFTER_WORK_MAX, n),
        FREE_DAY_FIRST_OUTING + rng.integers(0, FREE_DAY_SPREAD, n),
    )

    places = np.empty((n, SLOTS), dtype=np.int32)
    starts = np.empty((n, SLOTS), dtype=np.int32)
    ends = np.empty((n, SLOTS), dtype=np.int32)
    valid = np.empty((n, SLOTS), dtype=bool)
    places[:, 1], starts[:, 1], ends[:, 1], valid[:, 1] = (
        routines.activity_place,
        activity_start,
        activity_end,
        attends,
    )
    last_end = np.where(attends, activity_end, 0)
    still_out = np.ones(n, dtype=bool)
    for visit in range(MAX_VENUE_VISITS):
        venue, median_stay = venues.choose(routines.district, rng)
        stay = np.clip(median_stay * rng.lognormal(0.0, VISIT_SIGMA, n), VISIT_MIN, VISIT_MAX)
        visit_end = clock + stay.astype(np.int64)
        # A visit happens only if the earlier ones did and it ends by 23:00.
        still_out &= (visit < n_visits) & (visit_end <= LAST_VISIT_END)
        slot = 2 + visit
        places[:, slot], starts[:, slot], ends[:, slot], valid[:, slot] = (
            venue,
            clock,
            visit_end,
            still_out,
        )
        last_end = np.where(still_out, visit_end, last_end)
        clock = np.where(still_out, visit_end + rng.integers(TRAVEL_MIN, TRAVEL_MAX, n), clock)

    goes_out = attends | valid[:, 2]
    first_departure = np.where(attends, activity_start, starts[:, 2])
    travel_out = rng.integers(TRAVEL_MIN, TRAVEL_MAX, n)
    travel_back = rng.integers(TRAVEL_MIN, TRAVEL_MAX, n)
    places[:, 0], starts[:, 0], valid[:, 0] = routines.home_place, 0, True
    ends[:, 0] = np.where(goes_out, first_departure - travel_out, DAY_SECONDS)
    places[:, 5], ends[:, 5], valid[:, 5] = routines.home_place, DAY_SECONDS, goes_out
    starts[:, 5] = np.where(goes_out, last_end + travel_back, 0)

    # Row-major flattening keeps rows sorted by person, then slot (= time) order.
    kept = np.flatnonzero(valid.ravel())
    base = day * DAY_SECONDS
    return DayPresences(
        person=(kept // SLOTS).astype(np.int32),
        place=places.ravel()[kept],
        start=starts.ravel()[kept] + np.int32(base),
        end=ends.ravel()[kept] + np.int32(base),
    )

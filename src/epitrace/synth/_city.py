"""The city's geography: districts, and the homes, workplaces, classes and venues in them.

Place ids are laid out in blocks: homes first (one per household, so a home's id
equals its household id), then workplaces, then school classes, then venues. Each
school class is its own place, because a class, not a whole school, is the group
of people who actually share a room for hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from epitrace.synth._names import (
    CULTURES,
    DISTRICT_NAMES,
    SCHOOL_NAMES,
    VENUE_ADJECTIVES,
    VENUE_NOUNS,
    WORKPLACE_TRADES,
)
from epitrace.synth._people import Population

KIND_NAMES = ("home", "work", "school", "venue")
HOME, WORK, SCHOOL, VENUE = range(4)
NO_PLACE = -1

CITY_CODE = "CITY"
CITY_NAME = "Synthville"
# Centre and size of the city: about 10 km across, centred on Amsterdam's coordinates.
CENTRE_LAT, CENTRE_LON = 52.37, 4.90
SPAN_KM = 10.0
KM_PER_DEGREE_LAT = 111.32

# Ages that go to school (inclusive), and adults who may work.
SCHOOL_AGES = (5, 18)
WORKING_AGES = (19, 66)
SHARE_EMPLOYED = 0.75
# Workplace headcounts are lognormal (median 6, long tail) and capped, so a few
# large employers exist without one of them swallowing a small test city.
WORKPLACE_MEDIAN_SIZE = 6.0
WORKPLACE_SIZE_SIGMA = 1.0
WORKPLACE_MAX_SIZE = 250
CLASS_SIZE = 25
CLASSES_PER_SCHOOL = 12
PEOPLE_PER_VENUE = 150
# Visitors pick a venue in their own district this often, otherwise anywhere.
SHARE_LOCAL_VENUE = 0.75


@dataclass(frozen=True)
class VenueKind:
    """A kind of venue: its label, share of venues, pull on visitors and typical stay."""

    label: str
    share: float
    popularity: float
    median_visit_minutes: float


VENUE_KINDS = (
    VenueKind("Café", 0.16, 1.0, 45),
    VenueKind("Restaurant", 0.12, 0.9, 90),
    VenueKind("Bar", 0.08, 0.8, 100),
    VenueKind("Supermarket", 0.12, 3.0, 30),
    VenueKind("Shop", 0.18, 1.0, 30),
    VenueKind("Gym", 0.06, 1.2, 75),
    VenueKind("Cinema", 0.02, 1.5, 150),
    VenueKind("Library", 0.03, 0.8, 60),
    VenueKind("Hair Salon", 0.06, 0.4, 45),
    VenueKind("Bakery", 0.07, 1.2, 20),
    VenueKind("Pharmacy", 0.05, 0.8, 20),
    VenueKind("Community Centre", 0.05, 1.0, 90),
)


@dataclass(frozen=True, eq=False)
class DistrictGrid:
    """Districts as cells of a near-square grid over the city's bounding box."""

    codes: list[str]
    names: list[str]
    lat_low: np.ndarray
    lat_high: np.ndarray
    lon_low: np.ndarray
    lon_high: np.ndarray

    def random_points(
        self, district: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform random (lat, lon) inside each given district's cell."""
        u, v = rng.random(len(district)), rng.random(len(district))
        lat = self.lat_low[district] + u * (self.lat_high[district] - self.lat_low[district])
        lon = self.lon_low[district] + v * (self.lon_high[district] - self.lon_low[district])
        return lat, lon


def plan_districts(n_districts: int) -> DistrictGrid:
    """Split the city into n grid cells; four districts are its four quarters."""
    columns = math.ceil(math.sqrt(n_districts))
    rows = math.ceil(n_districts / columns)
    half_lat = SPAN_KM / 2 / KM_PER_DEGREE_LAT
    half_lon = SPAN_KM / 2 / (KM_PER_DEGREE_LAT * math.cos(math.radians(CENTRE_LAT)))
    index = np.arange(n_districts)
    row, column = index // columns, index % columns
    # Row 0 is the northern edge, so "D1" is the north-west cell.
    lat_high = CENTRE_LAT + half_lat - row * (2 * half_lat / rows)
    lon_low = CENTRE_LON - half_lon + column * (2 * half_lon / columns)
    names = [
        DISTRICT_NAMES[k] if k < len(DISTRICT_NAMES) else f"District {k + 1}"
        for k in range(n_districts)
    ]
    return DistrictGrid(
        codes=[f"D{k + 1}" for k in range(n_districts)],
        names=names,
        lat_low=lat_high - 2 * half_lat / rows,
        lat_high=lat_high,
        lon_low=lon_low,
        lon_high=lon_low + 2 * half_lon / columns,
    )


def jurisdictions(grid: DistrictGrid) -> list[tuple[str, str, str | None]]:
    """(code, name, parent_code) of the city and its districts."""
    return [(CITY_CODE, CITY_NAME, None)] + [
        (code, name, CITY_CODE) for code, name in zip(grid.codes, grid.names, strict=True)
    ]


@dataclass(frozen=True, eq=False)
class VenueCatalogue:
    """Venues grouped by district with cumulative popularity, for fast weighted picks."""

    place_id: np.ndarray  # int32, sorted by district
    district_key: np.ndarray  # district index + cumulative share within the district
    global_cumulative: np.ndarray  # cumulative share over all venues, ending at 1
    median_visit_seconds: np.ndarray  # typical stay at each venue (by its kind)

    def choose(
        self, district: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """One venue per visitor: popularity-weighted, usually in the visitor's district.

        Returns the chosen place ids and the median stay at each.
        """
        n = len(district)
        local = rng.random(n) < SHARE_LOCAL_VENUE
        u = rng.random(n)
        # Cumulative keys of district d lie in (d, d + 1], so d + u lands in d's block.
        local_pick = np.searchsorted(self.district_key, district + u, side="right")
        global_pick = np.searchsorted(self.global_cumulative, u, side="right")
        pick = np.where(local, local_pick, global_pick)
        pick = np.minimum(pick, len(self.place_id) - 1)  # guards float rounding at the top
        return self.place_id[pick], self.median_visit_seconds[pick]


@dataclass(frozen=True, eq=False)
class City:
    """Districts, the places frame and who goes where on a working day."""

    grid: DistrictGrid
    places: pl.DataFrame
    place_kind: np.ndarray  # int8 kind code of every place
    activity_place: np.ndarray  # int32 work or class place of each person, or -1
    activity_kind: np.ndarray  # int8 WORK, SCHOOL, or -1 for people with neither
    venues: VenueCatalogue


def build_city(population: Population, *, grid: DistrictGrid, rng: np.random.Generator) -> City:
    """Place homes, workplaces, classes and venues, and assign workers and pupils."""
    n_people = len(population)
    n_districts = len(grid.codes)
    home_lat, home_lon = grid.random_points(population.household_district, rng)

    activity_place = np.full(n_people, NO_PLACE, dtype=np.int32)
    activity_kind = np.full(n_people, NO_PLACE, dtype=np.int8)

    first_work = population.households
    workers = _employed(population, rng)
    work_sizes = _workplace_sizes(len(workers), rng)
    activity_place[workers] = first_work + np.repeat(np.arange(len(work_sizes)), work_sizes)
    activity_kind[workers] = WORK
    work_district = rng.integers(0, n_districts, len(work_sizes))
    work_lat, work_lon = grid.random_points(work_district, rng)

    first_class = first_work + len(work_sizes)
    pupils, pupil_class, class_district, class_school = _school_classes(
        population, n_districts=n_districts, rng=rng
    )
    activity_place[pupils] = first_class + pupil_class
    activity_kind[pupils] = SCHOOL
    n_schools = int(class_school.max()) + 1 if len(class_school) else 0
    school_district = np.zeros(n_schools, dtype=np.int64)
    school_district[class_school] = class_district
    school_lat, school_lon = grid.random_points(school_district, rng)

    first_venue = first_class + len(class_district)
    n_venues = max(4 * n_districts, round(n_people / PEOPLE_PER_VENUE))
    venue_kind = rng.choice(
        len(VENUE_KINDS), size=n_venues, p=_normalised([k.share for k in VENUE_KINDS])
    )
    venue_district = rng.integers(0, n_districts, n_venues)
    venue_lat, venue_lon = grid.random_points(venue_district, rng)
    popularity = np.array([k.popularity for k in VENUE_KINDS])[venue_kind] * rng.lognormal(
        0.0, 0.8, n_venues
    )
    venues = _venue_catalogue(
        first_venue + np.arange(n_venues), venue_district, popularity, venue_kind, n_districts
    )

    kinds = np.concatenate(
        [
            np.full(population.households, HOME),
            np.full(len(work_sizes), WORK),
            np.full(len(class_district), SCHOOL),
            np.full(n_venues, VENUE),
        ]
    ).astype(np.int8)
    names = pl.concat(
        [
            pl.select(
                pl.lit("Home of household ")
                + pl.Series(np.arange(population.households)).cast(pl.String)
            ).to_series(),
            _workplace_names(len(work_sizes), rng),
            _class_names(class_school, rng),
            _venue_names(venue_kind, rng),
        ]
    )
    district_index = np.concatenate(
        [population.household_district, work_district, class_district, venue_district]
    ).astype(np.int64)
    places = pl.DataFrame(
        {
            "place_id": pl.Series(np.arange(len(kinds), dtype=np.int32)),
            "kind": pl.Series(KIND_NAMES).gather(kinds.astype(np.int64)),
            "name": names,
            "lat": np.concatenate([home_lat, work_lat, school_lat[class_school], venue_lat]),
            "lon": np.concatenate([home_lon, work_lon, school_lon[class_school], venue_lon]),
            "district_code": pl.Series(grid.codes).gather(district_index),
        }
    )
    return City(
        grid=grid,
        places=places,
        place_kind=kinds,
        activity_place=activity_place,
        activity_kind=activity_kind,
        venues=venues,
    )


def _normalised(weights: list[float] | np.ndarray) -> np.ndarray:
    """Weights scaled to sum to one, for rng.choice."""
    array = np.asarray(weights, dtype=np.float64)
    return array / array.sum()


def _employed(population: Population, rng: np.random.Generator) -> np.ndarray:
    """Shuffled ids of working-age people who have a job (shuffled: random workplaces)."""
    age = population.age_years
    low, high = WORKING_AGES
    eligible = (age >= low) & (age <= high) & (rng.random(len(age)) < SHARE_EMPLOYED)
    return rng.permutation(np.flatnonzero(eligible))


def _workplace_sizes(n_workers: int, rng: np.random.Generator) -> np.ndarray:
    """Headcounts of workplaces summing exactly to n_workers."""
    if n_workers == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.zeros(0, dtype=np.int64)
    while sizes.sum() < n_workers:
        batch = rng.lognormal(
            math.log(WORKPLACE_MEDIAN_SIZE), WORKPLACE_SIZE_SIGMA, n_workers // 8 + 4
        )
        sizes = np.concatenate(
            [sizes, np.clip(np.round(batch), 1, WORKPLACE_MAX_SIZE).astype(np.int64)]
        )
    cumulative = np.cumsum(sizes)
    count = int(np.searchsorted(cumulative, n_workers)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= int(cumulative[count - 1]) - n_workers
    return sizes


def _school_classes(
    population: Population, *, n_districts: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group pupils into same-age classes within their district, classes into schools.

    Returns pupil ids, each pupil's class index, and each class's district and school.
    """
    age = population.age_years
    low, high = SCHOOL_AGES
    pupils = np.flatnonzero((age >= low) & (age <= high))
    district = population.district[pupils].astype(np.int64)
    # Sort by district, then age, random within an age, so classes are age cohorts.
    order = np.lexsort((rng.random(len(pupils)), age[pupils], district))
    pupils, district = pupils[order], district[order]
    per_district = np.bincount(district, minlength=n_districts)
    district_start = np.cumsum(per_district) - per_district
    rank = np.arange(len(pupils)) - district_start[district]
    classes_per_district = np.maximum(1, np.round(per_district / CLASS_SIZE)).astype(np.int64)
    classes_per_district[per_district == 0] = 0
    class_start = np.cumsum(classes_per_district) - classes_per_district
    local_class = rank * classes_per_district[district] // np.maximum(per_district[district], 1)
    pupil_class = class_start[district] + local_class

    class_district = np.repeat(np.arange(n_districts), classes_per_district)
    local_class_of_class = np.arange(len(class_district)) - class_start[class_district]
    schools_per_district = -(-classes_per_district // CLASSES_PER_SCHOOL)
    school_start = np.cumsum(schools_per_district) - schools_per_district
    class_school = school_start[class_district] + local_class_of_class // CLASSES_PER_SCHOOL
    return pupils, pupil_class.astype(np.int32), class_district, class_school


def _venue_catalogue(
    place_id: np.ndarray,
    district: np.ndarray,
    popularity: np.ndarray,
    kind: np.ndarray,
    n_districts: int,
) -> VenueCatalogue:
    """Sort venues by district and precompute the cumulative weights choose() searches."""
    order = np.argsort(district, kind="stable")
    place_id, district, popularity, kind = (
        place_id[order],
        district[order],
        popularity[order],
        kind[order],
    )
    totals = np.bincount(district, weights=popularity, minlength=n_districts)
    within = np.cumsum(popularity) - np.repeat(
        np.cumsum(totals) - totals, np.bincount(district, minlength=n_districts)
    )
    minutes = np.array([k.median_visit_minutes for k in VENUE_KINDS])
    return VenueCatalogue(
        place_id=place_id.astype(np.int32),
        district_key=district + within / totals[district],
        global_cumulative=np.cumsum(popularity) / popularity.sum(),
        median_visit_seconds=minutes[kind] * 60.0,
    )


def _unique_combinations(
    count: int, first: list[str], second: list[str], rng: np.random.Generator, *, suffix: str = ""
) -> pl.Series:
    """count distinct names "first second suffix", numbered " 2", " 3" once combinations run out."""
    combinations = len(first) * len(second)
    index = np.arange(count)
    chosen = rng.permutation(combinations)[index % combinations]
    branch = index // combinations
    return pl.select(
        pl.Series(first).gather(chosen // len(second))
        + pl.lit(" ")
        + pl.Series(second).gather(chosen % len(second))
        + pl.lit(suffix)
        + pl.when(pl.Series(branch) > 0)
        .then(pl.lit(" ") + (pl.Series(branch) + 1).cast(pl.String))
        .otherwise(pl.lit(""))
    ).to_series()


def _workplace_names(count: int, rng: np.random.Generator) -> pl.Series:
    """Names like "Bakker Logistics": a family name and a trade."""
    family = sorted({name for culture in CULTURES for name in culture.family})
    return _unique_combinations(count, family, list(WORKPLACE_TRADES), rng)


def _class_names(class_school: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Names like "Spinoza School, class 3" (one place per class)."""
    n_schools = int(class_school.max()) + 1 if len(class_school) else 0
    base = np.array(SCHOOL_NAMES)[rng.permutation(n_schools) % len(SCHOOL_NAMES)]
    copy_number = np.arange(n_schools) // len(SCHOOL_NAMES)
    school = [
        f"{name} School" + (f" {number + 1}" if number else "")
        for name, number in zip(base.tolist(), copy_number.tolist(), strict=True)
    ]
    first_class_of_school = np.searchsorted(class_school, np.arange(n_schools))
    class_number = np.arange(len(class_school)) - first_class_of_school[class_school] + 1
    return pl.select(
        pl.Series(school).gather(class_school)
        + pl.lit(", class ")
        + pl.Series(class_number).cast(pl.String)
    ).to_series()


def _venue_names(venue_kind: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Readable venue names like "Blue Door Café", distinct within each kind."""
    names = np.empty(len(venue_kind), dtype=object)
    for kind_index, kind in enumerate(VENUE_KINDS):
        members = np.flatnonzero(venue_kind == kind_index)
        names[members] = _unique_combinations(
            len(members), list(VENUE_ADJECTIVES), list(VENUE_NOUNS), rng, suffix=f" {kind.label}"
        ).to_list()
    return pl.Series(names.tolist(), dtype=pl.String)

"""Residents: households, ages, sexes, names and the identifiers a lab would record.

Everything is drawn per household and per person with whole-array numpy operations
so that a million residents take about a second. Identity strings (names, phones,
national ids, addresses) are assembled by polars, which builds string columns far
faster than Python formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from epitrace.synth._names import CULTURES, STREETS

# Household sizes 1..6, roughly the mix of a large Dutch city (mean about 2.4).
HOUSEHOLD_SIZE_WEIGHTS = np.array([0.30, 0.32, 0.15, 0.15, 0.06, 0.02])
SEX_NAMES = ("female", "male", "other", "unknown")
FEMALE, MALE, OTHER, UNKNOWN = range(4)
# A small share of records say "other" or "unknown" so that sex never joins reliably.
SHARE_SEX_OTHER = 0.004
SHARE_SEX_UNKNOWN = 0.006
# Couples keep separate family names this often; children take the first adult's name.
SHARE_PARTNER_OWN_FAMILY_NAME = 0.45
# The second member of a household is a partner this often, otherwise a child.
SHARE_SECOND_IS_PARTNER = 0.82
# Newborns are at least a month old on start_date; see _birth_days.
MIN_DAYS_OLD = 30
# Exponent > 1 skews name draws towards the front (most popular) of each list.
NAME_POPULARITY_SKEW = 1.6


@dataclass(frozen=True, eq=False)
class Population:
    """Per-person arrays the simulation needs, plus the public people frame."""

    household_id: np.ndarray  # int32, households numbered 0..H-1 in person order
    household_district: np.ndarray  # int16, district index of each household
    district: np.ndarray  # int16, district index of each person
    age_years: np.ndarray  # int16, completed years on start_date
    frame: pl.DataFrame  # the `Outbreak.people` frame

    @property
    def households(self) -> int:
        """Number of households."""
        return len(self.household_district)

    def __len__(self) -> int:
        return len(self.household_id)


def build_population(
    n_people: int,
    *,
    start_date: date,
    district_codes: list[str],
    district_names: list[str],
    rng: np.random.Generator,
) -> Population:
    """Draw households and their members, then give everyone a lab-ready identity."""
    sizes = _household_sizes(n_people, rng)
    n_households = len(sizes)
    household_id = np.repeat(np.arange(n_households, dtype=np.int32), sizes)
    first_member = np.cumsum(sizes) - sizes
    rank = np.arange(n_people) - first_member[household_id]  # 0 = first adult
    size = sizes[household_id]

    age = _ages(rank, size, household_id, rng)
    sex = _sexes(rank, household_id, rng)
    household_district = rng.integers(0, len(district_codes), n_households).astype(np.int16)
    district = household_district[household_id]

    given, family = _names(rank, sex, household_id, n_households, rng)
    dob_days = _birth_days(age, start_date, rng)
    frame = _people_frame(
        given=given,
        family=family,
        dob_days=dob_days,
        sex=sex,
        household_id=household_id,
        household_district=household_district,
        district=district,
        district_codes=district_codes,
        district_names=district_names,
        rng=rng,
    )
    return Population(
        household_id=household_id,
        household_district=household_district,
        district=district,
        age_years=age.astype(np.int16),
        frame=frame,
    )


def _household_sizes(n_people: int, rng: np.random.Generator) -> np.ndarray:
    """Household sizes summing exactly to n_people (the last household is trimmed)."""
    weights = HOUSEHOLD_SIZE_WEIGHTS / HOUSEHOLD_SIZE_WEIGHTS.sum()
    mean_size = float(np.dot(np.arange(1, 7), weights))
    drawn: list[np.ndarray] = []
    total = 0
    while total < n_people:
        batch = rng.choice(np.arange(1, 7), size=int(n_people / mean_size * 1.05) + 8, p=weights)
        drawn.append(batch)
        total += int(batch.sum())
    sizes = np.concatenate(drawn)
    cumulative = np.cumsum(sizes)
    n_households = int(np.searchsorted(cumulative, n_people)) + 1
    sizes = sizes[:n_households].copy()
    sizes[-1] -= int(cumulative[n_households - 1]) - n_people
    return sizes.astype(np.int64)


def _ages(
    rank: np.ndarray, size: np.ndarray, household_id: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Ages in years: a first adult, then a partner or child, then children."""
    n = len(rank)
    # Single and two-person households span all adult ages, families have parents 26-55.
    adult_ages = np.arange(19, 99)
    adult_weights = np.where(adult_ages <= 62, 1.0, np.clip((100 - adult_ages) / 38.0, 0.02, 1.0))
    any_adult = rng.choice(adult_ages, size=n, p=adult_weights / adult_weights.sum())
    parent_age = rng.integers(26, 56, n)
    head_age_by_person = np.where(size >= 3, parent_age, any_adult)
    # Broadcast the first member's age to the whole household.
    first_index = np.flatnonzero(rank == 0)
    head_age = head_age_by_person[first_index][household_id]

    partner_age = np.clip(head_age + np.round(rng.normal(0.0, 4.0, n)).astype(np.int64), 19, 98)
    max_child_age = np.clip(head_age - 20, 0, 18)
    child_age = np.floor(rng.random(n) * (max_child_age + 1)).astype(np.int64)
    second_is_partner = (rng.random(n) < SHARE_SECOND_IS_PARTNER) | (head_age < 20)

    age = np.where(rank >= 2, child_age, np.where(second_is_partner, partner_age, child_age))
    return np.where(rank == 0, head_age, age).astype(np.int64)


def _sexes(rank: np.ndarray, household_id: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sex codes: couples are mostly mixed-sex, children 50/50, a few other/unknown."""
    n = len(rank)
    coin = (rng.random(n) < 0.5).astype(np.int8)  # 0 female, 1 male
    head_sex = coin[np.flatnonzero(rank == 0)][household_id]
    partner_sex = np.where(rng.random(n) < 0.92, 1 - head_sex, head_sex)
    sex = np.where(rank == 1, partner_sex, coin).astype(np.int8)
    sex = np.where(rank == 0, head_sex, sex).astype(np.int8)
    u = rng.random(n)
    sex[u < SHARE_SEX_OTHER + SHARE_SEX_UNKNOWN] = UNKNOWN
    sex[u < SHARE_SEX_OTHER] = OTHER
    return sex


def _skewed_pick(lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An index into lists of the given lengths, favouring the front of each list."""
    return np.floor(lengths * rng.random(len(lengths)) ** NAME_POPULARITY_SKEW).astype(np.int64)


def _names(
    rank: np.ndarray,
    sex: np.ndarray,
    household_id: np.ndarray,
    n_households: int,
    rng: np.random.Generator,
) -> tuple[pl.Series, pl.Series]:
    """Given and family names, drawn from the household's naming culture."""
    shares = np.array([culture.share for culture in CULTURES])
    household_culture = rng.choice(len(CULTURES), size=n_households, p=shares / shares.sum())
    culture = household_culture[household_id]

    def flat(attribute: str) -> tuple[pl.Series, np.ndarray, np.ndarray]:
        lists = [getattr(c, attribute) for c in CULTURES]
        lengths = np.array([len(names) for names in lists])
        offsets = np.cumsum(lengths) - lengths
        return pl.Series([name for names in lists for name in names]), offsets, lengths

    family_names, family_offsets, family_lengths = flat("family")
    household_family = family_offsets[household_culture] + _skewed_pick(
        family_lengths[household_culture], rng
    )
    own_family = family_offsets[culture] + _skewed_pick(family_lengths[culture], rng)
    keeps_own = (rank == 1) & (rng.random(len(rank)) < SHARE_PARTNER_OWN_FAMILY_NAME)
    family_index = np.where(keeps_own, own_family, household_family[household_id])

    female_names, female_offsets, female_lengths = flat("female")
    male_names, male_offsets, male_lengths = flat("male")
    # "other"/"unknown" records still carry a conventional given name, either kind.
    feminine = (sex == FEMALE) | ((sex >= OTHER) & (rng.random(len(rank)) < 0.5))
    female_index = female_offsets[culture] + _skewed_pick(female_lengths[culture], rng)
    male_index = male_offsets[culture] + _skewed_pick(male_lengths[culture], rng)
    given = female_names.gather(female_index).zip_with(
        pl.Series(feminine), male_names.gather(male_index)
    )
    return given.alias("given_name"), family_names.gather(family_index).alias("family_name")


def _birth_days(age: np.ndarray, start_date: date, rng: np.random.Generator) -> np.ndarray:
    """Days since 1970-01-01 of each birth date, consistent with the age on start_date.

    Everyone is at least MIN_DAYS_OLD on start_date, so no specimen (the earliest are
    collected a few days before start_date) predates its person's birth.
    """
    start_days = (start_date - date(1970, 1, 1)).days
    spread = 365.0 - MIN_DAYS_OLD
    days_old = np.floor(age * 365.25 + MIN_DAYS_OLD + rng.random(len(age)) * spread)
    days_old = days_old.astype(np.int64)
    return (start_days - days_old).astype(np.int32)


def _affine_permutation(n: int, modulus: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct numbers below modulus (a power of ten), scattered by a random affine map.

    A multiplier coprime with 10 makes i -> (a*i + b) mod 10**k a bijection, so
    uniqueness holds without materialising a permutation of the whole range.
    """
    multiplier = int(rng.integers(1, modulus // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))
    offset = int(rng.integers(0, modulus))
    return (np.arange(n, dtype=np.int64) * multiplier + offset) % modulus


def _people_frame(
    *,
    given: pl.Series,
    family: pl.Series,
    dob_days: np.ndarray,
    sex: np.ndarray,
    household_id: np.ndarray,
    household_district: np.ndarray,
    district: np.ndarray,
    district_codes: list[str],
    district_names: list[str],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Assemble the public people frame with its exact column order and types."""
    n = len(household_id)
    n_households = len(household_district)
    # Address per household: a street, a house number and the district's name.
    street = rng.integers(0, len(STREETS), n_households)
    number = rng.integers(1, 400, n_households)
    addresses = pl.select(
        pl.Series(STREETS).gather(street)
        + pl.lit(" ")
        + pl.Series(number).cast(pl.String)
        + pl.lit(", ")
        + pl.Series(district_names).gather(household_district.astype(np.int64))
    ).to_series()
    phone_suffix = _affine_permutation(n, 10_000_000, rng)
    national_number = _affine_permutation(n, 1_000_000_000, rng)
    return pl.DataFrame(
        {
            "person_id": pl.Series(np.arange(n, dtype=np.int32)),
            "given_name": given,
            "family_name": family,
            "date_of_birth": pl.Series(dob_days).cast(pl.Date),
            "sex": pl.Series(SEX_NAMES).gather(sex.astype(np.int64)),
            "phone": pl.select(
                pl.lit("+1555") + pl.Series(phone_suffix).cast(pl.String).str.zfill(7)
            ).to_series(),
            "national_id": pl.select(
                pl.lit("NID") + pl.Series(national_number).cast(pl.String).str.zfill(9)
            ).to_series(),
            "address": addresses.gather(household_id.astype(np.int64)),
            "household_id": pl.Series(household_id, dtype=pl.Int32),
            "district_code": pl.Series(district_codes).gather(district.astype(np.int64)),
            # Homes are the first places, one per household, so the ids coincide.
            "home_place_id": pl.Series(household_id, dtype=pl.Int32),
        }
    )

"""Lab report rows as a surveillance system receives them: partial, noisy identities.

Every row, whether generated with the outbreak or requested later through
``Outbreak.lab_row``, goes through ``lab_frame``: which identifiers it carries,
its lab, its specimen id and any typo are keyed draws on the row's own fields, so
the same request always yields the same row.
"""

from __future__ import annotations

from datetime import date
from enum import IntEnum

import numpy as np
import polars as pl

from epitrace.intake.labs import LAB_COLUMNS as INTAKE_LAB_COLUMNS
from epitrace.synth._config import SynthConfig
from epitrace.synth._disease import (
    COLLECTION_SECONDS_INTO_DAY,
    DAY_SECONDS,
    INCONCLUSIVE,
    NEGATIVE,
    RESULT_NAMES,
    TEST_TYPE_NAMES,
    DiseaseLedger,
    spontaneous_test_types,
)
from epitrace.synth._keyed_random import Stream, keyed_bits, keyed_uniform

# The lab file's columns, led by the ground truth the pipeline needs (arrival day, person).
LAB_COLUMNS = ("day", "person_id", *INTAKE_LAB_COLUMNS)
LAB_IDS = ("LAB-NORTH", "LAB-SOUTH", "LAB-EAST", "LAB-WEST", "LAB-CENTRAL")
# Of the rows with a name error, this share has given and family name swapped; the
# rest have one letter substituted, dropped, doubled or transposed in the family name.
SHARE_SWAPPED_NAMES = 0.3
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Origin(IntEnum):
    """Why a test was taken; part of every row's key so specimen ids never collide."""

    SPONTANEOUS = 1  # a symptomatic case sought a test
    BACKGROUND = 2  # someone with another illness tested negative
    REQUESTED = 3  # the pipeline asked for a row through Outbreak.lab_row


def lab_frame(
    config: SynthConfig,
    *,
    people: pl.DataFrame,
    person: np.ndarray,
    collected_day: np.ndarray,
    resulted_day: np.ndarray,
    result: np.ndarray,
    test_type: np.ndarray,
    origin: Origin,
) -> pl.DataFrame:
    """Lab rows with exactly LAB_COLUMNS, one per element of the input arrays."""
    person = np.asarray(person, dtype=np.int64)
    collected_day = np.asarray(collected_day, dtype=np.int64)
    resulted_day = np.asarray(resulted_day, dtype=np.int64)
    result = np.asarray(result, dtype=np.int64)
    test_type = np.asarray(test_type, dtype=np.int64)
    keys = (int(origin), person, collected_day, resulted_day, result, test_type)
    seed = config.seed

    def draw(stream: Stream) -> np.ndarray:
        return np.broadcast_to(keyed_uniform(seed, stream, *keys), person.shape)

    has_national_id = draw(Stream.LAB_NATIONAL_ID) < config.share_with_national_id
    has_phone = draw(Stream.LAB_PHONE) < config.share_with_phone
    misspelt = np.flatnonzero(draw(Stream.LAB_TYPO) < config.typo_rate)
    lab = np.broadcast_to(keyed_bits(seed, Stream.LAB_ID, *keys), person.shape) % np.uint64(
        len(LAB_IDS)
    )
    specimen_bits = np.broadcast_to(keyed_bits(seed, Stream.SPECIMEN_ID, *keys), person.shape)
    # 56 bits in 14 hex digits: collisions need ~10**8 rows, far beyond any run.
    specimen_ids = [f"SPC-{value:014X}" for value in (specimen_bits >> np.uint64(8)).tolist()]

    identity = people.select(
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "phone",
        "national_id",
        "address",
        "district_code",
    )[person]
    given = identity["given_name"]
    family = identity["family_name"]
    if len(misspelt):
        given, family = _misspell_rows(
            given,
            family,
            misspelt,
            np.broadcast_to(keyed_bits(seed, Stream.LAB_TYPO_DETAIL, *keys), person.shape),
        )

    start_days = (config.start_date - date(1970, 1, 1)).days
    return (
        pl.DataFrame(
            {
                "day": pl.Series(resulted_day, dtype=pl.Int32),
                "person_id": pl.Series(person, dtype=pl.Int32),
                "lab_id": pl.Series(LAB_IDS).gather(lab.astype(np.int64)),
                "specimen_id": pl.Series(specimen_ids, dtype=pl.String),
                "collected_on": pl.Series(collected_day + start_days, dtype=pl.Int32).cast(pl.Date),
                "resulted_on": pl.Series(resulted_day + start_days, dtype=pl.Int32).cast(pl.Date),
                "result": pl.Series(RESULT_NAMES).gather(result),
                "test_type": pl.Series(TEST_TYPE_NAMES).gather(test_type),
                "given_name": given,
                "family_name": family,
                "date_of_birth": identity["date_of_birth"],
                "sex": identity["sex"],
                "phone": identity["phone"],
                "national_id": identity["national_id"],
                "address": identity["address"],
                "jurisdiction_code": identity["district_code"],
                "_has_phone": pl.Series(has_phone, dtype=pl.Boolean),
                "_has_national_id": pl.Series(has_national_id, dtype=pl.Boolean),
            }
        )
        .with_columns(
            phone=pl.when(pl.col("_has_phone")).then(pl.col("phone")),
            national_id=pl.when(pl.col("_has_national_id")).then(pl.col("national_id")),
        )
        .drop("_has_phone", "_has_national_id")
    )


def _misspell_rows(
    given: pl.Series, family: pl.Series, rows: np.ndarray, bits: np.ndarray
) -> tuple[pl.Series, pl.Series]:
    """Swap names or put a one-letter error in the family name of the given rows."""
    given_list, family_list = given.to_list(), family.to_list()
    for row in rows.tolist():
        detail = int(bits[row])
        if (detail % 1000) / 1000 < SHARE_SWAPPED_NAMES:
            given_list[row], family_list[row] = family_list[row], given_list[row]
        else:
            family_list[row] = misspell(family_list[row], detail >> 10)
    return (
        pl.Series(given.name, given_list, dtype=pl.String),
        pl.Series(family.name, family_list, dtype=pl.String),
    )


def misspell(name: str, detail: int) -> str:
    """One-letter error chosen by ``detail``: substitution, deletion, doubling or transposition."""
    letters = [i for i, char in enumerate(name) if char.isalpha()]
    if not letters:
        return name + "x"
    operation = detail % 4
    position = letters[(detail >> 2) % len(letters)]
    if operation == 1 and len(letters) > 2:
        return name[:position] + name[position + 1 :]
    if operation == 2:
        return name[: position + 1] + name[position] + name[position + 1 :]
    if operation == 3 and position + 1 < len(name) and name[position] != name[position + 1]:
        return name[:position] + name[position + 1] + name[position] + name[position + 2 :]
    original = name[position]
    alphabet = _LETTERS.replace(original.lower(), "")
    replacement = alphabet[(detail >> 12) % len(alphabet)]
    if original.isupper():
        replacement = replacement.upper()
    return name[:position] + replacement + name[position + 1 :]


def spontaneous_reports(
    config: SynthConfig, ledger: DiseaseLedger, *, people: pl.DataFrame
) -> pl.DataFrame:
    """Rows of every self-sought test whose result arrives within the simulated days."""
    person = np.flatnonzero(
        ledger.seeks_test & (ledger.resulted_day >= 0) & (ledger.resulted_day < config.days)
    )
    return lab_frame(
        config,
        people=people,
        person=person,
        collected_day=ledger.collected_day[person],
        resulted_day=ledger.resulted_day[person],
        result=ledger.result[person],
        test_type=ledger.test_type[person],
        origin=Origin.SPONTANEOUS,
    )


def background_reports(
    config: SynthConfig, ledger: DiseaseLedger, *, people: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Negative (now and then inconclusive) tests of uninfected people with other illnesses."""
    n_people = len(ledger.infected_at)
    longest_delay = len(config.specimen_to_result_weights) - 1
    collection_days = np.arange(-longest_delay, config.days)
    per_day = rng.poisson(config.background_tests_per_1000 * n_people / 1000, len(collection_days))
    collected_day = np.repeat(collection_days, per_day)
    person = rng.integers(0, n_people, len(collected_day))
    weights = np.asarray(config.specimen_to_result_weights, dtype=np.float64)
    resulted_day = collected_day + rng.choice(
        len(weights), size=len(person), p=weights / weights.sum()
    )

    collected_at = collected_day * DAY_SECONDS + COLLECTION_SECONDS_INTO_DAY
    # Only people not yet infected at collection: their truthful result is negative.
    keep = (
        (resulted_day >= 0)
        & (resulted_day < config.days)
        & (ledger.infected_at[person] > collected_at)
    )
    person, collected_day, resulted_day = person[keep], collected_day[keep], resulted_day[keep]
    # One background test per person and collection day.
    _, first = np.unique(
        person * (config.days + longest_delay + 1) + (collected_day + longest_delay),
        return_index=True,
    )
    first.sort()
    person, collected_day, resulted_day = person[first], collected_day[first], resulted_day[first]

    inconclusive = (
        keyed_uniform(config.seed, Stream.TEST_INCONCLUSIVE, person, collected_day)
        < config.share_inconclusive
    )
    return lab_frame(
        config,
        people=people,
        person=person,
        collected_day=collected_day,
        resulted_day=resulted_day,
        result=np.where(inconclusive, INCONCLUSIVE, NEGATIVE),
        test_type=spontaneous_test_types(config, person=person, collected_day=collected_day),
        origin=Origin.BACKGROUND,
    )

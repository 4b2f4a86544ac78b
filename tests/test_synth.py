"""Behaviour of epitrace.synth: reproducible, self-consistent ground truth."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import epitrace.synth
from epitrace.errors import InputError
from epitrace.synth import Interview, Outbreak, SynthConfig, generate
from epitrace.synth._lab import LAB_COLUMNS, misspell
from epitrace.synth._mobility import DayPresences, PresenceWriter
from epitrace.synth._transmission import transmit
from tests.conftest import examples

SMALL = SynthConfig(people=2_000, days=14, seed=7, initial_infections=20)
DAY = 86_400


@pytest.fixture(scope="module")
def outbreak() -> Outbreak:
    return generate(SMALL)


@pytest.fixture(scope="module")
def presences(outbreak: Outbreak) -> pl.DataFrame:
    return outbreak.presences.sort("person_id", "start")


def test_public_names_are_pinned() -> None:
    assert epitrace.synth.__all__ == [
        "Interview",
        "Outbreak",
        "PresenceArrays",
        "RecalledContact",
        "RecalledVisit",
        "SynthConfig",
        "generate",
    ]
    assert epitrace.synth.__all__ == sorted(epitrace.synth.__all__)


@pytest.mark.parametrize(
    "module",
    ["epitrace.synth", "epitrace.synth._config", "epitrace.synth._outbreak"],
)
def test_docstring_examples_run(module: str) -> None:
    failures, _ = doctest.testmod(importlib.import_module(module))
    assert failures == 0


def test_every_config_field_is_documented_by_a_comment() -> None:
    source = importlib.import_module("epitrace.synth._config").__file__
    assert source is not None
    lines = Path(source).read_text(encoding="utf-8").splitlines()
    for field in dataclasses.fields(SynthConfig):
        line = next(i for i, text in enumerate(lines) if text.strip().startswith(f"{field.name}:"))
        assert lines[line - 1].strip().startswith("#"), field.name


def test_config_defaults_match_the_contract() -> None:
    config = SynthConfig()
    assert (config.people, config.days, config.seed, config.districts) == (20_000, 30, 1, 4)
    assert config.start_date == date(2026, 3, 2)
    assert (config.initial_infections, config.share_asymptomatic, config.test_sensitivity) == (
        10,
        0.3,
        0.9,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"people": 0}, "`people` must be between 1 and 10,000,000, got 0"),
        ({"recall_visits": 1.5}, "`recall_visits` must be between 0.0 and 1.0, got 1.5"),
        (
            {"initial_infections": 50, "people": 10},
            "`initial_infections` must be between 0 and 10, got 50",
        ),
        (
            {"onset_to_test_weights": (0.0, 0.0)},
            "`onset_to_test_weights` must have a positive sum, got (0.0, 0.0)",
        ),
    ],
)
def test_config_rejects_bad_values_naming_them(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as error:
        SynthConfig(**overrides)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_same_seed_gives_identical_frames(outbreak: Outbreak) -> None:
    again = generate(SMALL)
    for name in ("people", "places", "presences", "infections", "lab_reports"):
        assert_frame_equal(getattr(outbreak, name), getattr(again, name))
    assert again.jurisdictions == outbreak.jurisdictions


def test_different_seed_gives_different_frames(outbreak: Outbreak) -> None:
    other = generate(dataclasses.replace(SMALL, seed=8))
    for name in ("people", "presences", "infections", "lab_reports"):
        assert not getattr(outbreak, name).equals(getattr(other, name)), name


def test_city_shape(outbreak: Outbreak) -> None:
    assert outbreak.epoch == 1_772_409_600  # 2026-03-02 00:00 UTC
    assert outbreak.jurisdictions == [
        ("CITY", "Synthville", None),
        ("D1", "Oldtown", "CITY"),
        ("D2", "Northbank", "CITY"),
        ("D3", "Eastport", "CITY"),
        ("D4", "Southfield", "CITY"),
    ]
    people, places = outbreak.people, outbreak.places
    assert people.columns == [
        "person_id", "given_name", "family_name", "date_of_birth", "sex", "phone",
        "national_id", "address", "household_id", "district_code", "home_place_id",
    ]  # fmt: skip
    assert people["person_id"].to_list() == list(range(SMALL.people))
    assert people["phone"].is_unique().all()
    assert people["national_id"].is_unique().all()
    assert people["phone"].str.contains(r"^\+1555\d{7}$").all()
    assert people.group_by("household_id").len()["len"].is_between(1, 6).all()
    assert set(people["sex"].unique()) <= {"female", "male", "other", "unknown"}
    assert places["kind"].unique().sort().to_list() == ["home", "school", "venue", "work"]
    assert places["lat"].is_between(52.32, 52.42).all()
    assert places["lon"].is_between(4.82, 4.98).all()
    homes = places.filter(pl.col("kind") == "home")
    assert homes["name"][0] == "Home of household 0"
    # Districts are spatial quarters: D1 north-west, D4 south-east.
    d1 = places.filter(pl.col("district_code") == "D1")
    d4 = places.filter(pl.col("district_code") == "D4")
    assert d1["lat"].min() > d4["lat"].max()
    assert d1["lon"].max() < d4["lon"].min()


def test_presences_are_half_open_and_never_overlap(
    outbreak: Outbreak, presences: pl.DataFrame
) -> None:
    assert presences.schema == {
        "person_id": pl.Int32,
        "place_id": pl.Int32,
        "start": pl.Int64,
        "end": pl.Int64,
    }
    assert (presences["end"] > presences["start"]).all()
    checked = presences.with_columns(
        next_start=pl.col("start").shift(-1).over("person_id"),
        day_start=pl.col("start") - (pl.col("start") - outbreak.epoch) % DAY,
    )
    assert (checked["next_start"].drop_nulls() >= checked.drop_nulls("next_start")["end"]).all()
    # Nothing crosses midnight and everything lies inside the simulated days.
    assert (checked["end"] <= checked["day_start"] + DAY).all()
    assert presences["start"].min() == outbreak.epoch
    assert presences["end"].max() == outbreak.epoch + SMALL.days * DAY


def test_everyone_sleeps_at_home_with_their_household(
    outbreak: Outbreak, presences: pl.DataFrame
) -> None:
    three_am = [outbreak.epoch + day * DAY + 3 * 3600 for day in range(SMALL.days)]
    at_three = (
        presences.join(pl.DataFrame({"t": three_am}), how="cross")
        .filter((pl.col("start") <= pl.col("t")) & (pl.col("t") < pl.col("end")))
        .join(outbreak.people.select("person_id", "home_place_id"), on="person_id")
    )
    assert at_three.height == SMALL.people * SMALL.days
    assert (at_three["place_id"] == at_three["home_place_id"]).all()


def test_work_and_school_only_on_weekdays(outbreak: Outbreak, presences: pl.DataFrame) -> None:
    kinds = presences.join(outbreak.places.select("place_id", "kind"), on="place_id").with_columns(
        day=(pl.col("start") - outbreak.epoch) // DAY
    )
    weekend = [
        d for d in range(SMALL.days) if (SMALL.start_date + timedelta(days=d)).weekday() >= 5
    ]
    active = kinds.filter(pl.col("kind").is_in(["work", "school"]))
    assert active.height > 0
    assert not active["day"].is_in(weekend).any()
    assert kinds.filter(pl.col("kind") == "venue").height > 0


def test_every_infection_has_a_plausible_infector(
    outbreak: Outbreak, presences: pl.DataFrame
) -> None:
    infections = outbreak.infections
    assert infections["person_id"].is_unique().all()
    seeds = infections.filter(pl.col("setting") == "seed")
    assert seeds.height == SMALL.initial_infections
    assert (seeds["infector_id"] == -1).all()
    assert (seeds["place_id"] == -1).all()
    assert (seeds["infected_at"] < outbreak.epoch).all()

    transmitted = infections.filter(pl.col("setting") != "seed")
    assert transmitted.height > 20
    infector = infections.select(
        infector_id="person_id",
        infector_infected_at="infected_at",
        infector_from="infectious_from",
        infector_until="infectious_until",
    )
    joined = transmitted.join(infector, on="infector_id", how="left")
    assert (joined["infector_infected_at"] < joined["infected_at"]).all()
    assert (joined["infector_from"] <= joined["infected_at"]).all()
    assert (joined["infected_at"] < joined["infector_until"]).all()

    def present(who: str) -> pl.DataFrame:
        return (
            transmitted.join(
                presences, left_on=[who, "place_id"], right_on=["person_id", "place_id"]
            )
            .filter(
                (pl.col("start") <= pl.col("infected_at")) & (pl.col("infected_at") < pl.col("end"))
            )
            .select("person_id")
            .unique()
        )

    assert present("person_id").height == transmitted.height
    assert present("infector_id").height == transmitted.height
    kinds = transmitted.join(outbreak.places.select("place_id", "kind"), on="place_id")
    expected = kinds["kind"].replace({"home": "household"})
    assert (kinds["setting"] == expected).all()


def test_positive_cases_isolate_at_home(outbreak: Outbreak, presences: pl.DataFrame) -> None:
    positives = (
        outbreak.lab_reports.filter(pl.col("result") == "positive")
        .join(outbreak.infections.select("person_id"), on="person_id")
        .group_by("person_id")
        .agg(pl.col("day").min())
    )
    assert positives.height > 0
    away = (
        presences.join(positives, on="person_id")
        .join(outbreak.people.select("person_id", "home_place_id"), on="person_id")
        .filter(
            (pl.col("place_id") != pl.col("home_place_id"))
            & (pl.col("start") >= outbreak.epoch + pl.col("day") * DAY)
            & (pl.col("start") < outbreak.epoch + (pl.col("day") + 10) * DAY)
        )
    )
    assert away.height == 0


def test_lab_reports_columns_and_truthfulness(outbreak: Outbreak) -> None:
    reports = outbreak.lab_reports
    assert tuple(reports.columns) == LAB_COLUMNS
    assert reports.schema["collected_on"] == pl.Date
    assert reports.schema["resulted_on"] == pl.Date
    assert reports["specimen_id"].is_unique().all()
    assert set(reports["result"].unique()) <= {"positive", "negative", "inconclusive"}
    assert set(reports["test_type"].unique()) <= {"PCR", "antigen"}
    assert reports["day"].is_between(0, SMALL.days - 1).all()
    resulted_day = reports.select(
        (pl.col("resulted_on") - pl.lit(SMALL.start_date)).dt.total_days()
    )
    assert (resulted_day.to_series() == reports["day"]).all()
    assert (reports["collected_on"] <= reports["resulted_on"]).all()
    assert (reports["date_of_birth"] < reports["collected_on"]).all()

    positives = reports.filter(pl.col("result") == "positive")
    assert positives.height > 0
    assert positives["person_id"].is_in(outbreak.infections["person_id"].implode()).all()
    # Negatives include background tests of people with something else.
    assert reports.filter(pl.col("result") == "negative").height > positives.height

    truth = outbreak.people.select(
        "person_id", true_phone="phone", true_nid="national_id", true_district="district_code"
    )
    joined = reports.join(truth, on="person_id")
    assert (joined["jurisdiction_code"] == joined["true_district"]).all()
    assert (joined.drop_nulls("phone")["phone"] == joined.drop_nulls("phone")["true_phone"]).all()
    with_nid = joined.drop_nulls("national_id")
    assert (with_nid["national_id"] == with_nid["true_nid"]).all()
    assert 0.4 < with_nid.height / joined.height < 0.95


def test_lab_results_agree_with_test_result(outbreak: Outbreak) -> None:
    decided = outbreak.lab_reports.filter(pl.col("result") != "inconclusive").with_columns(
        collected_day=(pl.col("collected_on") - pl.lit(SMALL.start_date)).dt.total_days()
    )
    for person, day, result in (
        decided.select("person_id", "collected_day", "result").head(300).iter_rows()
    ):
        assert outbreak.test_result(person, collected_day=day) == result


def test_test_result_is_positive_only_for_infected(outbreak: Outbreak) -> None:
    infected = dict(outbreak.infections.select("person_id", "infected_at").iter_rows())
    positives = 0
    for person in range(0, SMALL.people, 7):
        for day in range(0, SMALL.days, 3):
            result = outbreak.test_result(person, collected_day=day)
            assert result == outbreak.test_result(person, collected_day=day)
            if result == "positive":
                positives += 1
                age = outbreak.epoch + day * DAY + DAY // 2 - infected[person]
                assert 2 * DAY <= age < 20 * DAY
    infected_day_5 = [p for p, t in infected.items() if t < outbreak.epoch - 1 * DAY]
    hits = [outbreak.test_result(p, collected_day=5) == "positive" for p in infected_day_5]
    assert positives > 0
    assert sum(hits) >= len(hits) // 2


def test_lab_row_matches_report_columns_and_is_deterministic(outbreak: Outbreak) -> None:
    row = outbreak.lab_row(
        12, collected_day=3, resulted_day=4, result="negative", test_type="antigen"
    )
    assert tuple(row) == LAB_COLUMNS
    assert row == outbreak.lab_row(
        12, collected_day=3, resulted_day=4, result="negative", test_type="antigen"
    )
    assert (row["day"], row["person_id"], row["result"], row["test_type"]) == (
        4,
        12,
        "negative",
        "antigen",
    )
    assert row["collected_on"] == SMALL.start_date + timedelta(days=3)
    assert row["specimen_id"] not in set(outbreak.lab_reports["specimen_id"])
    rows = [
        outbreak.lab_row(p, collected_day=1, resulted_day=2, result="positive") for p in range(600)
    ]
    assert 0.75 < sum(r["phone"] is not None for r in rows) / len(rows) < 0.98
    with pytest.raises(
        InputError,
        match="`result` must be one of 'negative', 'positive', 'inconclusive', got 'pos'",
    ):
        outbreak.lab_row(1, collected_day=1, resulted_day=1, result="pos")


def test_typo_rows_differ_by_one_edit_or_a_swap() -> None:
    outbreak = generate(dataclasses.replace(SMALL, typo_rate=0.5, background_tests_per_1000=20.0))
    rows = outbreak.lab_reports.join(
        outbreak.people.select("person_id", true_given="given_name", true_family="family_name"),
        on="person_id",
    )
    changed = rows.filter(
        (pl.col("given_name") != pl.col("true_given"))
        | (pl.col("family_name") != pl.col("true_family"))
    )
    assert 0.35 < changed.height / rows.height < 0.55
    swapped = changed.filter(pl.col("given_name") == pl.col("true_family"))
    assert 0 < swapped.height < changed.height


@settings(max_examples=examples(200), deadline=None)
@given(
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyzÉéß -", min_size=1, max_size=12),
    detail=st.integers(0, 2**50),
)
def test_misspell_is_always_one_edit_away(name: str, detail: int) -> None:
    assert _one_edit_apart(misspell(name, detail), name)


def _one_edit_apart(a: str, b: str) -> bool:
    """True when a differs from b by one substitution, insertion, deletion or swap."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        return len(diff) == 1 or (swapped and a[diff[1]] == b[diff[0]])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    if len(longer) != len(shorter) + 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _copresent(
    presences: pl.DataFrame, a: int, b: int, place: int, *, since: int, until: int, epoch: int
) -> dict[int, int]:
    """Seconds a and b spent together at place per day within [since, until), by day index."""
    rows = presences.filter(pl.col("place_id") == place, pl.col("person_id").is_in([a, b]))
    mine, theirs = rows.filter(pl.col("person_id") == a), rows.filter(pl.col("person_id") == b)
    days: dict[int, int] = {}
    for s1, e1 in mine.select("start", "end").iter_rows():
        for s2, e2 in theirs.select("start", "end").iter_rows():
            low, high = max(s1, s2, since), min(e1, e2, until)
            if high > low:
                day = (low - epoch) // DAY
                days[day] = days.get(day, 0) + high - low
    return days


def test_interview_recalls_only_true_presences_and_contacts(
    outbreak: Outbreak, presences: pl.DataFrame
) -> None:
    cases = outbreak.infections.filter(pl.col("setting") != "seed")["person_id"].head(12).to_list()
    since, until = outbreak.epoch + 2 * DAY + 3600, outbreak.epoch + 9 * DAY
    people = outbreak.people
    named = 0
    for case in cases:
        story = outbreak.interview(case, since=since, until=until)
        assert isinstance(story, Interview)
        assert story == outbreak.interview(case, since=since, until=until)
        mine = presences.filter(pl.col("person_id") == case)
        home = people["home_place_id"][case]
        assert any(visit.place_id == home for visit in story.visits)
        for visit in story.visits:
            assert since <= visit.start < visit.end <= until
            there = mine.filter(
                pl.col("place_id") == visit.place_id,
                pl.col("start") < visit.end,
                pl.col("end") > visit.start,
            )
            covered = sum(
                min(e, visit.end) - max(s, visit.start)
                for s, e in there.select("start", "end").iter_rows()
            )
            assert covered == visit.end - visit.start
        settings_count: dict[str, int] = {}
        for contact in story.contacts:
            named += 1
            settings_count[contact.setting] = settings_count.get(contact.setting, 0) + 1
            assert contact.person_id != case
            person = people.row(contact.person_id, named=True)
            assert (contact.given_name, contact.family_name) == (
                person["given_name"],
                person["family_name"],
            )
            if contact.setting == "household":
                assert person["household_id"] == people["household_id"][case]
                assert contact.date_of_birth == person["date_of_birth"]
            setting_kind = {"household": "home", "work": "work", "school": "school"}[
                contact.setting
            ]
            shared = set(mine["place_id"]) & set(
                presences.filter(pl.col("person_id") == contact.person_id)["place_id"]
            )
            kinds = outbreak.places.filter(pl.col("place_id").is_in(list(shared)))
            together: dict[int, int] = {}
            for place in kinds.filter(pl.col("kind") == setting_kind)["place_id"].to_list():
                overlap = _copresent(
                    presences,
                    case,
                    contact.person_id,
                    place,
                    since=since,
                    until=until,
                    epoch=outbreak.epoch,
                )
                for day, seconds in overlap.items():
                    together[day] = together.get(day, 0) + seconds
            last = (contact.last_exposure - SMALL.start_date).days
            assert together.get(last, 0) >= 15 * 60
            assert all(seconds < 15 * 60 for day, seconds in together.items() if day > last)
        assert all(count <= 25 for count in settings_count.values())
    assert named > 0


def test_interview_names_household_members_with_recall_share() -> None:
    outbreak = generate(dataclasses.replace(SMALL, recall_contacts=1.0, recall_visits=1.0))
    people = outbreak.people
    sizes = people.group_by("household_id").len().filter(pl.col("len") >= 3).sort("household_id")
    case = people.filter(pl.col("household_id") == sizes["household_id"][0])["person_id"].to_list()
    story = outbreak.interview(case[0], since=outbreak.epoch, until=outbreak.epoch + 3 * DAY)
    household = {c.person_id for c in story.contacts if c.setting == "household"}
    assert household == set(case[1:])
    assert (
        len(story.visits)
        == outbreak.presences.filter(
            (pl.col("person_id") == case[0]) & (pl.col("start") < outbreak.epoch + 3 * DAY)
        ).height
        - 2
    )  # two midnights merged into the surrounding home visits


def test_symptom_onset_matches_ground_truth(outbreak: Outbreak) -> None:
    for person, onset in outbreak.infections.select("person_id", "onset_date").head(50).iter_rows():
        assert outbreak.symptom_onset(person) == onset
    never = set(range(SMALL.people)) - set(outbreak.infections["person_id"])
    assert outbreak.symptom_onset(min(never)) is None


def test_transmission_chunking_does_not_change_the_draws(outbreak: Outbreak) -> None:
    arrays = outbreak.presence_arrays()
    day = DayPresences(arrays.person_id, arrays.place_id, arrays.start_offset, arrays.end_offset)
    n_people = SMALL.people
    infectious_from = np.full(n_people, np.iinfo(np.int64).max)
    infectious_until = np.full(n_people, np.iinfo(np.int64).max)
    infectious_from[:40], infectious_until[:40] = 0, SMALL.days * DAY
    susceptible = np.ones(n_people, dtype=bool)
    susceptible[:40] = False
    hazard = np.full(outbreak.places.height, 1e-6)
    runs = [
        transmit(
            day,
            infectious_from=infectious_from,
            infectious_until=infectious_until,
            susceptible=susceptible,
            hazard_per_second=hazard,
            rng=np.random.default_rng(5),
            max_pairs=max_pairs,
        )
        for max_pairs in (1, 1_000, 10**9)
    ]
    assert len(runs[0]) > 0
    for run in runs[1:]:
        for name in ("person", "infected_at", "infector", "place"):
            np.testing.assert_array_equal(getattr(run, name), getattr(runs[0], name))


def test_presence_writer_grows_past_a_low_estimate() -> None:
    days = [
        DayPresences(*(np.arange(n, dtype=np.int32) + offset for offset in (0, 10, 20, 30)))
        for n in (3, 5, 7)
    ]
    writer = PresenceWriter(2, epoch=100)
    for day in days:
        writer.append(day)
    arrays = writer.finish()
    assert len(arrays) == 15
    assert arrays.epoch == 100
    np.testing.assert_array_equal(arrays.start_offset, np.concatenate([d.start for d in days]))
    assert arrays.to_frame()["start"].to_list() == (arrays.start_offset + 100).tolist()

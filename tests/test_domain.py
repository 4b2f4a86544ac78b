"""Pure rules: infectious period, follow-up due dates, identity, privacy."""

from __future__ import annotations

import doctest
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import epitrace.domain.followup
import epitrace.domain.links
import epitrace.domain.periods
import epitrace.domain.privacy
from epitrace.domain.followup import contact_tasks, interview_task, link_is_plausible
from epitrace.domain.identity import Identity, duplicate_evidence, is_same_person, name_key, normalise_phone
from epitrace.domain.periods import infectious_period
from epitrace.domain.privacy import suppress_small
from epitrace.domain.profiles import RESPIRATORY, DiseaseProfile
from epitrace.domain.statuses import TaskKind
from epitrace.errors import RuleViolation

D = date.fromisoformat


@pytest.mark.parametrize("module", [epitrace.domain.periods, epitrace.domain.followup, epitrace.domain.privacy, epitrace.domain.links])
def test_docstring_examples_run(module) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


class TestInfectiousPeriod:
    def test_from_two_days_before_onset_to_ten_after(self) -> None:
        p = infectious_period(RESPIRATORY, onset=D("2026-03-10"), specimen=D("2026-03-12"))
        assert (p.first_day, p.last_day) == (D("2026-03-08"), D("2026-03-20"))
        assert p.basis == "respiratory profile: from 2 days before symptom onset 2026-03-10 until 10 days after it"

    def test_specimen_date_when_there_is_no_onset(self) -> None:
        p = infectious_period(RESPIRATORY, onset=None, specimen=D("2026-03-12"))
        assert (p.first_day, p.last_day) == (D("2026-03-10"), D("2026-03-22"))
        assert "specimen date 2026-03-12 (no onset recorded)" in p.basis

    def test_isolation_ends_it_early_and_its_day_counts(self) -> None:
        p = infectious_period(RESPIRATORY, onset=D("2026-03-10"), specimen=None, isolation=D("2026-03-13"))
        assert p.last_day == D("2026-03-13")
        assert p.end.isoformat() == "2026-03-14T00:00:00+00:00"
        assert p.basis.endswith("until isolation on 2026-03-13")

    def test_isolation_after_ten_days_changes_nothing(self) -> None:
        p = infectious_period(RESPIRATORY, onset=D("2026-03-10"), specimen=None, isolation=D("2026-03-25"))
        assert p.last_day == D("2026-03-20")

    def test_isolation_before_the_period_is_an_error(self) -> None:
        with pytest.raises(RuleViolation, match="isolation date 2026-03-01 is before the infectious period starts"):
            infectious_period(RESPIRATORY, onset=D("2026-03-10"), specimen=None, isolation=D("2026-03-01"))

    def test_needs_an_anchor(self) -> None:
        with pytest.raises(RuleViolation, match="needs an onset date or a specimen date"):
            infectious_period(RESPIRATORY, onset=None, specimen=None)

    def test_profile_numbers_are_used(self) -> None:
        measles = DiseaseProfile("measles", infectious_days_before=4, infectious_days_after=4)
        p = infectious_period(measles, onset=D("2026-03-10"), specimen=None)
        assert (p.first_day, p.last_day) == (D("2026-03-06"), D("2026-03-14"))

    @given(onset=st.dates(min_value=D("2020-01-01"), max_value=D("2030-01-01")), iso_after=st.integers(-2, 30))
    def test_period_always_contains_onset_and_is_at_most_13_days(self, onset: date, iso_after: int) -> None:
        p = infectious_period(RESPIRATORY, onset=onset, specimen=None, isolation=onset + timedelta(days=iso_after))
        assert p.first_day <= onset - timedelta(days=2) < p.end.date()
        assert 1 <= (p.last_day - p.first_day).days + 1 <= 13


class TestFollowUp:
    def test_contact_gets_notify_test_and_daily_checks(self) -> None:
        plan = contact_tasks(RESPIRATORY, identified_on=D("2026-03-10"), last_exposure=D("2026-03-08"),
                             exposure="household contact of case 7, last exposed 2026-03-08")
        kinds = [t.kind for t in plan]
        assert kinds[:2] == [TaskKind.NOTIFY, TaskKind.TEST]
        assert plan[1].due_on == D("2026-03-13")
        checks = [t.due_on for t in plan if t.kind is TaskKind.SYMPTOM_CHECK]
        assert checks[0] == D("2026-03-11") and checks[-1] == D("2026-03-22")
        assert checks == [D("2026-03-11") + timedelta(days=i) for i in range(12)]
        assert all("household contact of case 7" in t.reason for t in plan)
        assert plan[1].reason.startswith("Test within 3 days of being identified (by 2026-03-13)")

    def test_configurable_per_profile(self) -> None:
        strict = DiseaseProfile("strict", test_within_days=1, symptom_check_days=5)
        plan = contact_tasks(strict, identified_on=D("2026-03-10"), last_exposure=D("2026-03-10"), exposure="x")
        assert plan[1].due_on == D("2026-03-11")
        assert [t.due_on for t in plan if t.kind is TaskKind.SYMPTOM_CHECK][-1] == D("2026-03-15")

    def test_late_identification_leaves_no_symptom_checks(self) -> None:
        plan = contact_tasks(RESPIRATORY, identified_on=D("2026-03-30"), last_exposure=D("2026-03-10"), exposure="x")
        assert [t.kind for t in plan] == [TaskKind.NOTIFY, TaskKind.TEST]

    def test_exposure_after_identification_is_refused(self) -> None:
        with pytest.raises(RuleViolation, match="last exposure 2026-03-12 is after the contact was identified"):
            contact_tasks(RESPIRATORY, identified_on=D("2026-03-10"), last_exposure=D("2026-03-12"), exposure="x")

    def test_interview_due_next_day(self) -> None:
        task = interview_task(RESPIRATORY, result_on=D("2026-03-10"), evidence="Positive PCR")
        assert (task.kind, task.due_on) == (TaskKind.INTERVIEW, D("2026-03-11"))

    @pytest.mark.parametrize(("days", "plausible"), [(0, False), (1, True), (14, True), (15, False), (-3, False)])
    def test_link_plausibility(self, days: int, plausible: bool) -> None:
        assert link_is_plausible(RESPIRATORY, last_exposure=D("2026-03-10"),
                                 specimen_on=D("2026-03-10") + timedelta(days=days)) is plausible


class TestIdentity:
    def test_national_id_decides(self) -> None:
        a = Identity("Ana", "Silva", D("1990-04-02"), national_id="N1")
        assert is_same_person(a, Identity("Anna", "Sylva", D("1991-01-01"), national_id="N1"))
        assert not is_same_person(a, Identity("Ana", "Silva", D("1990-04-02"), national_id="N2"))

    def test_name_and_birth_date_with_phone_when_both_have_one(self) -> None:
        a = Identity("José", "O'Brien", D("1990-04-02"), phone="+1 555 0001")
        assert is_same_person(a, Identity("jose", "OBRIEN ", D("1990-04-02"), phone="+15550001"))
        assert is_same_person(a, Identity("Jose", "O'Brien", D("1990-04-02")))
        assert not is_same_person(a, Identity("Jose", "O'Brien", D("1990-04-02"), phone="+15550002"))
        assert not is_same_person(a, Identity("Jose", "O'Brien", D("1990-04-03")))

    def test_near_duplicates_carry_evidence(self) -> None:
        a = Identity("Ana", "Silva", D("1990-04-02"))
        assert duplicate_evidence(a, Identity("Silva", "Ana", D("1990-04-02"))) == (
            "given and family names swapped ('Ana Silva' vs 'Silva Ana'), both born 1990-04-02")
        assert duplicate_evidence(a, Identity("Ana", "Slva", D("1990-04-02"))) == (
            "names differ by 1 letter(s) ('Ana Silva' vs 'Ana Slva'), both born 1990-04-02")
        assert duplicate_evidence(a, Identity("Ana", "Silva", D("1990-04-02"))) is None  # same person, not a candidate
        assert duplicate_evidence(a, Identity("Ana", "Slva", D("1990-04-03"))) is None
        assert duplicate_evidence(a, Identity("Maria", "Santos", D("1990-04-02"))) is None

    def test_normalisation(self) -> None:
        assert name_key(" Zoë ", "Ní  Bhriain") == "zoe|ni bhriain"
        assert normalise_phone("+44 (0)20-7946 0000") == "+440207946 0000".replace(" ", "")
        assert normalise_phone("n/a") is None

    names = st.text(alphabet="abcdefghij", min_size=1, max_size=8)

    @given(g1=names, f1=names, g2=names, f2=names)
    def test_rules_are_symmetric(self, g1: str, f1: str, g2: str, f2: str) -> None:
        a, b = Identity(g1, f1, D("2000-01-01")), Identity(g2, f2, D("2000-01-01"))
        assert is_same_person(a, b) == is_same_person(b, a)
        assert (duplicate_evidence(a, b) is None) == (duplicate_evidence(b, a) is None)


def test_small_counts_are_suppressed() -> None:
    assert [suppress_small(n) for n in (0, 1, 4, 5)] == [0, "<5", "<5", 5]
    assert suppress_small(9, threshold=10) == "<10"
    with pytest.raises(ValueError, match="threshold must be >= 1, got 0"):
        suppress_small(3, threshold=0)


@pytest.mark.parametrize(
    ("setting", "single", "timing", "expected"),
    [("household", True, True, "probable"), ("Household ", True, True, "probable"), ("school", True, True, "possible"),
     ("household", False, True, "possible"), ("household", True, False, "possible"), ("work", False, False, "possible")],
)
def test_link_certainty(setting: str, single: bool, timing: bool, expected: str) -> None:
    from epitrace.domain.links import link_certainty

    assert link_certainty(setting=setting, single_source=single, plausible_timing=timing).value == expected


def test_without_a_birth_date_name_and_phone_decide() -> None:
    case = Identity("Ana", "Silva", D("1990-04-02"), phone="+1 555 0001")
    assert is_same_person(Identity("ana", "SILVA", None, phone="+15550001"), case)
    assert not is_same_person(Identity("Ana", "Silva", None, phone="+15550009"), case)
    assert not is_same_person(Identity("Ana", "Silva", None), case)  # a name alone is not enough


@pytest.mark.parametrize(("text", "number"), [("4", 4), ("2147483647", 2**31 - 1), ("04", None), ("0", None),
                                              ("", None), (" 4", None), ("2147483648", None), ("٣", None),
                                              ("-1", None), ("4.0", None)])
def test_a_record_number_has_one_spelling_within_the_id_range(text: str, number: int | None) -> None:
    from epitrace.domain.limits import MAX_ID, record_number

    assert record_number(text) == number
    assert number is None or 1 <= number <= MAX_ID

"""Closed vocabularies used across epitrace: one place for each allowed value."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Case classification."""

    SUSPECTED = "suspected"
    PROBABLE = "probable"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"


class LabResultValue(StrEnum):
    """Result of a laboratory test."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    INCONCLUSIVE = "inconclusive"


class Sex(StrEnum):
    """Sex as reported by the laboratory (empty means not reported)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class VisitSource(StrEnum):
    """Where an itinerary visit came from."""

    INTERVIEW = "interview"
    CHECK_IN = "check-in"
    TRAIL = "trail"


class TaskKind(StrEnum):
    """Kinds of follow-up task."""

    INTERVIEW = "interview"
    NOTIFY = "notify"
    TEST = "test"
    SYMPTOM_CHECK = "symptom_check"


class TaskStatus(StrEnum):
    """Life cycle of a task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class ContactStatus(StrEnum):
    """Life cycle of a contact's follow-up."""

    ACTIVE = "active"
    BECAME_CASE = "became_case"
    COMPLETED = "completed"


class PublicationStatus(StrEnum):
    """Where a proposed exposure-window publication stands."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"


class LinkCertainty(StrEnum):
    """How sure a transmission link is.

    ``confirmed`` is only ever set by a person (a tracer accepting the link); the pipeline
    proposes ``probable`` or ``possible``.
    """

    CONFIRMED = "confirmed"
    PROBABLE = "probable"
    POSSIBLE = "possible"


class PlaceKind(StrEnum):
    """Kinds of place; homes are residential and never published."""

    HOME = "home"
    WORK = "work"
    SCHOOL = "school"
    VENUE = "venue"
    OTHER = "other"


RESIDENTIAL_KINDS = frozenset({PlaceKind.HOME})
CONFIRMING_TEST_TYPES = frozenset({"pcr", "naat", "rt-pcr", "culture"})


def case_status_for_positive(test_type: str) -> CaseStatus:
    """A positive molecular test confirms a case; any other positive test makes it probable."""
    return CaseStatus.CONFIRMED if test_type.strip().lower() in CONFIRMING_TEST_TYPES else CaseStatus.PROBABLE

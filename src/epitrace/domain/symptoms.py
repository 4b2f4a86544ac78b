"""Symptoms as recorded in an interview: the listed ones to tick, anything else as free text."""

from __future__ import annotations

COMMON_SYMPTOMS = ("fever", "cough", "sore throat", "shortness of breath", "loss of smell or taste", "fatigue",
                   "headache")
"""The symptoms the interview form lists as boxes to tick."""


def join_symptoms(ticked: list[str], other: str) -> str:
    """One comma-separated text: the ticked symptoms, then the other ones typed (duplicates once)."""
    items = [*ticked, *(s.strip() for s in other.split(","))]
    seen: dict[str, None] = {}
    for item in items:
        if item.strip():
            seen.setdefault(item.strip(), None)
    return ", ".join(seen)


def split_symptoms(text: str | None) -> tuple[list[str], str]:
    """The stored text as (listed symptoms, the other ones as typed), so re-saving keeps every one.

    >>> split_symptoms("fever, chills, cough, rash")
    (['fever', 'cough'], 'chills, rash')
    """
    items = [s.strip() for s in (text or "").split(",") if s.strip()]
    return [s for s in items if s in COMMON_SYMPTOMS], ", ".join(s for s in items if s not in COMMON_SYMPTOMS)

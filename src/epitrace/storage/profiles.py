"""Disease profiles as stored: list, add and change their rules."""

from __future__ import annotations

from dataclasses import asdict, fields, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from epitrace.domain.profiles import DiseaseProfile
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.storage.models import DiseaseProfileRow

RULE_FIELDS = tuple(f.name for f in fields(DiseaseProfile) if f.name != "name")


def _to_domain(row: DiseaseProfileRow) -> DiseaseProfile:
    return DiseaseProfile(**{f.name: getattr(row, f.name) for f in fields(DiseaseProfile)})


def list_profiles(session: Session) -> list[DiseaseProfile]:
    """Every stored profile, by name."""
    return [_to_domain(r) for r in session.scalars(select(DiseaseProfileRow).order_by(DiseaseProfileRow.name))]


def add_profile(session: Session, name: str, **rules: int) -> DiseaseProfile:
    """Add a profile; rules not given take the respiratory defaults."""
    if not name.strip():
        raise InputError("a profile needs a name, e.g. measles")
    if session.scalar(select(DiseaseProfileRow.id).where(DiseaseProfileRow.name == name)) is not None:
        raise Conflict(f"profile {name!r} already exists; change it with `epitrace profiles set {name} ...`")
    profile = _validated(DiseaseProfile(name=name), rules)
    session.add(DiseaseProfileRow(**asdict(profile)))
    session.flush()
    return profile


def set_profile_rules(session: Session, name: str, **rules: int) -> DiseaseProfile:
    """Change rules of a profile; cases already open keep their tasks, new ones follow the rules."""
    row = session.scalar(select(DiseaseProfileRow).where(DiseaseProfileRow.name == name))
    if row is None:
        raise NotFound(f"no disease profile named {name!r}; list them with `epitrace profiles list`")
    profile = _validated(_to_domain(row), rules)
    for key in RULE_FIELDS:
        setattr(row, key, getattr(profile, key))
    return profile


def _validated(profile: DiseaseProfile, rules: dict[str, int]) -> DiseaseProfile:
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise InputError(f"unknown profile rule(s) {', '.join(sorted(unknown))}: expected {', '.join(RULE_FIELDS)}")
    try:
        return replace(profile, **rules)
    except ValueError as exc:
        raise InputError(f"profile {profile.name!r}: {exc}") from None

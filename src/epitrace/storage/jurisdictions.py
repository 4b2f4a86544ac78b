"""Jurisdictions: a tree of codes (city > district)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.storage.models import Jurisdiction

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def add_jurisdiction(session: Session, code: str, name: str, *, parent_code: str | None = None) -> Jurisdiction:
    """Add a jurisdiction under ``parent_code`` (or at the top)."""
    if not CODE_PATTERN.match(code):
        raise InputError(
            f"jurisdiction code {code!r} is not valid: expected 1-32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not name.strip():
        raise InputError(f"jurisdiction name for {code!r} is empty: give a name such as 'North District'")
    limits.text("jurisdiction name", name, limits.NAME)
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == code)) is not None:
        raise Conflict(f"jurisdiction {code!r} already exists; list them with `epitrace jurisdictions list`")
    parent = get_jurisdiction(session, parent_code) if parent_code else None
    jurisdiction = Jurisdiction(code=code, name=name.strip(), parent_id=parent.id if parent else None)
    session.add(jurisdiction)
    session.flush()
    return jurisdiction


def get_jurisdiction(session: Session, code: str) -> Jurisdiction:
    """The jurisdiction with ``code``, or a NotFound that says how to add it."""
    jurisdiction = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if jurisdiction is None:
        raise NotFound(
            f"unknown jurisdiction code {code!r}; add it with `epitrace jurisdictions add {code} NAME` "
            "or use a code from `epitrace jurisdictions list`"
        )
    return jurisdiction


def list_jurisdictions(session: Session) -> list[tuple[Jurisdiction, int]]:
    """Every jurisdiction in tree order, with its depth (0 at the top)."""
    rows = session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)).all()
    children: dict[int | None, list[Jurisdiction]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[tuple[Jurisdiction, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for child in children.get(parent_id, []):
            ordered.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    return ordered


def subtree_ids(session: Session, code: str) -> list[int]:
    """Ids of ``code`` and every jurisdiction below it (a city sees its districts)."""
    root = get_jurisdiction(session, code)
    pairs = session.execute(select(Jurisdiction.id, Jurisdiction.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for child_id, parent_id in pairs:
        children.setdefault(parent_id, []).append(child_id)
    found, stack = [], [root.id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return sorted(found)


def codes_by_id(session: Session) -> dict[int, str]:
    """Map jurisdiction id to code."""
    return dict(session.execute(select(Jurisdiction.id, Jurisdiction.code)).all())

"""Roles and what each may do. Least privilege: a role gets only what its work needs."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TRACER = "tracer"
    SUPERVISOR = "supervisor"
    EPIDEMIOLOGIST = "epidemiologist"
    ADMINISTRATOR = "administrator"
    PRIVACY_OFFICER = "privacy officer"


class Permission(StrEnum):
    READ_PERSONAL = "read personal data"
    WRITE_INVESTIGATION = "record interviews, visits, contacts and task results"
    IMPORT_LABS = "import lab results"
    MERGE_PERSONS = "merge persons"
    REVIEW_LINKS = "confirm or reject links"
    APPROVE_PUBLICATION = "approve exposure windows for the public feed"
    READ_AGGREGATES = "read aggregate analytics"
    MANAGE_USERS = "manage accounts"
    READ_AUDIT = "read the audit log"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TRACER: frozenset({Permission.READ_PERSONAL, Permission.WRITE_INVESTIGATION, Permission.READ_AGGREGATES}),
    Role.SUPERVISOR: frozenset({
        Permission.READ_PERSONAL, Permission.WRITE_INVESTIGATION, Permission.IMPORT_LABS, Permission.MERGE_PERSONS,
        Permission.REVIEW_LINKS, Permission.READ_AGGREGATES, Permission.APPROVE_PUBLICATION,
    }),
    # Epidemiologists work on aggregates and de-identified chains, not on named people.
    Role.EPIDEMIOLOGIST: frozenset({Permission.READ_AGGREGATES}),
    # Administrators run accounts, not investigations: no personal data.
    Role.ADMINISTRATOR: frozenset({Permission.MANAGE_USERS, Permission.READ_AGGREGATES}),
    Role.PRIVACY_OFFICER: frozenset({Permission.READ_AUDIT, Permission.READ_AGGREGATES}),
}


def can(role: str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    return permission in permissions_of(role)


def permissions_of(role: str) -> frozenset[Permission]:
    """Every permission ``role`` holds (none for an unknown role)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def missing_rights(holder: str, role: str) -> frozenset[Permission]:
    """The permissions of ``role`` that ``holder`` does not hold itself.

    An account may give another account only rights it holds: a role is granted alone when this is
    empty, and otherwise needs an approver whose role leaves it empty (see
    ``storage.accounts.request_user``).
    """
    return permissions_of(role) - permissions_of(holder)


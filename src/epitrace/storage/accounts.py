"""Accounts, browser sessions, API tokens and one-time reset links. Passwords are hashed with argon2id.

Powers match roles (issue 10). An account may give another account only rights its own role holds
(``domain.roles.missing_rights``): an administrator (accounts, aggregates) can create and re-role
administrators and epidemiologists alone, but not a tracer, supervisor or privacy officer. When the
requested role holds rights the requester lacks, :func:`request_user` (and :func:`set_role`) leaves
the account *pending*: it has no password, cannot sign in, and waits for :func:`approve_user` by a
second, different account whose role holds every right of the pending role and whose jurisdiction
covers the account's (in practice a supervisor of that district or above). Approval hands the
approver a one-time link that sets the account's first password, so the requester never holds a
credential for rights it does not have.

Why not a second administrator? A privacy officer accepts an account that reads personal data only
when someone who already answers for that data vouches for it; two administrators hold no such
right between them, so two of them (or one with two accounts) would still be "accounts only" people
producing personal-data access. A role that lacks a right can never produce, alone or with another
such role, a working account that holds it. The operator at the server's command line (``epitrace
users ...``, actor ``cli:…``) may do anything: whoever runs the server already holds the database.

Every change (create, request, approve, role, deactivate, activate, password, reset link, token
create and revoke) appends an audit entry with record type ``account`` or ``api_token``; no password,
hash or token is ever part of an entry.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.domain.passwords import check_password
from epitrace.domain.roles import Permission, Role, can, missing_rights
from epitrace.errors import Conflict, Forbidden, InputError, NotFound
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.jurisdictions import get_jurisdiction, subtree_ids
from epitrace.storage.models import ApiToken, Jurisdiction, PasswordReset, User, UserSession, utcnow

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
"""The hasher of new passwords. Tests swap in cheap parameters (tests/conftest.py; one test keeps these);
a stored hash names its own parameters, so verification never depends on this choice."""
_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash() -> str:
    """A hash made with the current hasher's parameters, verified against when the user does not exist,
    so both answers take the same time."""
    key = (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = HASHER.hash("no such user: constant-time filler")
    return _DUMMY_HASHES[key]
NO_PASSWORD = "!"
"""The stored hash of an account without a password (pending, or its credentials were withdrawn): no
password verifies against it."""
SESSION_HOURS = 12
TOKEN_DAYS = 90
"""Default lifetime of an API token."""
MAX_TOKEN_DAYS = 366
RESET_HOURS = 1
"""Lifetime of a one-time reset or first-password link."""


@dataclass(frozen=True)
class Account:
    """Who is signed in: what they may do and where."""

    user_id: int
    username: str
    role: str
    jurisdiction_code: str
    jurisdiction_name: str
    jurisdiction_ids: frozenset[int]
    csrf_token: str | None = None


@dataclass(frozen=True)
class Link:
    """A one-time link that sets a password: the token is shown once, only its hash is kept."""

    token: str
    username: str
    expires_at: datetime

    @property
    def path(self) -> str:
        return f"/reset/{self.token}"


@dataclass(frozen=True)
class Requested:
    """What :func:`request_user` made: the account, whether it waits for approval, and its link if any."""

    user: User
    jurisdiction: str
    pending: bool
    link: Link | None


def actor_name(account: Account | User) -> str:
    """How an account is named in the audit log and in ``requested_by``/``approved_by``."""
    return f"{audit.USER_ACTOR_PREFIX}{account.username}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(session: Session, actor: Actor, action: str, user: User) -> None:
    audit.record(session, actor, action=action, record_type="account", record_id=user.id, person_id=None)


def _validate(session: Session, username: str, role: str, jurisdiction_code: str) -> Jurisdiction:
    if not username.strip() or len(username) > limits.USERNAME or username != username.strip():
        raise InputError(f"user name {username!r} is not valid: 1-{limits.USERNAME} characters, "
                         "no leading or trailing spaces")
    roles = [r.value for r in Role]
    if role not in roles:
        raise InputError(f"role {role!r} is not known: expected one of {', '.join(roles)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    return get_jurisdiction(session, jurisdiction_code)


def add_user(session: Session, username: str, password: str, *, role: str, jurisdiction_code: str,
             actor: Actor = Actor()) -> User:
    """Create a working account (the operator's path: the CLI, the demo, tests); audited.

    The password is checked by ``domain.passwords`` and stored only as an argon2id hash.
    """
    jurisdiction = _validate(session, username, role, jurisdiction_code)
    check_password(password)
    user = User(username=username, password_hash=HASHER.hash(password), role=role, jurisdiction_id=jurisdiction.id,
                active=True, pending_approval=False, approved_by=actor.name)
    session.add(user)
    session.flush()
    _record(session, actor, "create", user)
    return user


def _require_manager(by: Account) -> None:
    if not can(by.role, Permission.MANAGE_USERS):
        raise Forbidden(f"the {by.role} role cannot {Permission.MANAGE_USERS.value}")


def request_user(session: Session, by: Account, *, username: str, role: str, jurisdiction_code: str,
                 password: str | None, actor: Actor) -> Requested:
    """Create an account on behalf of ``by`` (an administrator through the API).

    When ``by``'s role holds every right of ``role`` the account works at once: with ``password``, or
    else through a first-password link returned here. Otherwise the account is pending (see the module
    docstring): giving a password is refused (403), and :func:`approve_user` by an account holding the rights
    makes it work.
    """
    _require_manager(by)
    jurisdiction = _validate(session, username, role, jurisdiction_code)
    if jurisdiction.id not in by.jurisdiction_ids:
        raise Forbidden(f"jurisdiction {jurisdiction_code!r} is outside yours ({by.jurisdiction_code}): "
                        "you may create accounts in your jurisdiction or below it")
    lacking = missing_rights(by.role, role)
    if lacking and password is not None:
        raise Forbidden(f"the {by.role} role cannot create a working {role} account alone: a {role} holds rights "
                        f"yours lacks ({_rights(lacking)}). Leave out password to create it pending approval by an "
                        f"account in {jurisdiction.code} or above that holds them, who hands its owner a "
                        "first-password link")
    if password is not None:
        check_password(password)
    user = User(username=username, password_hash=NO_PASSWORD if password is None else HASHER.hash(password),
                role=role, jurisdiction_id=jurisdiction.id, active=True, pending_approval=bool(lacking),
                requested_by=actor.name, approved_by=None if lacking else actor.name)
    session.add(user)
    session.flush()
    _record(session, actor, "request" if lacking else "create", user)
    link = None if lacking or password is not None else _new_link(session, user, actor)
    return Requested(user, jurisdiction.code, bool(lacking), link)


def _rights(permissions: frozenset[Permission]) -> str:
    return ", ".join(sorted(p.value for p in permissions))


def _user_in_scope(session: Session, by: Account | None, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or (by is not None and user.jurisdiction_id not in by.jurisdiction_ids):
        raise NotFound(f"no account {username!r} in your jurisdiction; list them with GET /api/users")
    return user


def pending_for(session: Session, by: Account) -> list[tuple[User, str]]:
    """Pending accounts that ``by`` may approve: in its jurisdiction, rights all held, requested by someone else."""
    rows = session.execute(select(User, Jurisdiction.code).join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                           .where(User.pending_approval.is_(True), User.active.is_(True),
                                  User.jurisdiction_id.in_(by.jurisdiction_ids)).order_by(User.username)).tuples()
    return [(u, code) for u, code in rows
            if not missing_rights(by.role, u.role) and u.requested_by != actor_name(by)]


def approve_user(session: Session, by: Account | None, username: str, *, actor: Actor) -> Link:
    """Approve a pending account; returns the one-time link that sets its first password (shown once).

    ``by`` must be a different account than the one that asked, whose jurisdiction covers the account and
    whose role holds every right of the account's role; ``None`` is the operator at the CLI.
    """
    user = _user_in_scope(session, by, username)
    if not user.pending_approval:
        raise Conflict(f"account {username!r} is not waiting for approval")
    if not user.active:
        raise Conflict(f"account {username!r} was deactivated; it cannot be approved")
    if by is not None:
        lacking = missing_rights(by.role, user.role)
        if lacking:
            raise Forbidden(f"approving a {user.role} account needs a role that holds its rights; the {by.role} "
                            f"role lacks: {_rights(lacking)}")
        if user.requested_by == actor_name(by):
            raise Forbidden(f"you asked for account {username!r}: a second, different account must approve it")
    user.pending_approval = False
    user.approved_by = actor.name
    _record(session, actor, "approve", user)
    return _new_link(session, user, actor)


def set_role(session: Session, by: Account | None, username: str, role: str, *, actor: Actor) -> User:
    """Change an account's role; audited.

    A role whose rights ``by`` does not hold leaves the account pending approval, like a new account:
    its password, sessions, tokens and links are withdrawn, so nobody who knew the old password (the
    requester included) gains the new rights; the approver hands out a first-password link.
    """
    if role not in [r.value for r in Role]:
        raise InputError(f"role {role!r} is not known: expected one of {', '.join(r.value for r in Role)}")
    user = _user_in_scope(session, by, username)
    if by is not None:
        _require_manager(by)
    if user.role == role:
        return user
    user.role = role
    if by is not None and missing_rights(by.role, role):
        user.pending_approval, user.requested_by, user.approved_by = True, actor.name, None
        _withdraw_credentials(session, user)
    _record(session, actor, "role", user)
    return user


def _withdraw_credentials(session: Session, user: User) -> None:
    """The password, every session, token and open link of ``user`` stop working at once."""
    user.password_hash = NO_PASSWORD
    _end_access(session, user)


def _end_access(session: Session, user: User) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                    .values(revoked=True))
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=utcnow()))


def deactivate_user(session: Session, by: Account | None, username: str, *, actor: Actor) -> User:
    """Deactivate an account: its sessions, tokens and reset links stop working at once; audited."""
    user = _user_in_scope(session, by, username)
    if by is not None:
        _require_manager(by)
    user.active = False
    _end_access(session, user)
    _record(session, actor, "deactivate", user)
    return user


def activate_user(session: Session, username: str, *, actor: Actor) -> User:
    """Re-activate an account (the operator only: its old password works again, tokens stay revoked)."""
    user = _user_in_scope(session, None, username)
    user.active = True
    _record(session, actor, "activate", user)
    return user


def _new_link(session: Session, user: User, actor: Actor) -> Link:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=RESET_HOURS)
    session.add(PasswordReset(token_hash=_digest(token), user_id=user.id, created_by=actor.name, expires_at=expires))
    _record(session, actor, "reset_link", user)
    return Link(token, user.username, expires)


def create_reset_link(session: Session, by: Account | None, username: str, *, actor: Actor) -> Link:
    """A one-time link (valid :data:`RESET_HOURS` hour) that sets ``username``'s password; audited.

    Only the operator or an account whose role holds every right of the account's role may make one: a
    link is a credential, and an administrator holding a tracer's link could sign in as the tracer.
    """
    user = _user_in_scope(session, by, username)
    if not user.active:
        raise Conflict(f"account {username!r} is deactivated: a reset link would not let anyone in")
    if by is not None:
        _require_manager(by)
        lacking = missing_rights(by.role, user.role)
        if lacking:
            raise Forbidden(f"a reset link for {username!r} ({user.role}) would give rights the {by.role} role "
                            f"lacks ({_rights(lacking)}): ask the server's operator to run "
                            f"`epitrace users reset-link {username}`")
    return _new_link(session, user, actor)


def _open_link(session: Session, token: str) -> tuple[PasswordReset, User]:
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise NotFound("this password link is not valid: it was used already, has expired, or never existed; "
                       "ask for a new one")
    user = session.get_one(User, row.user_id)
    if not user.active:
        raise NotFound("this password link is not valid: the account was deactivated")
    return row, user


def link_account(session: Session, token: str) -> str:
    """The user name a valid link sets the password of (raises NotFound for any other link)."""
    return _open_link(session, token)[1].username


def use_reset_link(session: Session, token: str, password: str) -> User:
    """Set the password through a one-time link; the link and every session of the account end; audited."""
    row, user = _open_link(session, token)
    check_password(password)
    user.password_hash = HASHER.hash(password)
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=utcnow()))
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    _record(session, Actor(name=actor_name(user), purpose="account management"), "password", user)
    return user


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; an unknown account (None) or one without a password is
    checked against a filler hash, so every answer takes the same time."""
    usable_hash = password_hash not in (None, NO_PASSWORD)
    try:
        HASHER.verify(password_hash if usable_hash else _dummy_hash(), password)  # type: ignore[arg-type]
    except (VerificationError, InvalidHashError):
        return False
    return usable_hash


def usable(user: User) -> bool:
    """Whether ``user`` may sign in and act: active, approved."""
    return bool(user.active) and not user.pending_approval


def usable_user(session: Session, user_id: int | None) -> User | None:
    """The account ``user_id`` when it may sign in (active, approved); None otherwise."""
    user = None if user_id is None else session.get(User, user_id)
    return user if user is not None and usable(user) else None


def rehash_if_needed(session: Session, user_id: int, password: str) -> None:
    user = session.get_one(User, user_id)
    if user.password_hash != NO_PASSWORD and HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)


def start_session(session: Session, user: User) -> tuple[str, str]:
    """A new browser session: returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf,
                            expires_at=utcnow() + timedelta(hours=SESSION_HOURS)))
    return token, csrf


def end_session(session: Session, token: str) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))
    if row is not None:
        session.delete(row)


def account_for_session(session: Session, token: str) -> Account | None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))
    if row is None or row.expires_at < utcnow():
        return None
    return _account(session, session.get_one(User, row.user_id), csrf=row.csrf_token)


def create_api_token(session: Session, username: str, *, name: str, days: int = TOKEN_DAYS,
                     actor: Actor = Actor()) -> str:
    """A new API token for ``username`` that expires in ``days`` days; shown once, stored as a hash; audited."""
    return issue_api_token(session, username, name=name, days=days, actor=actor)[0]


def issue_api_token(session: Session, username: str, *, name: str, days: int = TOKEN_DAYS,
                    actor: Actor = Actor()) -> tuple[str, ApiToken]:
    """``create_api_token``, with the stored row (for an answer that shows it)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}; create it with `epitrace users add`")
    if not usable(user):
        raise Conflict(f"account {username!r} is deactivated or waiting for approval: a token would not work")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InputError(f"a token's lifetime must be 1-{MAX_TOKEN_DAYS} days, got {days}")
    limits.text("the token's name", name, 100)
    token = "ept_" + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=_digest(token), user_id=user.id, name=name, expires_at=utcnow() + timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, actor, action="create", record_type="api_token", record_id=row.id, person_id=None)
    return token, row


def list_tokens(session: Session, username: str) -> list[ApiToken]:
    """The tokens of ``username``, newest first (hashes are never shown)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}; list accounts with `epitrace users list`")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, by: Account | None, token_id: int, *, actor: Actor) -> ApiToken:
    """Revoke a token: one's own, any token of an account in an administrator's jurisdiction, or any (CLI)."""
    row = session.get(ApiToken, token_id)
    owner = None if row is None else session.get_one(User, row.user_id)
    allowed = row is not None and (by is None or owner.id == by.user_id or (  # type: ignore[union-attr]
        can(by.role, Permission.MANAGE_USERS) and owner.jurisdiction_id in by.jurisdiction_ids))  # type: ignore[union-attr]
    if not allowed:
        raise NotFound(f"no token {token_id} that you may revoke; list yours with GET /api/tokens")
    assert row is not None
    if not row.revoked:
        row.revoked = True
        audit.record(session, actor, action="revoke", record_type="api_token", record_id=row.id, person_id=None)
    return row


def account_for_token(session: Session, token: str) -> Account | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False)))
    if row is None or row.expires_at < utcnow():
        return None
    return _account(session, session.get_one(User, row.user_id), csrf=None)


def _account(session: Session, user: User, *, csrf: str | None) -> Account | None:
    if not usable(user):
        return None
    jurisdiction = session.get_one(Jurisdiction, user.jurisdiction_id)
    return Account(user.id, user.username, user.role, jurisdiction.code, jurisdiction.name,
                   frozenset(subtree_ids(session, jurisdiction.code)), csrf)


def code_of(session: Session, user: User) -> str:
    """The code of ``user``'s jurisdiction."""
    return session.get_one(Jurisdiction, user.jurisdiction_id).code


def list_users(session: Session, jurisdiction_ids: frozenset[int] | None = None) -> list[tuple[User, str]]:
    """Accounts with their jurisdiction's code; only those in ``jurisdiction_ids`` when given (an
    administrator sees the accounts of their jurisdiction and below it)."""
    query = select(User, Jurisdiction.code).join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
    if jurisdiction_ids is not None:
        query = query.where(User.jurisdiction_id.in_(jurisdiction_ids))
    return list(session.execute(query.order_by(User.username)).tuples())

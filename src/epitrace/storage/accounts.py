"""Accounts, browser sessions and API tokens. Passwords are hashed with argon2id."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from epitrace.domain.roles import Role
from epitrace.errors import Conflict, InputError, NotFound
from epitrace.storage.jurisdictions import get_jurisdiction, subtree_ids
from epitrace.storage.models import ApiToken, Jurisdiction, User, UserSession, utcnow

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so both answers take the same time.
DUMMY_HASH = HASHER.hash("no such user: constant-time filler")
MIN_PASSWORD = 12
SESSION_HOURS = 12


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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, username: str, password: str, *, role: str, jurisdiction_code: str) -> User:
    """Create an account; the password is stored only as an argon2id hash."""
    if not username.strip() or len(username) > 64:
        raise InputError(f"user name {username!r} is not valid: 1-64 characters")
    roles = [r.value for r in Role]
    if role not in roles:
        raise InputError(f"role {role!r} is not known: expected one of {', '.join(roles)}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD} characters (a passphrase is best)")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    jurisdiction = get_jurisdiction(session, jurisdiction_code)
    user = User(username=username, password_hash=HASHER.hash(password), role=role, jurisdiction_id=jurisdiction.id)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user, when the password matches an active account; None otherwise (same work either way)."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        HASHER.verify(user.password_hash if user else DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return user


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


def create_api_token(session: Session, username: str, *, name: str) -> str:
    """A new API token for ``username``; shown once, stored as a hash."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}; create it with `epitrace users add`")
    token = "ept_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, name=name))
    return token


def account_for_token(session: Session, token: str) -> Account | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False)))
    return None if row is None else _account(session, session.get_one(User, row.user_id), csrf=None)


def _account(session: Session, user: User, *, csrf: str | None) -> Account | None:
    if not user.active:
        return None
    jurisdiction = session.get_one(Jurisdiction, user.jurisdiction_id)
    return Account(user.id, user.username, user.role, jurisdiction.code, jurisdiction.name,
                   frozenset(subtree_ids(session, jurisdiction.code)), csrf)


def list_users(session: Session) -> list[tuple[User, str]]:
    return list(session.execute(select(User, Jurisdiction.code).join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                                .order_by(User.username)).tuples())

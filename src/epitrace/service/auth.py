"""Who is calling: a session cookie (browsers, with CSRF) or a Bearer token (machines)."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from epitrace.domain.roles import Permission, can
from epitrace.errors import Forbidden, TooManyRequests, Unauthorized
from epitrace.storage.accounts import Account, account_for_session, account_for_token, authenticate, start_session
from epitrace.storage.audit import Actor
from epitrace.storage.db import write_session
from epitrace.storage.scope import Scope

SESSION_COOKIE = "epitrace_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: everything it wrote (audit entries included) commits together."""
    engine: Engine = request.app.state.engine
    with write_session(engine) as session:
        yield session


class LoginLimiter:
    """At most ``attempts`` failed log-ins per account and per address in ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: int = 900) -> None:
        self.attempts, self.window_s = attempts, window_s
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        now, q = time.monotonic(), self.failures[key]
        while q and q[0] < now - self.window_s:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> int:
        """Seconds to wait, or 0 when a log-in may be tried."""
        waits = [int(self.window_s - (time.monotonic() - q[0])) + 1 for k in keys if len(q := self._recent(k)) >= self.attempts]
        return max(waits, default=0)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self.failures.pop(key, None)


def sign_in(db: Session, request: Request, username: str, password: str) -> tuple[str, Account]:
    """A new session token and its account; rate-limited, one answer for any wrong name or password.

    Shared by the API and the sign-in page.
    """
    limiter: LoginLimiter = request.app.state.login_limiter
    keys = (f"user:{username}", f"ip:{request.client.host if request.client else '?'}")
    wait = limiter.blocked(*keys)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins: try again in {wait // 60 + 1} minute(s)",
                              headers={"Retry-After": str(wait)})
    user = authenticate(db, username, password)
    if user is None:
        limiter.failed(*keys)
        raise Unauthorized("wrong user name or password")
    limiter.succeeded(*keys)
    token, _ = start_session(db, user)
    db.flush()
    account = account_for_session(db, token)
    assert account is not None  # the session was just created
    return token, account


async def optional_account(request: Request, db: Session = Depends(get_db)) -> Account | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return account_for_token(db, header[7:].strip())
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    account = account_for_session(db, token)
    if account is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            sent = (await request.form()).get("csrf_token")  # cached: the route reads the same form
        if not isinstance(sent, str) or not secrets.compare_digest(sent, account.csrf_token or ""):
            raise Forbidden("the CSRF token is missing or wrong: reload the page and submit again")
    return account


def current_account(account: Account | None = Depends(optional_account)) -> Account:
    if account is None:
        raise Unauthorized("sign in first (POST /api/session), or send Authorization: Bearer <token>")
    return account


def require(permission: Permission):  # type: ignore[no-untyped-def]
    """A dependency that lets only roles holding ``permission`` through."""

    def check(account: Account = Depends(current_account)) -> Account:
        if not can(account.role, permission):
            raise Forbidden(f"the {account.role} role cannot {permission.value}")
        return account

    return check


def scope_of(account: Account) -> Scope:
    return Scope(account.jurisdiction_ids)


def actor_of(account: Account, purpose: str = "outbreak investigation") -> Actor:
    return Actor(name=f"user:{account.username}", purpose=purpose)

"""Who is calling: a session cookie (browsers, with CSRF) or a Bearer token (machines)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from epitrace.domain.roles import Permission, can
from epitrace.errors import ConfigurationError, Forbidden, Unauthorized
from epitrace.settings import Settings
from epitrace.storage import signin
from epitrace.storage.accounts import (
    Account,
    account_for_session,
    account_for_token,
    actor_name,
    rehash_if_needed,
    start_session,
    usable_user,
    verify_password,
)
from epitrace.storage.audit import Actor
from epitrace.storage.db import read_session, write_session
from epitrace.storage.scope import Scope

SESSION_COOKIE = "epitrace_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: everything it wrote (audit entries included) commits together. Each
    statement may run ``EPITRACE_DB_STATEMENT_TIMEOUT_MS``; a longer one is stopped and answered 503."""
    engine: Engine = request.app.state.engine
    with write_session(engine, statement_timeout_ms=request.app.state.statement_timeout_ms) as session:
        yield session


def get_read_db(request: Request) -> Iterator[Session]:
    """A session for a request that writes nothing (the public feed): it never takes the write lock, so
    a burst of anonymous reads does not queue the tracers' writes behind it (issue 11). Time-limited as
    :func:`get_db`."""
    engine: Engine = request.app.state.engine
    with read_session(engine, statement_timeout_ms=request.app.state.statement_timeout_ms) as session:
        yield session


READ_ONLY_DB = Depends(get_read_db, scope="function")
REQUEST_DB = Depends(get_db, scope="function")
"""The request's session, committed when the route returns and *before* the answer is sent (FastAPI's
default for a yield dependency ends it after the answer): a client that saw a 200 finds the write
there on its next request, and a commit that fails is that request's error (issue 11). Every use of
``get_db`` goes through this one dependency, so a request has one session."""


def client_address(request: Request) -> str:
    """The address a request came from, as the server reports it.

    ``epitrace serve`` lets uvicorn rewrite it from ``X-Forwarded-For`` only for the proxies in
    ``EPITRACE_TRUSTED_PROXIES`` (:func:`uvicorn_proxy_options`); with none configured a client's own
    ``X-Forwarded-For`` is ignored, even from 127.0.0.1.
    """
    return request.client.host if request.client else "unknown"


def trusted_proxies(settings: Settings | None = None) -> list[str]:
    """The configured proxies (addresses or networks), refusing values that are neither."""
    import ipaddress

    raw = (settings or Settings.from_env()).trusted_proxies
    proxies = [item.strip() for item in raw.split(",") if item.strip()]
    for item in proxies:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(f"EPITRACE_TRUSTED_PROXIES holds {item!r}, which is not an address or network: "
                                     "expected e.g. 10.0.0.5 or 10.0.0.0/24, comma-separated, or unset it") from None
    return proxies


def uvicorn_proxy_options(settings: Settings | None = None) -> dict[str, object]:
    """Keyword arguments for ``uvicorn.run``: forwarded headers only from the configured proxies.

    uvicorn by default trusts ``X-Forwarded-For`` from 127.0.0.1, which would let anyone connecting
    through a local port choose their own address key for the sign-in limiter.
    """
    proxies = trusted_proxies(settings)
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(proxies)} if proxies else {"proxy_headers": False}


def sign_in(db: Session, request: Request, username: str, password: str) -> tuple[str, Account]:
    """A new session token and its account; throttled, one answer for any wrong name or password.

    Shared by the API and the sign-in page. The attempt is counted in its own committed transaction
    before the hash is verified, outside any write lock (``storage.signin`` explains the throttle);
    the session is created in the request's transaction ``db``, which must not have run a statement yet
    (on SQLite its first statement takes the write lock, which the count's own transaction then waits for).
    """
    engine: Engine = request.app.state.engine
    attempt = signin.begin_attempt(engine, username, client_address(request))
    # The hash is verified whatever the account's state, so every wrong answer costs the same time.
    user = usable_user(db, attempt.user_id) if verify_password(attempt.password_hash, password) else None
    if user is None:
        signin.attempt_failed(engine, attempt)
        raise Unauthorized("wrong user name or password")
    signin.attempt_succeeded(db, attempt)
    rehash_if_needed(db, user.id, password)
    token, _ = start_session(db, user)
    db.flush()
    account = account_for_session(db, token)
    assert account is not None  # the session was just created
    return token, account


async def _sent_csrf(request: Request) -> str | None:
    """The CSRF token a cookie-authenticated write sent: its header, or its form's ``csrf_token`` field
    (reading the form is the only step here that must be awaited; the route reads the same, cached form)."""
    if request.method in SAFE_METHODS or not request.cookies.get(SESSION_COOKIE):
        return None
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        field = (await request.form()).get("csrf_token")
        sent = field if isinstance(field, str) else None
    return sent


def optional_account(request: Request, db: Session = REQUEST_DB, sent_csrf: str | None = Depends(_sent_csrf)) -> Account | None:
    """The caller's account, or None. A plain function, so FastAPI runs it in its thread pool: its
    database work never blocks the event loop while it waits for a connection or the write lock (issue 11)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return account_for_token(db, header[7:].strip())
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    account = account_for_session(db, token)
    if account is not None and request.method not in SAFE_METHODS:
        if sent_csrf is None or not secrets.compare_digest(sent_csrf, account.csrf_token or ""):
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
    return Actor(name=actor_name(account), purpose=purpose)
